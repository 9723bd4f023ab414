-- +goose Up
-- Maintenance margin (issue 17): a room rule, NULL meaning no forced
-- liquidation, and the ledger kind of a forced trade.
ALTER TABLE bull_pens ADD COLUMN maintenance_margin_percent NUMERIC;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE', 'LIQUIDATION'));
-- A price's margin calls: the shorts of its symbol.
CREATE INDEX positions_short_symbol ON positions (symbol) WHERE quantity < 0;

-- +goose Down
DROP INDEX positions_short_symbol;
-- A forced trade goes back to the BUY or SELL it was, by its sign, so the
-- ledger still adds up.
UPDATE ledger_entries SET kind = CASE WHEN amount < 0 THEN 'BUY' ELSE 'SELL' END WHERE kind = 'LIQUIDATION';
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE'));
ALTER TABLE bull_pens DROP COLUMN maintenance_margin_percent;
