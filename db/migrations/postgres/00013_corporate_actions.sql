-- +goose Up
-- Corporate actions (issue 19): splits and dividends an admin announces,
-- applied by the scheduler at ex_date (and a dividend paid at pay_date).
-- applied_at and paid_at are the claims: each is set by a conditional
-- update in the transaction that makes the stage's effects, so a stage
-- happens exactly once across restarts and instances.
CREATE TABLE corporate_actions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('SPLIT', 'DIVIDEND')),
    symbol           TEXT NOT NULL,
    ratio            NUMERIC,
    amount_per_share NUMERIC,
    ex_date          TIMESTAMPTZ NOT NULL,
    pay_date         TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    applied_at       TIMESTAMPTZ,
    paid_at          TIMESTAMPTZ,
    -- Where an action not announced by hand comes from (a replay file's
    -- row): announced once, however often the file is replayed.
    source           TEXT
);
CREATE UNIQUE INDEX corporate_actions_source ON corporate_actions (source) WHERE source IS NOT NULL;
CREATE INDEX corporate_actions_symbol ON corporate_actions (symbol, id);
-- The scheduler's work: stages not yet done.
CREATE INDEX corporate_actions_pending ON corporate_actions (ex_date) WHERE applied_at IS NULL;
CREATE INDEX corporate_actions_unpaid ON corporate_actions (pay_date) WHERE kind = 'DIVIDEND' AND paid_at IS NULL;

-- A dividend's holders of record, stored at ex_date with the record stage
-- and paid from at pay_date: quantity (negative for a short) and the
-- signed amount it is credited (debited).
CREATE TABLE dividend_entitlements (
    action_id      BIGINT NOT NULL REFERENCES corporate_actions (id),
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    bull_pen_id    BIGINT NOT NULL REFERENCES bull_pens (id),
    quantity       BIGINT NOT NULL,
    amount         NUMERIC NOT NULL,
    PRIMARY KEY (action_id, participant_id)
);

-- +goose Down
DROP TABLE dividend_entitlements;
DROP TABLE corporate_actions;
