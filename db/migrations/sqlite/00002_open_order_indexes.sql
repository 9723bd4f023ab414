-- +goose Up
-- Buying power reads a participant's open orders on every order; the
-- general per-participant index makes that scan every order ever placed.
CREATE INDEX orders_open_participant ON orders (participant_id) WHERE status = 'OPEN';
CREATE INDEX orders_open_room ON orders (bull_pen_id) WHERE status = 'OPEN';

-- +goose Down
DROP INDEX orders_open_room;
DROP INDEX orders_open_participant;
