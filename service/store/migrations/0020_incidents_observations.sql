-- 0020: issue 18 -- incident freezes and deployments observed from outside Transom.
--
-- An emergency change may name the incident it fixes (data.fixes_incident): the link
-- 'fixes' (change -> incident), which exempts it from that incident's freeze.
ALTER TABLE record_links DROP CONSTRAINT record_links_rel_check;
ALTER TABLE record_links ADD CONSTRAINT record_links_rel_check
    CHECK (rel IN ('caused_by', 'incident', 'fixed_by', 'follow_up', 'fixes'));

-- Open incidents are read on every scheduling decision (their freezes): a partial index
-- holds only those, so resolved and closed incidents cost nothing.
CREATE INDEX records_open_incidents ON records (id)
    WHERE kind = 'incident' AND state NOT IN ('resolved', 'closed');
COMMENT ON INDEX records_open_incidents IS
    'Incidents not yet resolved: the incident freezes (app/incident_freezes.c).';

-- A deployment the gate refused names the registered rule that refused it
-- (core/err.h, e.g. incident_freeze); NULL for a calendar freeze and for older rows.
ALTER TABLE deployments ADD COLUMN rule text;
COMMENT ON COLUMN deployments.rule IS 'The rule of a refusal at request time (incident_freeze), or NULL.';

-- Deployments seen from outside Transom (GitHub deployment_status, Argo CD, Flux, any CD
-- tool through POST /v1/observations), each judged once when it arrives: authorized when
-- a change of its service was implementing, or booked with a window containing the time
-- it was observed.  One row per (source, external_id): a repeat is the same observation.
CREATE SEQUENCE observation_number_seq;
CREATE TABLE observations (
    id          text PRIMARY KEY CHECK (id ~ '^OBS-[0-9]+$'),
    source      text NOT NULL CHECK (source ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    external_id text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    service     text NOT NULL,
    environment text NOT NULL,
    ref         text,
    url         text,
    observed_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    reporter    text NOT NULL,
    authorized  boolean NOT NULL,
    change_id   text REFERENCES records (id),
    incident_id text REFERENCES records (id),
    reason      text NOT NULL,
    UNIQUE (source, external_id),
    CHECK (authorized = (change_id IS NOT NULL))
);
COMMENT ON TABLE observations IS 'Deployments observed outside Transom and whether a change authorized them.';
COMMENT ON COLUMN observations.change_id IS 'The change whose window or implementation covered it; NULL when unauthorized.';
COMMENT ON COLUMN observations.incident_id IS 'The incident opened for an unauthorized one (policies/incidents.json), or NULL.';
CREATE INDEX observations_unauthorized ON observations (observed_at DESC, id) WHERE NOT authorized;
CREATE INDEX observations_observed ON observations (observed_at DESC, id);
