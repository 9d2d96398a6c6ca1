-- 0009: a deployment refused at request time (its service is inside a hard freeze) records
-- the outcome 'denied' with the reason.

ALTER TABLE deployments DROP CONSTRAINT deployments_outcome_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_outcome_check
    CHECK (outcome IN ('success', 'failure', 'expired', 'denied'));
