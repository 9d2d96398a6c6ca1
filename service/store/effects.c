/*
 * effects.c -- SQL of the outbox, timers and idempotency_keys tables, and NOTIFY.
 */
#include "store/effects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static const struct store_stmt stmt_outbox = {
	"outbox_add", "INSERT INTO outbox (topic, record_id, payload) VALUES ($1, $2, $3::jsonb)",
	3};
/*
 * The payload gets the audit position of the transaction's last event, and is kept in
 * `events` for replay (store_events_since); every 64th insert prunes all but the newest
 * 10,000.
 */
static const struct store_stmt stmt_notify = {
	"notify",
	"WITH p AS (SELECT ($1::jsonb || jsonb_build_object('seq',"
	"  (SELECT seq FROM audit_head WHERE id = 1)))::text AS payload),"
	" kept AS (INSERT INTO events (seq, payload)"
	"  SELECT coalesce((payload::jsonb->>'seq')::bigint, 0), payload FROM p RETURNING id),"
	" pruned AS (DELETE FROM events WHERE id <= (SELECT id FROM kept) - 10000"
	"  AND (SELECT id FROM kept) % 64 = 0)"
	" SELECT pg_notify('transom_events', payload) FROM p",
	1};
static const struct store_stmt stmt_events_since = {
	"events_since",
	"SELECT e.payload, x.found FROM"
	" (SELECT EXISTS (SELECT 1 FROM events WHERE seq = $1::bigint) AS found) x"
	" LEFT JOIN LATERAL (SELECT id, payload FROM events WHERE seq > $1::bigint"
	"  ORDER BY id LIMIT $2::int) e ON true ORDER BY e.id",
	2};
static const struct store_stmt stmt_events_last = {"events_last",
						   "SELECT coalesce(max(seq), 0) FROM events", 0};
static const struct store_stmt stmt_timer_arm = {
	"timer_arm",
	"INSERT INTO timers (record_id, state, event, due_at)"
	" VALUES ($1, $2, $3, to_timestamp($4::bigint / 1000.0))"
	" ON CONFLICT (record_id, state, event) DO UPDATE SET due_at = EXCLUDED.due_at",
	4};
static const struct store_stmt stmt_timer_cancel = {
	"timer_cancel", "DELETE FROM timers WHERE record_id = $1 AND state = $2 AND event = $3", 3};
static const struct store_stmt stmt_timer_claim = {
	"timer_claim",
	"DELETE FROM timers WHERE (record_id, state, event) = ("
	" SELECT record_id, state, event FROM timers"
	" WHERE due_at <= to_timestamp($1::bigint / 1000.0)"
	" ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
	" RETURNING record_id, state, event",
	1};
static const struct store_stmt stmt_idem_claim = {
	"idem_claim",
	"INSERT INTO idempotency_keys (user_name, key, method, path, body_hash)"
	" VALUES ($1, $2, $3, $4, $5)"
	" ON CONFLICT (user_name, key) DO UPDATE SET method = EXCLUDED.method,"
	"  path = EXCLUDED.path, body_hash = EXCLUDED.body_hash, status = NULL,"
	"  location = NULL, etag = NULL, body = NULL, created_at = now()"
	" WHERE idempotency_keys.created_at < now() - interval '24 hours'"
	" RETURNING 1",
	5};
static const struct store_stmt stmt_idem_get = {
	"idem_get",
	"SELECT method, path, body_hash, coalesce(status, 0), coalesce(location, ''),"
	" coalesce(etag, ''), coalesce(body, '') FROM idempotency_keys"
	" WHERE user_name = $1 AND key = $2",
	2};
static const struct store_stmt stmt_idem_finish = {
	"idem_finish",
	"UPDATE idempotency_keys SET status = $3::int, location = $4, etag = $5, body = $6"
	" WHERE user_name = $1 AND key = $2",
	6};

/* Queues `stmt` with a JSON document as parameter `json_at`. */
static enum db_status queue_json(struct store *st, const struct store_stmt *stmt, const char **p,
				 int json_at, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL)
		return DB_HARD;
	p[json_at] = text;
	enum db_status s = store_queue(st, stmt, p);
	free(text);
	return s;
}

