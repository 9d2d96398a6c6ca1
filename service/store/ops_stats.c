/*
 * ops_stats.c -- the single statement behind store_ops_stats().
 */
#include "store/ops_stats.h"

#include "store/store_int.h"

#define PENDING_APPROVAL                                                                           \
	"kind = 'change' AND jsonb_typeof(data->'approvals') = 'object' "                          \
	"AND data->'approvals'->'satisfied' IS DISTINCT FROM 'true'::jsonb "                       \
	"AND data->'approvals'->'rejected' IS DISTINCT FROM 'true'::jsonb"

/* count(*) FILTER (WHERE secs <= b) for each bucket b of ops_stats.h, as SQL. */
#define LE(b) "count(*) FILTER (WHERE secs <= " #b ")"
#define LE_BUCKETS_LEAD                                                                            \
	LE(3600)                                                                                   \
	"," LE(14400) "," LE(86400) "," LE(172800) "," LE(604800) "," LE(1209600) "," LE(          \
		2592000) "," LE(7776000)
#define LE_BUCKETS_APPROVAL                                                                        \
	LE(300) "," LE(900) "," LE(3600) "," LE(14400) "," LE(86400) "," LE(172800) "," LE(604800)
#define LE_BUCKETS(which) LE_BUCKETS_##which

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
	" 'outbox_backlog', (SELECT count(*) FROM outbox WHERE delivered_at IS NULL),"
	" 'lead', (SELECT coalesce(json_agg(json_build_object('workflow', workflow, 'state', state,"
	"   'n', n, 'sum', total, 'le', le)), '[]'::json) FROM (SELECT workflow, state,"
	"   count(*) AS n, sum(secs) AS total, json_build_array(" LE_BUCKETS(
		LEAD) ") AS le"
		      "   FROM (SELECT workflow, state, greatest(extract(epoch FROM "
		      "state_entered_at"
		      "   - created_at), 0)::float8 AS secs FROM records WHERE kind = 'change') l"
		      "   GROUP BY 1, 2) g),"
		      " 'approval', (SELECT json_build_object('n', count(*), 'sum', "
		      "coalesce(sum(secs), 0),"
		      "   'le', json_build_array(" LE_BUCKETS(
			      APPROVAL) ")) FROM (SELECT greatest(extract("
					"   epoch FROM (SELECT max((v->>'at')::timestamptz) FROM "
					"jsonb_array_elements("
					"   data->'approvals'->'votes') v) - "
					"to_timestamp((data->'approvals'->>'requested_at')"
					"   ::float8)), 0)::float8 AS secs FROM records WHERE kind "
					"= 'change'"
					"   AND jsonb_typeof(data->'approvals') = 'object'"
					"   AND jsonb_typeof(data->'approvals'->'requested_at') = "
					"'number'"
					"   AND jsonb_typeof(data->'approvals'->'votes') = 'array'"
					"   AND (data->'approvals'->'satisfied' = 'true'::jsonb"
					"   OR data->'approvals'->'rejected' = 'true'::jsonb)) a "
					"WHERE secs IS NOT NULL),"
					" 'booked', (SELECT "
					"coalesce(json_agg(json_build_object('window', w, 'secs', "
					"secs)),"
					"   '[]'::json) FROM (SELECT window_uid AS w, "
					"sum(extract(epoch FROM upper(during)"
					"   - lower(during)))::float8 AS secs FROM (SELECT "
					"DISTINCT change_id, window_uid, during"
					"   FROM bookings WHERE window_uid IS NOT NULL AND "
					"lower(during) >= now()"
					"   AND lower(during) < now() + interval '7 days') d GROUP "
					"BY 1) b))::text",
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
