-- 0006: deployments requested by GitHub deployment protection rules, and their callbacks;
-- who is making a deployment's change.

ALTER TABLE deployments
    ADD COLUMN github_callback    text,
    ADD COLUMN github_environment text,
    ADD COLUMN github_deployment  bigint,
    ADD COLUMN github_state       text CHECK (github_state IN ('approved', 'rejected')),
    ADD COLUMN github_next_at     timestamptz,
    ADD COLUMN github_error       text,
    ADD COLUMN claimed_at         timestamptz;
COMMENT ON COLUMN deployments.claimed_at IS 'When a request began making the change; the others wait for it.';
COMMENT ON COLUMN deployments.github_callback IS 'deployment_callback_url: where the decision is reported.';
COMMENT ON COLUMN deployments.github_state IS 'What GitHub was told; NULL while the gate says wait or the call failed.';
CREATE INDEX deployments_github_pending ON deployments (github_next_at)
    WHERE github_callback IS NOT NULL AND github_state IS NULL;
CREATE INDEX deployments_github_deployment ON deployments (github_deployment);
