-- +goose Up
-- The ledger kinds of execution realism (DIVIDEND, INTEREST, BORROW_FEE)
-- and of the organiser's hand (ADJUSTMENT). SQLite cannot alter the CHECK
-- on ledger_entries.kind: the table is rebuilt and its index made again.
CREATE TABLE ledger_entries_new (
    id                 INTEGER PRIMARY KEY,
    participant_id     INTEGER NOT NULL REFERENCES participants (id),
    order_id           INTEGER REFERENCES orders (id),
    kind               TEXT NOT NULL CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE', 'LIQUIDATION',
                                                     'DIVIDEND', 'INTEREST', 'BORROW_FEE', 'ADJUSTMENT')),
    amount             TEXT NOT NULL,
    cash_after         TEXT NOT NULL,
    buying_power_after TEXT NOT NULL,
    at                 TIMESTAMP NOT NULL
);
INSERT INTO ledger_entries_new (id, participant_id, order_id, kind, amount, cash_after, buying_power_after, at)
SELECT id, participant_id, order_id, kind, amount, cash_after, buying_power_after, at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_new RENAME TO ledger_entries;
CREATE INDEX ledger_entries_participant ON ledger_entries (participant_id, id);

-- +goose Down
-- Entries of the new kinds cannot be expressed in the old ones: going
-- down refuses while any exists.
CREATE TABLE ledger_entries_old (
    id                 INTEGER PRIMARY KEY,
    participant_id     INTEGER NOT NULL REFERENCES participants (id),
    order_id           INTEGER REFERENCES orders (id),
    kind               TEXT NOT NULL CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE', 'LIQUIDATION')),
    amount             TEXT NOT NULL,
    cash_after         TEXT NOT NULL,
    buying_power_after TEXT NOT NULL,
    at                 TIMESTAMP NOT NULL
);
INSERT INTO ledger_entries_old (id, participant_id, order_id, kind, amount, cash_after, buying_power_after, at)
SELECT id, participant_id, order_id, kind, amount, cash_after, buying_power_after, at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_old RENAME TO ledger_entries;
CREATE INDEX ledger_entries_participant ON ledger_entries (participant_id, id);
