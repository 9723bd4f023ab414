-- +goose Up
-- A session is one sign-in: the tokens issued for it are valid while its
-- row exists (signOut deletes it, signOutEverywhere every row of the user).
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
-- The admin role granted with `bullpen admin grant` (the -admins flag
-- adds accounts that exist at start-up, in memory only).
ALTER TABLE users ADD COLUMN admin BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE users DROP COLUMN admin;
DROP TABLE sessions;
