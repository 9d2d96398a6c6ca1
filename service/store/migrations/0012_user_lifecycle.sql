-- 0012: a lifecycle for users (active / disabled), and the token each app password and
-- feed URL was made with, so that revoking the token revokes them too.

ALTER TABLE users
    ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    ADD COLUMN disabled_at timestamptz,
    ADD CONSTRAINT users_disabled_at CHECK ((state = 'disabled') = (disabled_at IS NOT NULL));
COMMENT ON COLUMN users.state IS
    'active, or disabled: no credential of a disabled user authenticates (checked at every lookup).';
COMMENT ON COLUMN users.disabled_at IS 'When the user was disabled; NULL while active.';

ALTER TABLE app_passwords ADD COLUMN token_id bigint REFERENCES api_tokens (id);
COMMENT ON COLUMN app_passwords.token_id IS
    'The API token that made the password (NULL: made before 0012); revoking it revokes the password.';
CREATE INDEX app_passwords_token ON app_passwords (token_id) WHERE revoked_at IS NULL;

ALTER TABLE feed_tokens ADD COLUMN token_id bigint REFERENCES api_tokens (id);
COMMENT ON COLUMN feed_tokens.token_id IS
    'The API token that made the feed URL (NULL: made before 0012); revoking it revokes the URL.';
CREATE INDEX feed_tokens_token ON feed_tokens (token_id) WHERE revoked_at IS NULL;
