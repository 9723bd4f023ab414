-- +goose Up
-- Carrying costs (issue 19): three room settings, annual percent, NULL
-- meaning none, and the record of each accrual a room has made. A row is
-- the claim: it is written in the transaction that books the accrual's
-- ledger lines and cash, and its key lets no rerun or other instance
-- book that 00:00 UTC again.
ALTER TABLE bull_pens ADD COLUMN cash_interest_percent NUMERIC;
ALTER TABLE bull_pens ADD COLUMN margin_interest_percent NUMERIC;
ALTER TABLE bull_pens ADD COLUMN borrow_fee_percent NUMERIC;
CREATE TABLE accruals (
    bull_pen_id BIGINT NOT NULL REFERENCES bull_pens (id),
    -- The 00:00 UTC that ends the day accrued.
    due_at      TIMESTAMPTZ NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bull_pen_id, due_at)
);

-- +goose Down
-- The accruals' ledger lines stay (INTEREST and BORROW_FEE belong to
-- migration 00009); only the record of which days were booked goes.
DROP TABLE accruals;
ALTER TABLE bull_pens DROP COLUMN borrow_fee_percent;
ALTER TABLE bull_pens DROP COLUMN margin_interest_percent;
ALTER TABLE bull_pens DROP COLUMN cash_interest_percent;
