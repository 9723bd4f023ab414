-- +goose Up
-- Risk-adjusted rankings (issue 10): what a room ranks by, each
-- participant's running aggregates of their valuation history (so a
-- snapshot never re-reads it), and the metrics shown in each leaderboard
-- entry. Decimals are NUMERIC: exact, never float.
ALTER TABLE bull_pens ADD COLUMN rank_by TEXT NOT NULL DEFAULT 'RETURN' CHECK (rank_by IN ('RETURN', 'SHARPE'));

CREATE TABLE participant_tracks (
    participant_id       BIGINT PRIMARY KEY REFERENCES participants (id),
    observed             BIGINT NOT NULL DEFAULT 0,
    returns              BIGINT NOT NULL DEFAULT 0,
    sum_returns          NUMERIC NOT NULL DEFAULT 0,
    sum_squares          NUMERIC NOT NULL DEFAULT 0,
    peak                 NUMERIC NOT NULL DEFAULT 0,
    last_value           NUMERIC NOT NULL DEFAULT 0,
    max_drawdown_percent NUMERIC NOT NULL DEFAULT 0,
    fills                BIGINT NOT NULL DEFAULT 0,
    closing_fills        BIGINT NOT NULL DEFAULT 0,
    wins                 BIGINT NOT NULL DEFAULT 0
);
-- Fills made before this migration count as trades (their wins are not
-- known: the win rate counts closing fills from here on).
INSERT INTO participant_tracks (participant_id, fills)
    SELECT participant_id, count(*) FROM orders WHERE status = 'FILLED' GROUP BY participant_id;

ALTER TABLE leaderboard_entries ADD COLUMN max_drawdown_percent NUMERIC NOT NULL DEFAULT 0;
ALTER TABLE leaderboard_entries ADD COLUMN volatility_percent NUMERIC;
ALTER TABLE leaderboard_entries ADD COLUMN sharpe_ratio NUMERIC;
ALTER TABLE leaderboard_entries ADD COLUMN trade_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE leaderboard_entries ADD COLUMN win_rate NUMERIC;
-- equityHistory reads one participant's entries.
CREATE INDEX leaderboard_entries_participant ON leaderboard_entries (participant_id, snapshot_id);

-- +goose Down
DROP INDEX leaderboard_entries_participant;
ALTER TABLE leaderboard_entries DROP COLUMN win_rate;
ALTER TABLE leaderboard_entries DROP COLUMN trade_count;
ALTER TABLE leaderboard_entries DROP COLUMN sharpe_ratio;
ALTER TABLE leaderboard_entries DROP COLUMN volatility_percent;
ALTER TABLE leaderboard_entries DROP COLUMN max_drawdown_percent;
DROP TABLE participant_tracks;
ALTER TABLE bull_pens DROP COLUMN rank_by;
