-- 0021: a version of the bookings table, raised by every row booked, released or moved,
-- so that a re-planner keeping its scheduler index in memory (app/schedule.c) knows in one
-- read whether anything was booked, moved or released since it last looked, by this
-- replica or another, and an idle service knows it has nothing to re-plan.  Writers of
-- bookings hold the scheduling lock (store_schedule_lock), so under that lock the version
-- read after a transaction's own writes is the one those writes made.  Row triggers, not
-- statement triggers: a statement that changes no row (the deployment worker marking
-- opened windows, a release of a change that held nothing) leaves the version alone, and
-- opened_at, which placements do not read, is not watched.

CREATE TABLE schedule_version (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    version  bigint NOT NULL
);
COMMENT ON TABLE schedule_version IS
    'One row: raised by every booking row written (a change booked, moved or released).';
INSERT INTO schedule_version (one, version) VALUES (true, 1);

CREATE FUNCTION schedule_version_raise() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE schedule_version SET version = version + 1;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION schedule_version_raise() IS
    'Raises schedule_version after a booking row is written.';

CREATE TRIGGER bookings_version AFTER INSERT OR DELETE
    OR UPDATE OF change_id, service, during, window_uid, window_start, window_end
    ON bookings FOR EACH ROW EXECUTE FUNCTION schedule_version_raise();
COMMENT ON TRIGGER bookings_version ON bookings IS
    'Keeps schedule_version in step with the bookings placements read.';
CREATE TRIGGER bookings_version_truncate AFTER TRUNCATE ON bookings
    FOR EACH STATEMENT EXECUTE FUNCTION schedule_version_raise();
COMMENT ON TRIGGER bookings_version_truncate ON bookings IS
    'The same for TRUNCATE, which has no row triggers.';
