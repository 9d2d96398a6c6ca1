-- 0021: a version of the bookings table, raised by every statement that writes to it, so
-- that a re-planner keeping its scheduler index in memory (app/schedule.c) knows in one
-- read whether anything was booked, moved or released since it last looked, by this
-- replica or another, and an idle service knows it has nothing to re-plan.  Writers of
-- bookings hold the scheduling lock (store_schedule_lock), so under that lock the version
-- read after a transaction's own writes is the one those writes made.

CREATE TABLE schedule_version (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    version  bigint NOT NULL
);
COMMENT ON TABLE schedule_version IS
    'One row: raised by every statement writing to bookings (a change booked, moved or released).';
INSERT INTO schedule_version (one, version) VALUES (true, 1);

CREATE FUNCTION schedule_version_raise() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE schedule_version SET version = version + 1;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION schedule_version_raise() IS
    'Raises schedule_version after each statement writing to bookings.';

CREATE TRIGGER bookings_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON bookings
    FOR EACH STATEMENT EXECUTE FUNCTION schedule_version_raise();
COMMENT ON TRIGGER bookings_version ON bookings IS
    'Keeps schedule_version in step with the bookings.';
