-- +goose Up
-- Room rules (issue "Competition depth"): NULL means no limit.
ALTER TABLE bull_pens ADD COLUMN max_position_percent TEXT;
ALTER TABLE bull_pens ADD COLUMN min_share_price TEXT;
ALTER TABLE bull_pens ADD COLUMN max_orders_per_minute INTEGER;
ALTER TABLE bull_pens ADD COLUMN max_open_orders INTEGER;

-- TRAILING_STOP widens the CHECK on orders.type, which SQLite cannot
-- alter: the table is rebuilt (nothing references orders yet), with the
-- trail and expiry columns, and its indexes made again.
CREATE TABLE orders_new (
    id              INTEGER PRIMARY KEY,
    bull_pen_id     INTEGER NOT NULL REFERENCES bull_pens (id),
    participant_id  INTEGER NOT NULL REFERENCES participants (id),
    client_order_id TEXT,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    type            TEXT NOT NULL CHECK (type IN ('MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT', 'TRAILING_STOP')),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    limit_price     TEXT,
    stop_price      TEXT,
    triggered       INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('OPEN', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED')),
    filled_quantity INTEGER NOT NULL DEFAULT 0,
    filled_price    TEXT,
    commission      TEXT NOT NULL,
    reserved        TEXT NOT NULL,
    reject_reason   TEXT,
    reject_message  TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    filled_at       TIMESTAMP,
    trail_amount    TEXT,
    trail_percent   TEXT,
    expires_at      TIMESTAMP
);
INSERT INTO orders_new (id, bull_pen_id, participant_id, client_order_id, symbol, side, type, quantity, limit_price,
    stop_price, triggered, status, filled_quantity, filled_price, commission, reserved, reject_reason, reject_message,
    created_at, updated_at, filled_at)
SELECT id, bull_pen_id, participant_id, client_order_id, symbol, side, type, quantity, limit_price,
    stop_price, triggered, status, filled_quantity, filled_price, commission, reserved, reject_reason, reject_message,
    created_at, updated_at, filled_at FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE UNIQUE INDEX orders_client_id ON orders (participant_id, client_order_id) WHERE client_order_id IS NOT NULL;
CREATE INDEX orders_room ON orders (bull_pen_id, id);
CREATE INDEX orders_participant ON orders (participant_id, id);
CREATE INDEX orders_open_symbol ON orders (symbol) WHERE status = 'OPEN';
CREATE INDEX orders_open_participant ON orders (participant_id) WHERE status = 'OPEN';
CREATE INDEX orders_open_room ON orders (bull_pen_id) WHERE status = 'OPEN';
-- The scheduler's next expiry and the orders that came due.
CREATE INDEX orders_open_expiry ON orders (expires_at) WHERE status = 'OPEN' AND expires_at IS NOT NULL;

-- +goose Down
DROP INDEX orders_open_expiry;
ALTER TABLE orders DROP COLUMN expires_at;
ALTER TABLE orders DROP COLUMN trail_percent;
ALTER TABLE orders DROP COLUMN trail_amount;
ALTER TABLE bull_pens DROP COLUMN max_open_orders;
ALTER TABLE bull_pens DROP COLUMN max_orders_per_minute;
ALTER TABLE bull_pens DROP COLUMN min_share_price;
ALTER TABLE bull_pens DROP COLUMN max_position_percent;
