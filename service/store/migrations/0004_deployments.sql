-- 0004: deployment requests of CI pipelines (the gate), and when each booked window opened.

CREATE SEQUENCE deployment_number_seq;

CREATE TABLE deployments (
    id            text PRIMARY KEY CHECK (id ~ '^DEP-[0-9]+$'),
    requester     text NOT NULL,
    idem_key      text,
    change_id     text REFERENCES records (id),
    service       text NOT NULL,
    environment   text NOT NULL,
    template      text,
    pipeline      jsonb NOT NULL DEFAULT '{}',
    lease_hash    text CHECK (lease_hash ~ '^[0-9a-f]{64}$'),
    lease_expires timestamptz,
    outcome       text CHECK (outcome IN ('success', 'failure', 'expired')),
    details       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (requester, idem_key)
);
COMMENT ON TABLE deployments IS 'A pipeline asking to deploy: the change made for it, its lease and its outcome.';
COMMENT ON COLUMN deployments.idem_key IS 'Idempotency-Key of the request: the same key returns the same deployment.';
CREATE INDEX deployments_lease ON deployments (lease_expires) WHERE outcome IS NULL;

ALTER TABLE bookings ADD COLUMN opened_at timestamptz;
COMMENT ON COLUMN bookings.opened_at IS 'When change.window_opened was emitted for this booking.';
CREATE INDEX bookings_unopened ON bookings (lower(during)) WHERE opened_at IS NULL;
