-- 0005: webhook subscriptions, their deliveries (fanned out from the outbox) and every
-- attempt to send one.

CREATE TABLE webhooks (
    id          bigserial PRIMARY KEY,
    owner       text NOT NULL REFERENCES users (name),
    url         text NOT NULL CHECK (url ~ '^https?://[^/?#[:space:]]+' AND length(url) <= 2048),
    events      text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 64),
    secret      text NOT NULL CHECK (length(secret) BETWEEN 16 AND 256),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    CHECK (active = (deleted_at IS NULL))
);
COMMENT ON TABLE webhooks IS 'Subscriptions to outbox topics; a DELETE deactivates (the history stays).';
COMMENT ON COLUMN webhooks.events IS 'Patterns: an exact topic, a prefix ending in * (change.*), or *.';
COMMENT ON COLUMN webhooks.secret IS 'Shared HMAC-SHA256 signing secret, kept as given: it must be usable to sign.';
CREATE INDEX webhooks_owner ON webhooks (owner, id);

CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    webhook_id       bigint NOT NULL REFERENCES webhooks (id),
    outbox_id        bigint NOT NULL REFERENCES outbox (id),
    topic            text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    replays          integer NOT NULL DEFAULT 0 CHECK (replays >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (webhook_id, outbox_id),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
COMMENT ON TABLE webhook_deliveries IS
    'One outbox event for one subscription; the id is the receiver''s deduplication key.';
COMMENT ON COLUMN webhook_deliveries.attempts IS
    'Attempts claimed in this round (a replay starts a new round at 0).';
COMMENT ON COLUMN webhook_deliveries.next_attempt_at IS
    'When pending: the next try; while a sender holds it, the end of its lease.';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);

CREATE TABLE webhook_attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (id),
    attempt      integer NOT NULL CHECK (attempt > 0),
    at           timestamptz NOT NULL,
    status_code  integer,
    error        text,
    duration_ms  integer NOT NULL CHECK (duration_ms >= 0)
);
COMMENT ON TABLE webhook_attempts IS 'Every request sent for a delivery: when, the status (NULL: no response), why it failed.';
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
