-- 0019: Alertmanager alert groups and the incidents (or changes) they went to, alerts
-- linked to a change whose window was open, and the maintenance silences Transom keeps in
-- Alertmanager for changes under way (an outbox: one row per change and service, retried
-- until done).

CREATE TABLE alert_groups (
    group_key    text PRIMARY KEY,
    receiver     text,
    service      text NOT NULL,
    priority     text NOT NULL,
    status       text NOT NULL CHECK (status IN ('firing', 'resolved')),
    alertname    text,
    fingerprints text[] NOT NULL DEFAULT '{}',
    incident     text REFERENCES records (id),
    change_id    text REFERENCES records (id),
    previous_incidents text[] NOT NULL DEFAULT '{}',
    episode      integer NOT NULL DEFAULT 1 CHECK (episode > 0),
    notifications bigint NOT NULL DEFAULT 1,
    first_at     timestamptz NOT NULL,
    last_at      timestamptz NOT NULL,
    resolved_at  timestamptz
);
COMMENT ON TABLE alert_groups IS 'One row per Alertmanager alert group (groupKey): the incident it opened, or the change it was linked to.';
COMMENT ON COLUMN alert_groups.fingerprints IS 'Every alert fingerprint seen in the group.';
COMMENT ON COLUMN alert_groups.episode IS 'Raised when the group fires again after its incident was closed or the reopen window passed: a new incident.';
COMMENT ON COLUMN alert_groups.previous_incidents IS 'Incidents of earlier episodes, oldest first.';
CREATE INDEX alert_groups_incident ON alert_groups (incident);

CREATE TABLE change_alerts (
    change_id    text NOT NULL REFERENCES records (id),
    group_key    text NOT NULL,
    service      text NOT NULL,
    alertname    text,
    status       text NOT NULL CHECK (status IN ('firing', 'resolved')),
    fingerprints text[] NOT NULL DEFAULT '{}',
    first_at     timestamptz NOT NULL,
    last_at      timestamptz NOT NULL,
    PRIMARY KEY (change_id, group_key)
);
COMMENT ON TABLE change_alerts IS 'Alert groups that fired on a service while a change to it was under way: linked to the change instead of opening an incident.';

CREATE TABLE alert_silences (
    change_id  text NOT NULL REFERENCES records (id),
    service    text NOT NULL,
    matchers   jsonb NOT NULL CHECK (jsonb_typeof(matchers) = 'array'),
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL CHECK (ends_at > starts_at),
    state      text NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'active', 'expire', 'expired')),
    silence_id text,
    attempts   integer NOT NULL DEFAULT 0,
    next_at    timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (change_id, service),
    CHECK (state <> 'active' OR silence_id IS NOT NULL)
);
COMMENT ON TABLE alert_silences IS 'Maintenance silences in Alertmanager, one per change and service (matchers of one silence are ANDed): pending (to create), active, expire (to delete), expired.';
COMMENT ON COLUMN alert_silences.next_at IS 'When the silence job next tries (backoff after a failure; a lease while one tries).';
CREATE INDEX alert_silences_due ON alert_silences (next_at) WHERE state IN ('pending', 'expire');

-- Changes implementing without a booking (emergency changes) are under way too: the
-- silence job asks for them every sweep.
CREATE INDEX records_changes_implementing ON records (id)
    WHERE kind = 'change' AND state = 'implementing';
