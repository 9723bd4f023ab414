-- +goose Up
-- The cash ledger: every movement of a participant's money, written in
-- the transaction that made it (see game.LedgerEntry). Read by
-- participant in id order (keyset pages).
CREATE TABLE ledger_entries (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    participant_id     BIGINT NOT NULL REFERENCES participants (id),
    order_id           BIGINT REFERENCES orders (id),
    kind               TEXT NOT NULL CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE')),
    amount             NUMERIC NOT NULL,
    cash_after         NUMERIC NOT NULL,
    buying_power_after NUMERIC NOT NULL,
    at                 TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_entries_participant ON ledger_entries (participant_id, id);

-- +goose Down
DROP TABLE ledger_entries;
