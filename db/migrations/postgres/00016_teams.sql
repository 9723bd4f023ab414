-- +goose Up
-- Teams (issue 20, part 1). A room has teams when team_size is set (NULL:
-- none), scored by team_scoring (AVERAGE, SUM or BEST). A team belongs to
-- one room; its name is unique in the room whatever its case (name_key is
-- the name in lower case). A participant is in at most one team: they are
-- unique in team_members (a seat is in one room), whose id keeps the order
-- members joined in. A snapshot keeps the team standings it showed (JSON,
-- NULL for a room without teams), so a replayed leaderboard shows what was
-- shown then.
ALTER TABLE bull_pens ADD COLUMN team_size INTEGER;
ALTER TABLE bull_pens ADD COLUMN team_scoring TEXT NOT NULL DEFAULT 'AVERAGE';
ALTER TABLE leaderboard_snapshots ADD COLUMN teams TEXT;
CREATE TABLE teams (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bull_pen_id BIGINT NOT NULL REFERENCES bull_pens (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (bull_pen_id, name_key)
);
CREATE TABLE team_members (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    participant_id BIGINT NOT NULL UNIQUE REFERENCES participants (id),
    team_id        BIGINT NOT NULL REFERENCES teams (id),
    joined_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX team_members_team ON team_members (team_id);

-- +goose Down
DROP TABLE team_members;
DROP TABLE teams;
ALTER TABLE leaderboard_snapshots DROP COLUMN teams;
ALTER TABLE bull_pens DROP COLUMN team_scoring;
ALTER TABLE bull_pens DROP COLUMN team_size;
