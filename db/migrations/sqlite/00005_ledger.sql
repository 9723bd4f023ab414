-- +goose Up
-- The cash ledger: every movement of a participant's money, written in
-- the transaction that made it (see game.LedgerEntry). Read by
-- participant in id order (keyset pages).
CREATE TABLE ledger_entries (
    id                 INTEGER PRIMARY KEY,
    participant_id     INTEGER NOT NULL REFERENCES participants (id),
    order_id           INTEGER REFERENCES orders (id),
    kind               TEXT NOT NULL CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE')),
    amount             TEXT NOT NULL,
    cash_after         TEXT NOT NULL,
    buying_power_after TEXT NOT NULL,
    at                 TIMESTAMP NOT NULL
);
CREATE INDEX ledger_entries_participant ON ledger_entries (participant_id, id);

-- +goose Down
DROP TABLE ledger_entries;
