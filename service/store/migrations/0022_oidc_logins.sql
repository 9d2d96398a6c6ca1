-- 0022: signing in through the OpenID Provider.  Between the redirect to the provider and
-- its redirect back, the login transaction waits here: the SHA-256 of its state, the
-- nonce the ID token must carry, the PKCE verifier and where to land.  The callback takes
-- the row (deletes it), so a state is good once; an unused one ends after ten minutes.
-- A session made by the provider keeps its ID token for RP-initiated logout.

CREATE TABLE oidc_logins (
    state_hash   text PRIMARY KEY CHECK (state_hash ~ '^[0-9a-f]{64}$'),
    nonce        text NOT NULL CHECK (length(nonce) BETWEEN 16 AND 128),
    verifier     text NOT NULL CHECK (length(verifier) BETWEEN 43 AND 128),
    return_path  text NOT NULL CHECK (return_path ~ '^/[^/\\]' OR return_path = '/'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
COMMENT ON TABLE oidc_logins IS
    'OpenID Connect sign-ins under way (state, nonce, PKCE verifier): taken once by GET /oidc/callback.';
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);

ALTER TABLE web_sessions ADD COLUMN id_token text;
COMMENT ON COLUMN web_sessions.id_token IS
    'The ID token of a session made by the OpenID Provider: id_token_hint of the RP-initiated logout.';

-- The policy groups (cab, ecab, teams) a person's claims gave at their last sign-in
-- through the provider (policies/identity.json sign_in.groups).  With sign_in.group_source
-- "claims", a vote for a group these do not hold is refused, whatever people.json says.
CREATE TABLE user_claim_groups (
    user_name   text PRIMARY KEY REFERENCES users (name),
    groups      text[] NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE user_claim_groups IS
    'Policy groups from the OpenID Provider''s claims at the user''s last sign-in (votes check them).';
