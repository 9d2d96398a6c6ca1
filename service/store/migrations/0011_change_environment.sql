-- 0011: a change is deployed to an environment (production, staging, ...); lists filter
-- on it.  The column follows the record's data; changes written before carry none, which
-- reads as production.

ALTER TABLE records ADD COLUMN environment text
    GENERATED ALWAYS AS (CASE WHEN kind = 'change'
                              THEN coalesce(data->>'environment', 'production') END) STORED;
CREATE INDEX records_environment ON records (kind, environment, updated_at, id);
COMMENT ON COLUMN records.environment IS 'The environment a change is deployed to (data.environment; production when absent); NULL for incidents and problems.';

-- A change's post-implementation review may name problems in its follow-up actions:
-- the link 'follow_up' (change -> problem).
ALTER TABLE record_links DROP CONSTRAINT record_links_rel_check;
ALTER TABLE record_links ADD CONSTRAINT record_links_rel_check
    CHECK (rel IN ('caused_by', 'incident', 'fixed_by', 'follow_up'));
