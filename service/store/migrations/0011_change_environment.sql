-- 0011: a change is deployed to an environment (production, staging, ...); lists filter
-- on it.  The column follows the record's data; changes written before carry none, which
-- reads as production.

ALTER TABLE records ADD COLUMN environment text
    GENERATED ALWAYS AS (CASE WHEN kind = 'change'
                              THEN coalesce(data->>'environment', 'production') END) STORED;
CREATE INDEX records_environment ON records (kind, environment, updated_at, id);
COMMENT ON COLUMN records.environment IS 'The environment a change is deployed to (data.environment; production when absent); NULL for incidents and problems.';
