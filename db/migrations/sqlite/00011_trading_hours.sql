-- +goose Up
-- Trading hours and stale prices (issue 19, point 4): room settings. A
-- room without trading_time_zone is always open (the four trading_
-- columns are all set or all NULL); after_hours says what an order
-- placed while the market is closed does; max_quote_age_seconds NULL
-- means no limit on a price's age.
ALTER TABLE bull_pens ADD COLUMN trading_time_zone TEXT;
ALTER TABLE bull_pens ADD COLUMN trading_open TEXT;
ALTER TABLE bull_pens ADD COLUMN trading_close TEXT;
ALTER TABLE bull_pens ADD COLUMN trading_days TEXT;
ALTER TABLE bull_pens ADD COLUMN after_hours TEXT NOT NULL DEFAULT 'QUEUE' CHECK (after_hours IN ('QUEUE', 'REJECT'));
ALTER TABLE bull_pens ADD COLUMN max_quote_age_seconds INTEGER;

-- +goose Down
ALTER TABLE bull_pens DROP COLUMN max_quote_age_seconds;
ALTER TABLE bull_pens DROP COLUMN after_hours;
ALTER TABLE bull_pens DROP COLUMN trading_days;
ALTER TABLE bull_pens DROP COLUMN trading_close;
ALTER TABLE bull_pens DROP COLUMN trading_open;
ALTER TABLE bull_pens DROP COLUMN trading_time_zone;
