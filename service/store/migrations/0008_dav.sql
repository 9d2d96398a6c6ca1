-- 0008: CalDAV: per-user app passwords (HTTP Basic for calendar programs), and the change
-- log behind sync tokens and ctags.

CREATE TABLE app_passwords (
    id          bigserial PRIMARY KEY,
    user_name   text NOT NULL REFERENCES users (name),
    roles       text[] NOT NULL,
    label       text,
    salt        text NOT NULL CHECK (salt ~ '^[0-9a-f]{32}$'),
    hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at  timestamptz
);
COMMENT ON TABLE app_passwords IS
    'Passwords for HTTP Basic (CalDAV clients): HMAC-SHA256 of the password under a per-password salt; the password itself is shown once.';
CREATE INDEX app_passwords_user ON app_passwords (user_name) WHERE revoked_at IS NULL;

-- One change log for every DAV collection: a sequence value each time an object appears,
-- changes its ETag or disappears.  A collection's sync token (and ctag) is the highest
-- value among its objects.
CREATE SEQUENCE dav_seq;

CREATE TABLE dav_collections (
    user_name  text NOT NULL,
    calendar   text NOT NULL,
    digest     text NOT NULL,
    seq        bigint NOT NULL,
    PRIMARY KEY (user_name, calendar)
);
COMMENT ON TABLE dav_collections IS
    'The state last seen of each CalDAV collection: a digest of its (name, ETag) pairs and its sync token.';

CREATE TABLE dav_objects (
    user_name  text NOT NULL,
    calendar   text NOT NULL,
    name       text NOT NULL,
    etag       text NOT NULL,
    seq        bigint NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (user_name, calendar, name),
    FOREIGN KEY (user_name, calendar) REFERENCES dav_collections (user_name, calendar)
);
COMMENT ON TABLE dav_objects IS
    'Each CalDAV object with its ETag and the change-log value of its last change; deleted ones stay as tombstones for sync-collection.';
CREATE INDEX dav_objects_seq ON dav_objects (user_name, calendar, seq);
