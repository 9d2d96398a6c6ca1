-- 0002: records (changes, incidents, problems), their links, the hash-chained audit
-- trail, the outbox, armed timers and idempotency keys.

CREATE SEQUENCE change_number_seq;
CREATE SEQUENCE incident_number_seq;
CREATE SEQUENCE problem_number_seq;

CREATE TABLE records (
    id               text PRIMARY KEY CHECK (id ~ '^(CHG|INC|PRB)-[0-9]+$'),
    kind             text NOT NULL CHECK (kind IN ('change', 'incident', 'problem')),
    workflow         text NOT NULL,
    workflow_version text NOT NULL,
    state            text NOT NULL,
    version          integer NOT NULL DEFAULT 1 CHECK (version > 0),
    data             jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    services         text[] NOT NULL DEFAULT '{}',
    type             text,
    requester        text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    state_entered_at timestamptz NOT NULL
);
COMMENT ON TABLE records IS 'Changes, incidents and problems; data is the record as the workflow engine sees it.';
COMMENT ON COLUMN records.version IS 'Raised by every write; the ETag, checked by If-Match.';
COMMENT ON COLUMN records.services IS 'Copied from data for filtering (a change''s services, an incident''s service).';
CREATE INDEX records_kind_updated ON records (kind, updated_at, id);
CREATE INDEX records_services ON records USING gin (services);

CREATE TABLE record_links (
    from_id    text NOT NULL REFERENCES records (id),
    rel        text NOT NULL CHECK (rel IN ('caused_by', 'incident', 'fixed_by')),
    to_id      text NOT NULL REFERENCES records (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (from_id, rel, to_id)
);
COMMENT ON TABLE record_links IS 'incident caused_by change; problem incident incident; problem fixed_by change.';
CREATE INDEX record_links_to ON record_links (to_id);

CREATE TABLE audit_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash text NOT NULL
);
COMMENT ON TABLE audit_head IS 'The last audit event: appending locks this row, so the chain stays linear.';
INSERT INTO audit_head VALUES (1, 0, repeat('0', 64));

CREATE TABLE audit_events (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    record_id  text,
    action     text NOT NULL,
    request_id text,
    content    text NOT NULL,
    prev_hash  text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash       text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);
COMMENT ON TABLE audit_events IS 'Append-only, hash-chained: hash = sha256(prev_hash || content).';
COMMENT ON COLUMN audit_events.content IS 'Canonical JSON of the event (sorted keys); what the hash covers.';
CREATE INDEX audit_events_record ON audit_events (record_id, seq);

CREATE FUNCTION audit_events_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse();

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    record_id    text,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
COMMENT ON TABLE outbox IS 'Events to deliver (webhooks, mail), written in the transaction that caused them.';
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;

CREATE TABLE timers (
    record_id text NOT NULL REFERENCES records (id),
    state     text NOT NULL,
    event     text NOT NULL,
    due_at    timestamptz NOT NULL,
    PRIMARY KEY (record_id, state, event)
);
COMMENT ON TABLE timers IS 'Armed workflow timers; claimed with FOR UPDATE SKIP LOCKED when due.';
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE idempotency_keys (
    user_name  text NOT NULL,
    key        text NOT NULL,
    method     text NOT NULL,
    path       text NOT NULL,
    body_hash  text NOT NULL,
    status     integer,
    location   text,
    etag       text,
    body       text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_name, key)
);
COMMENT ON TABLE idempotency_keys IS 'POST replays: the same key and body within 24 h get the first response.';
