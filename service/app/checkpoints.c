/*
 * checkpoints.c -- the audit checkpoint job's reads and writes (see checkpoints.h).
 */
#include "app/checkpoints.h"

#include "store/audit_log.h"
#include "store/effects.h"

bool app_audit_head(struct app_session *s, long long *seq, char hash[CRYPTO_SHA256_HEX_LEN])
{
	return store_audit_head_hash(s->store, seq, hash) == DB_ONE;
}

static bool collect(const struct audit_row *row, void *cls)
{
	return audit_checkpoint_add_hash(cls, row->hash);
}

bool app_audit_hashes(struct app_session *s, long long after, long long upto,
		      struct audit_checkpoint *c)
{
	return store_audit_scan(s->store, after, upto, collect, c) >= 0;
}

static enum db_status outbox_tx(struct store *st, void *cls)
{
	return store_outbox_add(st, "audit.checkpoint", NULL, cls);
}

bool app_audit_checkpoint_publish(struct app_session *s, json_t *summary)
{
	return store_tx(s->store, STORE_READ_COMMITTED, s->app->cfg->db_retries, outbox_tx,
			summary) >= 0;
}
