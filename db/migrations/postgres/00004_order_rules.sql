-- +goose Up
-- Room rules (issue "Competition depth"): NULL means no limit.
ALTER TABLE bull_pens ADD COLUMN max_position_percent NUMERIC;
ALTER TABLE bull_pens ADD COLUMN min_share_price NUMERIC;
ALTER TABLE bull_pens ADD COLUMN max_orders_per_minute INTEGER;
ALTER TABLE bull_pens ADD COLUMN max_open_orders INTEGER;

-- Trailing stops and expiry.
ALTER TABLE orders DROP CONSTRAINT orders_type_check;
ALTER TABLE orders ADD CONSTRAINT orders_type_check
    CHECK (type IN ('MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT', 'TRAILING_STOP'));
ALTER TABLE orders ADD COLUMN trail_amount NUMERIC;
ALTER TABLE orders ADD COLUMN trail_percent NUMERIC;
ALTER TABLE orders ADD COLUMN expires_at TIMESTAMPTZ;
-- The scheduler's next expiry and the orders that came due.
CREATE INDEX orders_open_expiry ON orders (expires_at) WHERE status = 'OPEN' AND expires_at IS NOT NULL;

-- +goose Down
DROP INDEX orders_open_expiry;
ALTER TABLE orders DROP COLUMN expires_at;
ALTER TABLE orders DROP COLUMN trail_percent;
ALTER TABLE orders DROP COLUMN trail_amount;
ALTER TABLE orders DROP CONSTRAINT orders_type_check;
ALTER TABLE orders ADD CONSTRAINT orders_type_check CHECK (type IN ('MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT'));
ALTER TABLE bull_pens DROP COLUMN max_open_orders;
ALTER TABLE bull_pens DROP COLUMN max_orders_per_minute;
ALTER TABLE bull_pens DROP COLUMN min_share_price;
ALTER TABLE bull_pens DROP COLUMN max_position_percent;
