/*
 * checkpoints.h -- what the audit checkpoint job reads and writes in the database: the
 * head of the audit chain, the hashes since the last checkpoint, and the checkpoint put
 * on the outbox for the webhooks (audit.checkpoint).
 */
#ifndef TRANSOM_APP_CHECKPOINTS_H
#define TRANSOM_APP_CHECKPOINTS_H

#include <jansson.h>
#include <stdbool.h>

#include "app/session.h"
#include "audit/checkpoint.h"

/* The chain's head into *seq and `hash`: true, or false when the database is away. */
bool app_audit_head(struct app_session *s, long long *seq, char hash[CRYPTO_SHA256_HEX_LEN]);

/*
 * Adds the hashes of the events after `after` up to `upto` (seq) to `c`, in order
 * (audit_checkpoint_add_hash).  False when they could not be read.
 */
bool app_audit_hashes(struct app_session *s, long long after, long long upto,
		      struct audit_checkpoint *c);

/* Puts checkpoint `summary` (borrowed) on the outbox, topic audit.checkpoint.  False on
 * failure. */
bool app_audit_checkpoint_publish(struct app_session *s, json_t *summary);

#endif /* TRANSOM_APP_CHECKPOINTS_H */