enum db_status store_outbox_add(struct store *st, const char *topic, const char *record_id,
				json_t *payload)
{
	const char *p[] = {topic, record_id, NULL};
	return queue_json(st, &stmt_outbox, p, 2, payload);
}

enum db_status store_notify(struct store *st, json_t *payload)
{
	const char *p[] = {NULL};
	return queue_json(st, &stmt_notify, p, 0, payload);
}

enum db_status store_events_since(struct store *st, long long after_seq, unsigned max, json_t **out,
				  bool *found)
{
	char after[32], limit[16];
	PGresult *res = NULL;
	*out = NULL;
	snprintf(after, sizeof after, "%lld", after_seq);
	snprintf(limit, sizeof limit, "%u", max);
	const char *p[] = {after, limit};
	enum db_status s = store_exec(st, &stmt_events_since, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	if (found != NULL)
		*found = res != NULL && PQntuples(res) > 0 &&
			 strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	for (int i = 0; arr != NULL && res != NULL && i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, 0))
			continue;
		if (json_array_append_new(arr, json_string(PQgetvalue(res, i, 0))) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	if (arr == NULL)
		return DB_HARD;
	*out = arr;
	return s;
}

enum db_status store_events_last_seq(struct store *st, long long *seq)
{
	PGresult *res = NULL;
	*seq = 0;
	enum db_status s = store_exec(st, &stmt_events_last, NULL, &res);
	if (s < 0)
		return s;
	if (res != NULL && PQntuples(res) == 1)
		*seq = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_ONE;
}

enum db_status store_timer_arm(struct store *st, const char *record_id, const char *state,
			       const char *event, long long due_ms)
{
	char due[32];
	snprintf(due, sizeof due, "%lld", due_ms);
	const char *p[] = {record_id, state, event, due};
	return store_queue(st, &stmt_timer_arm, p);
}

enum db_status store_timer_cancel(struct store *st, const char *record_id, const char *state,
				  const char *event)
{
	const char *p[] = {record_id, state, event};
	return store_queue(st, &stmt_timer_cancel, p);
}

enum db_status store_timer_claim(struct store *st, long long now_ms, char record_id[32],
				 char state[128], char event[128])
{
	char now[32];
	snprintf(now, sizeof now, "%lld", now_ms);
	const char *p[] = {now};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_timer_claim, p, &res);
	if (s == DB_ONE) {
		snprintf(record_id, 32, "%s", PQgetvalue(res, 0, 0));
		snprintf(state, 128, "%s", PQgetvalue(res, 0, 1));
		snprintf(event, 128, "%s", PQgetvalue(res, 0, 2));
	}
	if (s >= 0)
		PQclear(res);
	return s;
}

enum db_status store_idem_claim(struct store *st, const char *user, const char *key,
				const char *method, const char *path, const char *body_hash,
				struct store_idem *prev)
{
	const char *p[] = {user, key, method, path, body_hash};
	enum db_status s = store_exec(st, &stmt_idem_claim, p, NULL);
	if (s != DB_NONE)
		return s;
	PGresult *res;
	s = store_exec(st, &stmt_idem_get, p, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	snprintf(prev->method, sizeof prev->method, "%s", PQgetvalue(res, 0, 0));
	snprintf(prev->path, sizeof prev->path, "%s", PQgetvalue(res, 0, 1));
	snprintf(prev->body_hash, sizeof prev->body_hash, "%s", PQgetvalue(res, 0, 2));
	prev->status = atoi(PQgetvalue(res, 0, 3));
	snprintf(prev->location, sizeof prev->location, "%s", PQgetvalue(res, 0, 4));
	snprintf(prev->etag, sizeof prev->etag, "%s", PQgetvalue(res, 0, 5));
	prev->body = strdup(PQgetvalue(res, 0, 6));
	PQclear(res);
	return prev->body != NULL ? DB_NONE : DB_HARD;
}

enum db_status store_idem_finish(struct store *st, const char *user, const char *key, int status,
				 const char *location, const char *etag, const char *body)
{
	char sbuf[16];
	snprintf(sbuf, sizeof sbuf, "%d", status);
	const char *p[] = {user, key, sbuf, location, etag, body};
	return store_queue(st, &stmt_idem_finish, p);
}
