-- +goose Up
-- The integrity report (issue 20, part 5). It is computed from the log
-- when the owner reads it; these are the facts it needs that nothing
-- stored before:
--   - fills.quote_at: the time of the quote a fill was priced against,
--     written with the fill (NULL: a forced fill, a liquidation, priced at
--     the position's last price; and every fill stored before this);
--   - sessions.address_hash: the client address a session was started
--     from, as an HMAC-SHA256 keyed with a key derived from the server's
--     token secret (never the address itself; NULL: none known);
--   - user_addresses: one row per account and address hash, kept when
--     sessions end: when the account signed up from it (NULL: it did not),
--     the first and last time it was seen there and how many sessions
--     started there.
ALTER TABLE fills ADD COLUMN quote_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN address_hash TEXT;
CREATE TABLE user_addresses (
    user_id      INTEGER NOT NULL REFERENCES users (id),
    address_hash TEXT NOT NULL,
    signed_up_at TIMESTAMP,
    first_at     TIMESTAMP NOT NULL,
    last_at      TIMESTAMP NOT NULL,
    sessions     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, address_hash)
);
CREATE INDEX user_addresses_hash ON user_addresses (address_hash);

-- +goose Down
DROP TABLE user_addresses;
ALTER TABLE sessions DROP COLUMN address_hash;
ALTER TABLE fills DROP COLUMN quote_at;
