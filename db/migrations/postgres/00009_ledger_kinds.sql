-- +goose Up
-- The ledger kinds of execution realism (DIVIDEND, INTEREST, BORROW_FEE)
-- and of the organiser's hand (ADJUSTMENT).
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE', 'LIQUIDATION',
                    'DIVIDEND', 'INTEREST', 'BORROW_FEE', 'ADJUSTMENT'));

-- +goose Down
-- Entries of the new kinds cannot be expressed in the old ones: going
-- down refuses while any exists.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE', 'LIQUIDATION'));
