-- +goose Up
-- Maintenance margin (issue 17): a room rule, NULL meaning no forced
-- liquidation, and the ledger kind of a forced trade.
ALTER TABLE bull_pens ADD COLUMN maintenance_margin_percent TEXT;

-- LIQUIDATION widens the CHECK on ledger_entries.kind, which SQLite
-- cannot alter: the table is rebuilt (nothing references it) and its
-- index made again.
CREATE TABLE ledger_entries_new (
    id                 INTEGER PRIMARY KEY,
    participant_id     INTEGER NOT NULL REFERENCES participants (id),
    order_id           INTEGER REFERENCES orders (id),
    kind               TEXT NOT NULL CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE', 'LIQUIDATION')),
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

-- A price's margin calls: the shorts of its symbol.
CREATE INDEX positions_short_symbol ON positions (symbol) WHERE quantity < 0;

-- +goose Down
DROP INDEX positions_short_symbol;
-- A forced trade goes back to the BUY or SELL it was, by its sign, so the
-- ledger still adds up.
CREATE TABLE ledger_entries_old (
    id                 INTEGER PRIMARY KEY,
    participant_id     INTEGER NOT NULL REFERENCES participants (id),
    order_id           INTEGER REFERENCES orders (id),
    kind               TEXT NOT NULL CHECK (kind IN ('STARTING_CASH', 'BUY', 'SELL', 'COMMISSION', 'RESERVE', 'RELEASE')),
    amount             TEXT NOT NULL,
    cash_after         TEXT NOT NULL,
    buying_power_after TEXT NOT NULL,
    at                 TIMESTAMP NOT NULL
);
INSERT INTO ledger_entries_old (id, participant_id, order_id, kind, amount, cash_after, buying_power_after, at)
SELECT id, participant_id, order_id,
    CASE WHEN kind <> 'LIQUIDATION' THEN kind WHEN amount LIKE '-%' THEN 'BUY' ELSE 'SELL' END,
    amount, cash_after, buying_power_after, at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_old RENAME TO ledger_entries;
CREATE INDEX ledger_entries_participant ON ledger_entries (participant_id, id);
ALTER TABLE bull_pens DROP COLUMN maintenance_margin_percent;
