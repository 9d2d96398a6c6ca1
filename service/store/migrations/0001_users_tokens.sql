-- 0001: users and API tokens.

CREATE TABLE users (
    name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._@+-]{1,128}$'),
    email        text,
    display_name text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'People and machines that hold API tokens; linked to policies/ people by name.';

CREATE TABLE api_tokens (
    id          bigserial PRIMARY KEY,
    user_name   text NOT NULL REFERENCES users (name),
    roles       text[] NOT NULL
                CHECK (cardinality(roles) > 0
                       AND roles <@ ARRAY['requester', 'cab', 'change_manager', 'pipeline', 'admin']),
    token_hash  text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
COMMENT ON TABLE api_tokens IS 'Bearer tokens: only the SHA-256 of each token is kept.';
COMMENT ON COLUMN api_tokens.token_hash IS 'Lowercase hex SHA-256 of the token text.';
