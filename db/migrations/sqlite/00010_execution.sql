-- +goose Up
-- Execution realism (issue 19): a two-sided market, execution models, and
-- the fills of each order.

-- Quotes carry the best bid and ask and the volume since the tick before;
-- a quote stored before them had neither: bid = ask = price, and the
-- default volume.
ALTER TABLE quotes ADD COLUMN bid TEXT NOT NULL DEFAULT '0';
ALTER TABLE quotes ADD COLUMN ask TEXT NOT NULL DEFAULT '0';
ALTER TABLE quotes ADD COLUMN volume INTEGER NOT NULL DEFAULT 10000;
UPDATE quotes SET bid = price, ask = price;

-- A room's execution model; rooms made before it are FRICTIONLESS.
ALTER TABLE bull_pens ADD COLUMN execution_preset TEXT NOT NULL DEFAULT 'FRICTIONLESS'
    CHECK (execution_preset IN ('FRICTIONLESS', 'REALISTIC', 'THIN_BOOK'));
ALTER TABLE bull_pens ADD COLUMN spread_bps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bull_pens ADD COLUMN slippage_bps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bull_pens ADD COLUMN price_impact TEXT NOT NULL DEFAULT '0';
ALTER TABLE bull_pens ADD COLUMN volume_limit_percent TEXT;

-- Every execution of an order, with what its price is made of. An order
-- partly filled stays OPEN in orders.status with filled_quantity > 0, and
-- is read back as PARTIALLY_FILLED (db.orderCols): the open-order indexes
-- keep one status. Each order filled before fills existed had one fill at
-- its price, with no costs but its commission.
CREATE TABLE fills (
    id            INTEGER PRIMARY KEY,
    order_id      INTEGER NOT NULL REFERENCES orders (id),
    at            TIMESTAMP NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    price         TEXT NOT NULL,
    mid_price     TEXT NOT NULL,
    spread_cost   TEXT NOT NULL,
    slippage_cost TEXT NOT NULL,
    impact_cost   TEXT NOT NULL,
    commission    TEXT NOT NULL
);
CREATE INDEX fills_order ON fills (order_id, id);
INSERT INTO fills (order_id, at, quantity, price, mid_price, spread_cost, slippage_cost, impact_cost, commission)
SELECT id, filled_at, filled_quantity, filled_price, filled_price, '0', '0', '0', commission
FROM orders WHERE status = 'FILLED' ORDER BY id;

-- +goose Down
DROP TABLE fills;
ALTER TABLE bull_pens DROP COLUMN volume_limit_percent;
ALTER TABLE bull_pens DROP COLUMN price_impact;
ALTER TABLE bull_pens DROP COLUMN slippage_bps;
ALTER TABLE bull_pens DROP COLUMN spread_bps;
ALTER TABLE bull_pens DROP COLUMN execution_preset;
ALTER TABLE quotes DROP COLUMN volume;
ALTER TABLE quotes DROP COLUMN ask;
ALTER TABLE quotes DROP COLUMN bid;
