-- +goose Up
-- Leagues (issue 20): standings across rooms. A league belongs to its
-- owner; league_rooms lists the rooms in it, each once (the key makes
-- adding a room twice a no-op). Standings are computed from the rooms'
-- final leaderboard snapshots when read: nothing of them is stored.
CREATE TABLE leagues (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    owner_id   BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE league_rooms (
    league_id   BIGINT NOT NULL REFERENCES leagues (id),
    bull_pen_id BIGINT NOT NULL REFERENCES bull_pens (id),
    added_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (league_id, bull_pen_id)
);

-- +goose Down
DROP TABLE league_rooms;
DROP TABLE leagues;
