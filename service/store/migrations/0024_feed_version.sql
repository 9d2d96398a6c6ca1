-- 0024: a version of what the schedule feeds show of the booked changes, so that the
-- CalDAV and ICS feed cache (app/feed_cache.c) knows in one read whether a snapshot it
-- made still holds after writes that moved the audit head: most (comments, incidents,
-- changes not booked) leave the schedule as it was.  A booked change's feed event shows
-- its state, type, title, schedule sequence and last write; a write to one of those on
-- a change that holds a booking raises the version, in the writer's transaction.  The
-- bookings themselves are watched by schedule_version (0021).  Together the two are
-- exactly what store_bookings_list reads (store/bookings.c).

CREATE TABLE feed_version (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    version  bigint NOT NULL
);
COMMENT ON TABLE feed_version IS
    'One row: raised by every write that changes what a feed shows of a booked change.';
INSERT INTO feed_version (one, version) VALUES (true, 1);

CREATE FUNCTION feed_version_raise() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM bookings WHERE change_id IN (OLD.id, NEW.id)) THEN
        UPDATE feed_version SET version = version + 1;
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION feed_version_raise() IS
    'Raises feed_version after a write to a booked change that its feed events show.';

-- A booked change has its placement in data->'schedule' (app/schedule.c writes both in
-- one transaction): records without one (incidents, problems, changes never placed) skip
-- the function call.
CREATE TRIGGER records_feed_version AFTER UPDATE ON records FOR EACH ROW
    WHEN ((OLD.data ? 'schedule' OR NEW.data ? 'schedule')
      AND (OLD.id IS DISTINCT FROM NEW.id
          OR OLD.state IS DISTINCT FROM NEW.state
          OR OLD.type IS DISTINCT FROM NEW.type
          OR OLD.updated_at IS DISTINCT FROM NEW.updated_at
          OR OLD.data->>'title' IS DISTINCT FROM NEW.data->>'title'
          OR OLD.data->'schedule'->'sequence' IS DISTINCT FROM NEW.data->'schedule'->'sequence'))
    EXECUTE FUNCTION feed_version_raise();
COMMENT ON TRIGGER records_feed_version ON records IS
    'Keeps feed_version in step with what store_bookings_list reads of the records.';
