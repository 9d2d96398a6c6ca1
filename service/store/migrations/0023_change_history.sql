-- 0023: the risk history as counters.  The risk-history query (store_change_history in
-- store/records.c), run on every normal-change write, used to read every carried-out
-- change of the window on the change's services, template and team (some 3,400 rows and
-- their caused_by links with 100,000 records: ~27 ms a call).  It now sums per-day
-- buckets kept here, and reads records only for the part of the window's first day that
-- the window covers, so that its answers stay exactly those of the old query.
--
-- When a change counts: records.carried_out_at, the updated_at of the write that brought
-- it into a carried-out state (closed, failed, review) from outside them; it stays fixed
-- while the change moves among them (closed -> review -> closed counts once, on its first
-- day) and is cleared when the change leaves them.  The old query used updated_at, which
-- any later write moves (a comment or an audited edit weeks after the change closed put
-- it back into every window): a change is part of the history when it was carried out,
-- not when it was last touched.  Existing rows take their updated_at, so the answers at
-- the moment of migrating are the old query's.
--
-- Maintained by triggers in the transaction of the writes, whatever writes them (API,
-- iMIP, CLI, CalDAV, jobs, SQL): records (a change entering or leaving the carried-out
-- states, its services, template, requester or result edited, deleted) and record_links
-- (an incident's caused_by added or removed).  Counters move with INSERT ... ON CONFLICT
-- DO UPDATE, rows in (kind, key, day) order, so concurrent writers queue on the row
-- instead of losing updates.

ALTER TABLE records ADD COLUMN carried_out_at timestamptz;
COMMENT ON COLUMN records.carried_out_at IS
    'When a change entered the carried-out states (closed, failed, review) from outside them; '
    'NULL outside them.  Set by the trigger records_carried_out, never by the service.';
UPDATE records SET carried_out_at = updated_at
    WHERE kind = 'change' AND state IN ('closed', 'failed', 'review');
ALTER TABLE records ADD CONSTRAINT records_carried_out_check CHECK
    ((carried_out_at IS NOT NULL) = (kind = 'change' AND state IN ('closed', 'failed', 'review')));
CREATE INDEX records_carried_out ON records (carried_out_at) WHERE carried_out_at IS NOT NULL;
COMMENT ON INDEX records_carried_out IS
    'Carried-out changes by time: the risk history''s partial first day.';

CREATE FUNCTION records_carried_out() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'change' AND NEW.state IN ('closed', 'failed', 'review') THEN
        IF TG_OP = 'UPDATE' AND OLD.carried_out_at IS NOT NULL THEN
            NEW.carried_out_at := OLD.carried_out_at;
        ELSE
            NEW.carried_out_at := NEW.updated_at;
        END IF;
    ELSE
        NEW.carried_out_at := NULL;
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION records_carried_out() IS
    'Sets records.carried_out_at: kept while the change stays carried out, else the write''s updated_at or NULL.';
CREATE TRIGGER records_carried_out BEFORE INSERT OR UPDATE ON records
    FOR EACH ROW EXECUTE FUNCTION records_carried_out();
COMMENT ON TRIGGER records_carried_out ON records IS 'Maintains carried_out_at.';

CREATE TABLE change_history (
    kind      text NOT NULL CHECK (kind IN ('services', 'templates', 'requester')),
    key       text NOT NULL,
    day       date NOT NULL,
    n         bigint NOT NULL,
    failed    bigint NOT NULL,
    incidents bigint NOT NULL,
    PRIMARY KEY (kind, key, day)
);
COMMENT ON TABLE change_history IS
    'Changes carried out per service, template and requester and UTC day of carried_out_at: '
    'the risk history (store_change_history), kept by triggers on records and record_links.';
COMMENT ON COLUMN change_history.n IS
    'Changes, a change weighing as many times as its services array names the service.';
COMMENT ON COLUMN change_history.failed IS
    'Of those, failed: result ''failed'' or named caused_by by at least one incident.';
COMMENT ON COLUMN change_history.incidents IS
    'caused_by links naming them (times the weight).';

-- What carried-out change r adds to the buckets (times sign) with `links` caused_by links;
-- nothing for any other record, or NULL.
CREATE FUNCTION change_history_rows(r records, links bigint, sign integer)
RETURNS TABLE (kind text, key text, day date, n bigint, failed bigint, incidents bigint)
LANGUAGE sql STABLE AS $$
    SELECT x.kind, x.key, (r.carried_out_at AT TIME ZONE 'UTC')::date, sign * x.w,
        CASE WHEN coalesce(r.data->>'result' = 'failed', false) OR links > 0
            THEN sign * x.w ELSE 0 END, sign * x.w * links
    FROM (SELECT 'services' AS kind, s AS key, count(*) AS w FROM unnest(r.services) s
          WHERE s IS NOT NULL GROUP BY s
          UNION ALL SELECT 'templates', r.data->>'template', 1
          WHERE r.data->>'template' IS NOT NULL
          UNION ALL SELECT 'requester', r.requester, 1 WHERE r.requester IS NOT NULL) x
    WHERE r.carried_out_at IS NOT NULL
$$;
COMMENT ON FUNCTION change_history_rows(records, bigint, integer) IS
    'The buckets one carried-out change adds to change_history (none for other records).';

CREATE FUNCTION change_history_links(change_id text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM record_links l WHERE l.to_id = change_id AND l.rel = 'caused_by'
$$;
COMMENT ON FUNCTION change_history_links(text) IS
    'How many incidents name change change_id as caused_by.';

-- Takes out what `was` counted for with `was_links` links and adds what `now_` counts
-- for with `now_links`, in one upsert in (kind, key, day) order.
CREATE FUNCTION change_history_move(was records, was_links bigint, now_ records,
                                    now_links bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO change_history AS h (kind, key, day, n, failed, incidents)
    SELECT d.kind, d.key, d.day, sum(d.n), sum(d.failed), sum(d.incidents)
    FROM (SELECT * FROM change_history_rows(was, was_links, -1)
          UNION ALL SELECT * FROM change_history_rows(now_, now_links, 1)) d
    GROUP BY d.kind, d.key, d.day
    HAVING sum(d.n) <> 0 OR sum(d.failed) <> 0 OR sum(d.incidents) <> 0
    ORDER BY d.kind, d.key, d.day
    ON CONFLICT (kind, key, day) DO UPDATE SET n = h.n + EXCLUDED.n,
        failed = h.failed + EXCLUDED.failed, incidents = h.incidents + EXCLUDED.incidents
$$;
COMMENT ON FUNCTION change_history_move(records, bigint, records, bigint) IS
    'Moves a change''s buckets from what it was to what it is now.';

-- Every bucket again from the records (the backfill, and after a TRUNCATE).
CREATE FUNCTION change_history_rebuild() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM change_history;
    INSERT INTO change_history (kind, key, day, n, failed, incidents)
    SELECT x.kind, x.key, x.day, sum(x.n), sum(x.failed), sum(x.incidents)
    FROM records r, change_history_rows(r, change_history_links(r.id), 1) x
    WHERE r.carried_out_at IS NOT NULL
    GROUP BY x.kind, x.key, x.day
$$;
COMMENT ON FUNCTION change_history_rebuild() IS 'Recomputes change_history from records.';
SELECT change_history_rebuild();

-- A change's buckets depend on its row and on the caused_by links naming it, written by
-- different transactions: under READ COMMITTED each trigger below would count the other
-- table as last committed and miss a write in flight (a change closing while an incident
-- names it), and the miscount would stay.  So both take this lock on the change first,
-- held to the end of their transaction: the second waits for the first to commit, and
-- its next statement (a new snapshot) sees what the first wrote.  Two-key advisory locks
-- (class 7201 here) never meet the one-key scheduling lock of store/bookings.c.  The
-- change ids fall into 256 locks, so that a transaction writing many changes (a bulk
-- UPDATE) holds 256 at most: two changes may share one, and wait for each other's
-- commit.  A record being inserted needs none: no other transaction can link to it
-- before it commits (record_links.to_id references records).
CREATE FUNCTION change_history_lock(change_id text) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(7201, hashtext(change_id) & 255)
$$;
COMMENT ON FUNCTION change_history_lock(text) IS
    'Serialises the writers of one change''s history buckets (its row, its caused_by links).';

-- OLD is NULL on INSERT and NEW on DELETE: they count for nothing.
CREATE FUNCTION records_change_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM change_history_lock(OLD.id);
    END IF;
    PERFORM change_history_move(OLD, change_history_links(OLD.id),
                                NEW, change_history_links(NEW.id));
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION records_change_history() IS
    'Moves a written change''s buckets from what it counted for before the write to after.';
CREATE TRIGGER records_change_history_insert AFTER INSERT ON records
    FOR EACH ROW WHEN (NEW.carried_out_at IS NOT NULL)
    EXECUTE FUNCTION records_change_history();
CREATE TRIGGER records_change_history_delete AFTER DELETE ON records
    FOR EACH ROW WHEN (OLD.carried_out_at IS NOT NULL)
    EXECUTE FUNCTION records_change_history();
-- Only writes that change what the buckets hold: moving among the carried-out states
-- keeps carried_out_at, so closed -> review -> closed moves nothing.
CREATE TRIGGER records_change_history_update AFTER UPDATE ON records
    FOR EACH ROW WHEN ((OLD.carried_out_at IS NOT NULL OR NEW.carried_out_at IS NOT NULL)
        AND (OLD.carried_out_at IS DISTINCT FROM NEW.carried_out_at
             OR OLD.services IS DISTINCT FROM NEW.services
             OR OLD.requester IS DISTINCT FROM NEW.requester
             OR OLD.data->>'template' IS DISTINCT FROM NEW.data->>'template'
             OR OLD.data->>'result' IS DISTINCT FROM NEW.data->>'result'))
    EXECUTE FUNCTION records_change_history();
COMMENT ON TRIGGER records_change_history_insert ON records IS 'Keeps change_history.';
COMMENT ON TRIGGER records_change_history_delete ON records IS 'Keeps change_history.';
COMMENT ON TRIGGER records_change_history_update ON records IS 'Keeps change_history.';

-- Statement triggers with the rows the statement wrote: one statement may add several
-- caused_by links to one change (or remove them), and row triggers all see the table as
-- the statement left it, so the count before it is the count after it less what it
-- added, plus what it removed.  Transition tables need one trigger per event; each
-- branch reads only the tables its event has.
CREATE FUNCTION record_links_change_history() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    moved jsonb;
    c record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(jsonb_build_object('id', to_id, 'k', 1)) INTO moved
        FROM new_links WHERE rel = 'caused_by';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(jsonb_build_object('id', to_id, 'k', -1)) INTO moved
        FROM old_links WHERE rel = 'caused_by';
    ELSE
        SELECT jsonb_agg(jsonb_build_object('id', to_id, 'k', k)) INTO moved
        FROM (SELECT to_id, 1 AS k FROM new_links WHERE rel = 'caused_by'
              UNION ALL SELECT to_id, -1 FROM old_links WHERE rel = 'caused_by') m;
    END IF;
    -- the lock on each change named, in id order, before reading its row and links
    PERFORM change_history_lock(j.id)
    FROM (SELECT DISTINCT ON (hashtext(id) & 255) id
          FROM jsonb_to_recordset(coalesce(moved, '[]')) AS x(id text)
          ORDER BY hashtext(id) & 255) j;
    FOR c IN SELECT r, change_history_links(r.id) AS after, m.k
             FROM (SELECT id, sum(k)::bigint AS k FROM jsonb_to_recordset(coalesce(moved, '[]'))
                       AS j(id text, k bigint) GROUP BY id HAVING sum(k) <> 0) m
             JOIN records r ON r.id = m.id
             WHERE r.carried_out_at IS NOT NULL ORDER BY r.id
    LOOP
        PERFORM change_history_move(c.r, c.after - c.k, c.r, c.after);
    END LOOP;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION record_links_change_history() IS
    'Moves the buckets of the carried-out changes whose caused_by links a statement added or removed.';
CREATE TRIGGER record_links_change_history_insert AFTER INSERT ON record_links
    REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION record_links_change_history();
CREATE TRIGGER record_links_change_history_delete AFTER DELETE ON record_links
    REFERENCING OLD TABLE AS old_links
    FOR EACH STATEMENT EXECUTE FUNCTION record_links_change_history();
CREATE TRIGGER record_links_change_history_update AFTER UPDATE ON record_links
    REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION record_links_change_history();
COMMENT ON TRIGGER record_links_change_history_insert ON record_links IS 'Keeps change_history.';
COMMENT ON TRIGGER record_links_change_history_delete ON record_links IS 'Keeps change_history.';
COMMENT ON TRIGGER record_links_change_history_update ON record_links IS 'Keeps change_history.';

-- TRUNCATE has no row triggers: start again from what is left.
CREATE FUNCTION change_history_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM change_history_rebuild();
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION change_history_truncated() IS 'Rebuilds change_history after a TRUNCATE.';
CREATE TRIGGER records_change_history_truncate AFTER TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION change_history_truncated();
CREATE TRIGGER record_links_change_history_truncate AFTER TRUNCATE ON record_links
    FOR EACH STATEMENT EXECUTE FUNCTION change_history_truncated();
COMMENT ON TRIGGER records_change_history_truncate ON records IS 'Keeps change_history.';
COMMENT ON TRIGGER record_links_change_history_truncate ON record_links IS
    'Keeps change_history.';

-- The partial indexes of 0017 served only the query this replaces: writes need not keep
-- them any more.
DROP INDEX records_history_services;
DROP INDEX records_history_template;
DROP INDEX records_history_requester;
