-- 0007: voting by e-mail (iMIP): one calendar event per change awaiting a calendar vote,
-- the invitations sent for it (an outbox with retries), signed single-use vote links, and
-- every message read back (votes and quarantine).

CREATE TABLE imip_events (
    change_id    text PRIMARY KEY REFERENCES records (id),
    uid          text NOT NULL UNIQUE,
    agent_token  text NOT NULL UNIQUE CHECK (agent_token ~ '^[a-z0-9]{26,64}$'),
    sequence     integer NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    sequence_at  timestamptz NOT NULL DEFAULT now(),
    start_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'decided')),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (end_at > start_at)
);
COMMENT ON TABLE imip_events IS
    'The one non-recurring iTIP event of a change awaiting calendar votes: UID, SEQUENCE, slot.';
COMMENT ON COLUMN imip_events.agent_token IS
    'The secret of the ORGANIZER address cab+<token>@<agent domain>; kept to write further messages.';
COMMENT ON COLUMN imip_events.sequence_at IS
    'When the current SEQUENCE began: votes cast before it do not answer this invitation.';

CREATE TABLE imip_invitations (
    id               bigserial PRIMARY KEY,
    change_id        text NOT NULL REFERENCES imip_events (change_id),
    member           text NOT NULL,
    email            text NOT NULL,
    sequence         integer NOT NULL CHECK (sequence >= 0),
    method           text NOT NULL CHECK (method IN ('REQUEST', 'CANCEL')),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'superseded', 'dead')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    UNIQUE (change_id, member, sequence, method),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
COMMENT ON TABLE imip_invitations IS
    'Outbox of iTIP messages, one per member and SEQUENCE: retried with backoff until sent.';
COMMENT ON COLUMN imip_invitations.next_attempt_at IS
    'When pending: the next try; while a sender holds it, the end of its lease.';
CREATE INDEX imip_invitations_due ON imip_invitations (next_attempt_at) WHERE status = 'pending';

CREATE TABLE imip_vote_links (
    token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    change_id   text NOT NULL REFERENCES imip_events (change_id),
    member      text NOT NULL,
    sequence    integer NOT NULL CHECK (sequence >= 0),
    decision    text NOT NULL CHECK (decision IN ('approve', 'reject')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
COMMENT ON TABLE imip_vote_links IS
    'Signed approve/decline links (/v/{token}): SHA-256 of the token, bound to member, change and SEQUENCE; single use.';

CREATE TABLE mail_messages (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    source      text NOT NULL CHECK (source IN ('imap', 'http')),
    outcome     text NOT NULL CHECK (outcome IN ('vote', 'quarantined')),
    reason      text,
    message_id  text,
    from_addr   text,
    subject     text,
    change_id   text,
    member      text,
    sequence    integer,
    partstat    text,
    raw         bytea NOT NULL,
    CHECK ((outcome = 'quarantined') = (reason IS NOT NULL))
);
COMMENT ON TABLE mail_messages IS
    'Every reply read back, raw, for the audit: counted as a vote, or quarantined with the reason.';
COMMENT ON COLUMN mail_messages.change_id IS 'The change the message claims to answer (no FK: it may name none).';
CREATE UNIQUE INDEX mail_messages_seen ON mail_messages (message_id) WHERE outcome = 'vote';
CREATE INDEX mail_messages_quarantine ON mail_messages (id) WHERE outcome = 'quarantined';
