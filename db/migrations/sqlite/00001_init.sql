-- +goose Up
-- Money and prices are TEXT holding exact decimals: never REAL.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE bull_pens (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    owner_id            INTEGER NOT NULL REFERENCES users (id),
    state               TEXT NOT NULL CHECK (state IN ('SCHEDULED', 'ACTIVE', 'PAUSED', 'ENDED', 'CANCELLED')),
    starts_at           TIMESTAMP NOT NULL,
    ends_at             TIMESTAMP NOT NULL,
    starting_cash       TEXT NOT NULL,
    commission          TEXT NOT NULL,
    allow_short_selling INTEGER NOT NULL,
    allowed_symbols     TEXT,
    max_participants    INTEGER,
    visibility          TEXT NOT NULL CHECK (visibility IN ('PUBLIC', 'PRIVATE')),
    trade_visibility    TEXT NOT NULL CHECK (trade_visibility IN ('PUBLIC', 'PRIVATE')),
    invite_code         TEXT NOT NULL,
    last_sequence       INTEGER NOT NULL DEFAULT 0,
    created_at          TIMESTAMP NOT NULL
);
CREATE INDEX bull_pens_live ON bull_pens (state) WHERE state IN ('SCHEDULED', 'ACTIVE', 'PAUSED');
CREATE INDEX bull_pens_owner ON bull_pens (owner_id);

CREATE TABLE participants (
    id          INTEGER PRIMARY KEY,
    bull_pen_id INTEGER NOT NULL REFERENCES bull_pens (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    cash        TEXT NOT NULL,
    joined_at   TIMESTAMP NOT NULL,
    UNIQUE (bull_pen_id, user_id)
);
CREATE INDEX participants_user ON participants (user_id);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    bull_pen_id     INTEGER NOT NULL REFERENCES bull_pens (id),
    participant_id  INTEGER NOT NULL REFERENCES participants (id),
    client_order_id TEXT,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    type            TEXT NOT NULL CHECK (type IN ('MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT')),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    limit_price     TEXT,
    stop_price      TEXT,
    triggered       INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('OPEN', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED')),
    filled_quantity INTEGER NOT NULL DEFAULT 0,
    filled_price    TEXT,
    commission      TEXT NOT NULL,
    reserved        TEXT NOT NULL,
    reject_reason   TEXT,
    reject_message  TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    filled_at       TIMESTAMP
);
CREATE UNIQUE INDEX orders_client_id ON orders (participant_id, client_order_id) WHERE client_order_id IS NOT NULL;
CREATE INDEX orders_room ON orders (bull_pen_id, id);
CREATE INDEX orders_participant ON orders (participant_id, id);
CREATE INDEX orders_open_symbol ON orders (symbol) WHERE status = 'OPEN';

CREATE TABLE positions (
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    symbol         TEXT NOT NULL,
    quantity       INTEGER NOT NULL,
    cost_basis     TEXT NOT NULL,
    realized_pnl   TEXT NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (participant_id, symbol)
);

CREATE TABLE leaderboard_snapshots (
    id          INTEGER PRIMARY KEY,
    bull_pen_id INTEGER NOT NULL REFERENCES bull_pens (id),
    taken_at    TIMESTAMP NOT NULL,
    final       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX leaderboard_snapshots_room ON leaderboard_snapshots (bull_pen_id, id);

CREATE TABLE leaderboard_entries (
    snapshot_id     INTEGER NOT NULL REFERENCES leaderboard_snapshots (id),
    rank            INTEGER NOT NULL,
    participant_id  INTEGER NOT NULL REFERENCES participants (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    portfolio_value TEXT NOT NULL,
    cash            TEXT NOT NULL,
    total_return    TEXT NOT NULL,
    return_percent  TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, participant_id)
);

CREATE TABLE quotes (
    symbol TEXT PRIMARY KEY,
    price  TEXT NOT NULL,
    open   TEXT NOT NULL,
    at     TIMESTAMP NOT NULL
);

CREATE TABLE events (
    bull_pen_id    INTEGER NOT NULL REFERENCES bull_pens (id),
    sequence       INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    participant_id INTEGER,
    occurred_at    TIMESTAMP NOT NULL,
    payload        TEXT NOT NULL,
    PRIMARY KEY (bull_pen_id, sequence)
);

-- +goose Down
DROP TABLE events;
DROP TABLE quotes;
DROP TABLE leaderboard_entries;
DROP TABLE leaderboard_snapshots;
DROP TABLE positions;
DROP TABLE orders;
DROP TABLE participants;
DROP TABLE bull_pens;
DROP TABLE users;
DROP TABLE settings;
