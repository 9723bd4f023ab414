-- +goose Up
-- A big room's snapshot is stored in parts (issue 8): its row first, not
-- yet complete, then its entries a thousand at a time in short writes of
-- their own, then, with its event, the mark that it is complete. Readers
-- see complete snapshots only; existing ones are.
ALTER TABLE leaderboard_snapshots ADD COLUMN complete BOOLEAN NOT NULL DEFAULT TRUE;

-- +goose Down
DELETE FROM leaderboard_entries WHERE snapshot_id IN (SELECT id FROM leaderboard_snapshots WHERE NOT complete);
DELETE FROM leaderboard_snapshots WHERE NOT complete;
ALTER TABLE leaderboard_snapshots DROP COLUMN complete;
