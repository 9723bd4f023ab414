-- +goose Up
-- Money and prices are NUMERIC: exact, never float.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE bull_pens (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    owner_id            BIGINT NOT NULL REFERENCES users (id),
    state               TEXT NOT NULL CHECK (state IN ('SCHEDULED', 'ACTIVE', 'PAUSED', 'ENDED', 'CANCELLED')),
    starts_at           TIMESTAMPTZ NOT NULL,
    ends_at             TIMESTAMPTZ NOT NULL,
    starting_cash       NUMERIC NOT NULL,
    commission          NUMERIC NOT NULL,
    allow_short_selling BOOLEAN NOT NULL,
    allowed_symbols     TEXT,
    max_participants    INTEGER,
    visibility          TEXT NOT NULL CHECK (visibility IN ('PUBLIC', 'PRIVATE')),
    trade_visibility    TEXT NOT NULL CHECK (trade_visibility IN ('PUBLIC', 'PRIVATE')),
    invite_code         TEXT NOT NULL,
    last_sequence       BIGINT NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX bull_pens_live ON bull_pens (state) WHERE state IN ('SCHEDULED', 'ACTIVE', 'PAUSED');
CREATE INDEX bull_pens_owner ON bull_pens (owner_id);

CREATE TABLE participants (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bull_pen_id BIGINT NOT NULL REFERENCES bull_pens (id),
    user_id     BIGINT NOT NULL REFERENCES users (id),
    cash        NUMERIC NOT NULL,
    joined_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (bull_pen_id, user_id)
);
CREATE INDEX participants_user ON participants (user_id);

CREATE TABLE orders (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bull_pen_id     BIGINT NOT NULL REFERENCES bull_pens (id),
    participant_id  BIGINT NOT NULL REFERENCES participants (id),
    client_order_id TEXT,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    type            TEXT NOT NULL CHECK (type IN ('MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT')),
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    limit_price     NUMERIC,
    stop_price      NUMERIC,
    triggered       BOOLEAN NOT NULL DEFAULT false,
    status          TEXT NOT NULL CHECK (status IN ('OPEN', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED')),
    filled_quantity BIGINT NOT NULL DEFAULT 0,
    filled_price    NUMERIC,
    commission      NUMERIC NOT NULL,
    reserved        NUMERIC NOT NULL,
    reject_reason   TEXT,
    reject_message  TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    filled_at       TIMESTAMPTZ
);
CREATE UNIQUE INDEX orders_client_id ON orders (participant_id, client_order_id) WHERE client_order_id IS NOT NULL;
CREATE INDEX orders_room ON orders (bull_pen_id, id);
CREATE INDEX orders_participant ON orders (participant_id, id);
CREATE INDEX orders_open_symbol ON orders (symbol) WHERE status = 'OPEN';

CREATE TABLE positions (
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    symbol         TEXT NOT NULL,
    quantity       BIGINT NOT NULL,
    cost_basis     NUMERIC NOT NULL,
    realized_pnl   NUMERIC NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (participant_id, symbol)
);

CREATE TABLE leaderboard_snapshots (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bull_pen_id BIGINT NOT NULL REFERENCES bull_pens (id),
    taken_at    TIMESTAMPTZ NOT NULL,
    final       BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX leaderboard_snapshots_room ON leaderboard_snapshots (bull_pen_id, id);

CREATE TABLE leaderboard_entries (
    snapshot_id     BIGINT NOT NULL REFERENCES leaderboard_snapshots (id),
    rank            INTEGER NOT NULL,
    participant_id  BIGINT NOT NULL REFERENCES participants (id),
    user_id         BIGINT NOT NULL REFERENCES users (id),
    portfolio_value NUMERIC NOT NULL,
    cash            NUMERIC NOT NULL,
    total_return    NUMERIC NOT NULL,
    return_percent  NUMERIC NOT NULL,
    PRIMARY KEY (snapshot_id, participant_id)
);

CREATE TABLE quotes (
    symbol TEXT PRIMARY KEY,
    price  NUMERIC NOT NULL,
    open   NUMERIC NOT NULL,
    at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE events (
    bull_pen_id    BIGINT NOT NULL REFERENCES bull_pens (id),
    sequence       BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    participant_id BIGINT,
    occurred_at    TIMESTAMPTZ NOT NULL,
    payload        JSONB NOT NULL,
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
