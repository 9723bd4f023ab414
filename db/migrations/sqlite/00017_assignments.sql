-- +goose Up
-- Assignments (issue 20): the checks an organiser sets on a room, in the
-- order given (position from 0), written in the room's transaction and
-- never changed. order_type is set for ORDERS_OF_TYPE only. Progress is
-- computed from the order log when read: nothing of it is stored.
CREATE TABLE bull_pen_assignments (
    bull_pen_id INTEGER NOT NULL REFERENCES bull_pens (id),
    position    INTEGER NOT NULL CHECK (position >= 0),
    kind        TEXT NOT NULL CHECK (kind IN ('ORDERS_OF_TYPE', 'DISTINCT_SYMBOLS', 'NOTES_WRITTEN', 'MAX_DRAWDOWN_BELOW')),
    count       INTEGER NOT NULL CHECK (count >= 1),
    order_type  TEXT CHECK ((kind = 'ORDERS_OF_TYPE') = (order_type IS NOT NULL)),
    PRIMARY KEY (bull_pen_id, position)
);

-- +goose Down
DROP TABLE bull_pen_assignments;
