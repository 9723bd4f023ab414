-- +goose Up
-- The trade journal and the organiser's hand (issue 20, parts 2 and 3).
-- An order's note (at most 500 characters, NULL: none) and the room rule
-- that requires one; a participant's seat ended by the owner (when, and
-- why: both NULL while they play); the reason the owner gave for a ledger
-- line they booked by hand (ADJUSTMENT; NULL on every other kind).
ALTER TABLE orders ADD COLUMN note TEXT;
ALTER TABLE bull_pens ADD COLUMN require_note BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE participants ADD COLUMN removed_at TIMESTAMPTZ;
ALTER TABLE participants ADD COLUMN removed_reason TEXT;
ALTER TABLE ledger_entries ADD COLUMN reason TEXT;

-- +goose Down
ALTER TABLE ledger_entries DROP COLUMN reason;
ALTER TABLE participants DROP COLUMN removed_reason;
ALTER TABLE participants DROP COLUMN removed_at;
ALTER TABLE bull_pens DROP COLUMN require_note;
ALTER TABLE orders DROP COLUMN note;
