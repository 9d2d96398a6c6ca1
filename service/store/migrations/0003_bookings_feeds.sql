-- 0003: bookings of scheduled changes, and secret feed tokens for calendar subscriptions.

-- btree_gist lets one exclusion constraint combine equality on a service name with
-- overlap of time ranges.  It is a trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE bookings (
    change_id    text NOT NULL REFERENCES records (id),
    service      text NOT NULL,
    during       tstzrange NOT NULL
                 CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)
                        AND NOT lower_inf(during) AND NOT upper_inf(during)),
    window_uid   text,
    window_start timestamptz,
    window_end   timestamptz,
    booked_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (change_id, service),
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (service WITH =, during WITH &&)
);
COMMENT ON TABLE bookings IS 'Where scheduled changes run: one row per change and service.';
COMMENT ON CONSTRAINT bookings_no_overlap ON bookings IS
    'Two changes never run on one service at once, whichever replica booked them.';
CREATE INDEX bookings_during ON bookings USING gist (during);

CREATE TABLE feed_tokens (
    id          bigserial PRIMARY KEY,
    user_name   text NOT NULL REFERENCES users (name),
    token_hash  text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
COMMENT ON TABLE feed_tokens IS 'Secrets in calendar subscription URLs (/feeds/{token}/...); only their SHA-256 is kept.';
