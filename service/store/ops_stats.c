/*
 * ops_stats.c -- the single statement behind store_ops_stats().
 */
#include "store/ops_stats.h"

#include "store/store_int.h"

#define PENDING_APPROVAL                                                                           \
	"kind = 'change' AND jsonb_typeof(data->'approvals') = 'object' "                          \
	"AND data->'approvals'->'satisfied' IS DISTINCT FROM 'true'::jsonb "                       \
	"AND data->'approvals'->'rejected' IS DISTINCT FROM 'true'::jsonb"

static const struct store_stmt stmt_stats = {
	"ops_stats",
	"SELECT json_build_object("
	" 'changes', (SELECT coalesce(json_agg(json_build_object('type', t, 'state', s, 'n', n)),"
	"   '[]'::json) FROM (SELECT coalesce(type, '') AS t, state AS s, count(*) AS n"
	"   FROM records WHERE kind = 'change' GROUP BY 1, 2) c),"
	" 'approvals_pending', (SELECT count(*) FROM records WHERE " PENDING_APPROVAL "),"
	" 'approvals_oldest_seconds', (SELECT coalesce(extract(epoch FROM"
	"   now() - min(state_entered_at)), 0)::float8 FROM records WHERE " PENDING_APPROVAL "),"
	" 'webhook_pending', (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'),"
	" 'webhook_dead', (SELECT count(*) FROM webhook_deliveries WHERE status = 'dead'),"
	" 'mail_pending', (SELECT count(*) FROM imip_invitations WHERE status = 'pending'),"
	" 'mail_dead', (SELECT count(*) FROM imip_invitations WHERE status = 'dead'),"
	" 'outbox_backlog', (SELECT count(*) FROM outbox WHERE delivered_at IS NULL))::text",
	0};

enum db_status store_ops_stats(struct store *st, json_t **out)
{
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_stats, NULL, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	*out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return *out != NULL ? DB_ONE : DB_HARD;
}
