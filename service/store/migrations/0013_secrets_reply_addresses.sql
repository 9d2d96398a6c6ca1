-- 0013: mail votes that cannot be forged, and secrets at rest.
--
-- Every invitation gets its own reply address cab+<token>@<agent domain>, issued to one
-- member for one SEQUENCE: only the SHA-256 of the token is kept (it is never needed
-- again: a reply brings it).  The shared per-change token of imip_events goes; replies to
-- it are recognised (its hash is kept, with no member) and refused; active events move to
-- a new SEQUENCE so that every member is asked again with an address of their own.
--
-- Webhook signing secrets are kept sealed (AES-256-GCM, the key outside the database:
-- TRANSOM_SECRET_KEY_FILE); transomd seals the existing plain ones at start-up and empties
-- the plain column (SQL cannot: it has no key).

CREATE TABLE imip_reply_addresses (
    token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    change_id   text NOT NULL REFERENCES imip_events (change_id),
    member      text,
    sequence    integer NOT NULL CHECK (sequence >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE imip_reply_addresses IS
    'Reply addresses cab+<token>@<domain> by SHA-256 of the token: each issued to one member for one SEQUENCE.';
COMMENT ON COLUMN imip_reply_addresses.member IS
    'The member the address was issued to; NULL: the shared address of an event from before 0013 (refused).';
CREATE INDEX imip_reply_addresses_change ON imip_reply_addresses (change_id);

INSERT INTO imip_reply_addresses (token_hash, change_id, member, sequence)
    SELECT encode(sha256(convert_to(agent_token, 'UTF8')), 'hex'), change_id, NULL, sequence
    FROM imip_events;
ALTER TABLE imip_events DROP COLUMN agent_token;

UPDATE imip_invitations SET status = 'superseded'
    WHERE status = 'pending'
    AND change_id IN (SELECT change_id FROM imip_events WHERE status = 'active');
UPDATE imip_events SET sequence = sequence + 1, sequence_at = now(), updated_at = now()
    WHERE status = 'active';

ALTER TABLE webhooks ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE webhooks ADD COLUMN secret_enc text
    CHECK (secret_enc ~ '^v1:[0-9a-f]{16}:[0-9a-f]+$');
ALTER TABLE webhooks ADD CONSTRAINT webhooks_secret_kept
    CHECK (secret IS NOT NULL OR secret_enc IS NOT NULL);
COMMENT ON COLUMN webhooks.secret IS
    'Legacy: the signing secret in plain text, emptied at start-up once encrypted into secret_enc.';
COMMENT ON COLUMN webhooks.secret_enc IS
    'The signing secret sealed with AES-256-GCM (crypto/seal.h): v1:<key id>:<hex of nonce | ciphertext | tag>.';
