-- 0018: the web app's sign-in.  A browser holds a session cookie; only the SHA-256 of its
-- secret is kept.  A session made by signing in with an app password lives only as long
-- as that password (revoking it, or the token that made it, ends the session); one made
-- by the OpenID Provider carries the roles its claims mapped to.  Disabling the user ends
-- every session at once (store/tokens.c).  One-time login links (`transomd login-link`)
-- are kept the same way: the hash, the roles they grant, when they expire, when used.

CREATE TABLE web_sessions (
    id              bigserial PRIMARY KEY,
    user_name       text NOT NULL REFERENCES users (name),
    secret_hash     text NOT NULL UNIQUE CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    roles           text[] NOT NULL
                    CHECK (cardinality(roles) > 0
                           AND roles <@ ARRAY['requester', 'cab', 'change_manager', 'pipeline', 'admin']),
    method          text NOT NULL CHECK (method IN ('password', 'link', 'oidc')),
    app_password_id bigint REFERENCES app_passwords (id),
    idp_sid         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    CHECK ((method = 'password') = (app_password_id IS NOT NULL))
);
COMMENT ON TABLE web_sessions IS
    'Browser sessions of the web app (cookie transom_session): only the SHA-256 of the secret is kept.';
COMMENT ON COLUMN web_sessions.app_password_id IS
    'The app password signed in with (method password): revoking it ends the session.';
COMMENT ON COLUMN web_sessions.idp_sid IS
    'The OpenID Provider''s session id (claim sid), for back-channel logout.';
COMMENT ON COLUMN web_sessions.expires_at IS
    'Absolute end; an idle session also ends (TRANSOM_SESSION_IDLE) -- checked at every lookup.';
CREATE INDEX web_sessions_user ON web_sessions (user_name) WHERE ended_at IS NULL;
CREATE INDEX web_sessions_idp_sid ON web_sessions (idp_sid) WHERE ended_at IS NULL;

CREATE TABLE login_links (
    id          bigserial PRIMARY KEY,
    user_name   text NOT NULL REFERENCES users (name),
    token_hash  text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    roles       text[] NOT NULL
                CHECK (cardinality(roles) > 0
                       AND roles <@ ARRAY['requester', 'cab', 'change_manager', 'pipeline', 'admin']),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
COMMENT ON TABLE login_links IS
    'One-time sign-in links made by transomd login-link: used once, before expires_at.';
