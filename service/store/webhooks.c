/*
 * webhooks.c -- SQL of the webhooks, webhook_deliveries and webhook_attempts tables
 * (webhooks.h).
 */
#include "store/webhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/*
 * Times are RFC 3339 UTC text with milliseconds:
 *   to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
 * Durations travel as milliseconds ($n::bigint * interval '1 millisecond').
 */

/* ---- subscriptions ---------------------------------------------------------------------- */

static const struct store_stmt stmt_insert = {
	"webhook_insert",
	"INSERT INTO webhooks (owner, url, events, secret_enc)"
	" SELECT $1, $2, array(SELECT jsonb_array_elements_text($3::jsonb)), $4"
	" RETURNING id,"
	"  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
	4};

static const struct store_stmt stmt_list = {
	"webhooks_list",
	"SELECT w.id, w.owner, w.url, array_to_json(w.events)::text,"
	" to_char(w.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
	" CASE WHEN $3::bool THEN (SELECT json_build_object("
	"  'pending', count(*) FILTER (WHERE d.status = 'pending'),"
	"  'delivered', count(*) FILTER (WHERE d.status = 'delivered'),"
	"  'dead', count(*) FILTER (WHERE d.status = 'dead'))::text"
	"  FROM webhook_deliveries d WHERE d.webhook_id = w.id) END"
	" FROM webhooks w WHERE w.active AND ($1::text IS NULL OR w.owner = $1)"
	" AND ($2::bigint = 0 OR w.id = $2::bigint) ORDER BY w.id",
	3};

/* The pending deliveries die with their subscription (a data-modifying WITH always runs). */
static const struct store_stmt stmt_deactivate = {
	"webhook_deactivate",
	"WITH w AS (UPDATE webhooks SET active = false, deleted_at = now()"
	"  WHERE id = $1::bigint AND active AND ($2::text IS NULL OR owner = $2) RETURNING id),"
	" d AS (UPDATE webhook_deliveries"
	"  SET status = 'dead', last_error = 'the webhook was deleted'"
	"  WHERE webhook_id IN (SELECT id FROM w) AND status = 'pending' RETURNING 1)"
	" SELECT id FROM w",
	2};

static const struct store_stmt stmt_deliveries = {
	"webhook_deliveries",
	"SELECT coalesce(json_agg(x ORDER BY x.id DESC), '[]')::text FROM ("
	" SELECT d.id, d.outbox_id, o.record_id, d.topic, d.status, d.attempts, d.replays,"
	"  to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
	"   AS created_at,"
	"  CASE WHEN d.status = 'pending' THEN to_char(d.next_attempt_at AT TIME ZONE 'UTC',"
	"   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') END AS next_attempt_at,"
	"  to_char(d.delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
	"   AS delivered_at,"
	"  d.last_status_code, d.last_error,"
	"  (SELECT coalesce(json_agg(json_build_object('attempt', a.attempt,"
	"    'at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
	"    'status_code', a.status_code, 'error', a.error, 'duration_ms', a.duration_ms)"
	"    ORDER BY a.id), '[]'::json) FROM webhook_attempts a WHERE a.delivery_id = d.id)"
	"   AS history"
	" FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id"
	" WHERE d.webhook_id = $1::bigint AND ($2::bigint = 0 OR d.id = $2::bigint)"
	"  AND ($3::bigint = 0 OR d.id < $3::bigint) AND ($4::text IS NULL OR d.status = $4)"
	"  AND ($5::text IS NULL OR o.record_id = $5)"
	" ORDER BY d.id DESC LIMIT $6::int) x",
	6};

static const struct store_stmt stmt_replay = {
	"webhook_replay",
	"WITH cur AS (SELECT wd.id, wd.status FROM webhook_deliveries wd"
	"  JOIN webhooks w ON w.id = wd.webhook_id"
	"  WHERE wd.id = $2::bigint AND wd.webhook_id = $1::bigint AND w.active"
	"  AND ($3::text IS NULL OR w.owner = $3) FOR UPDATE OF wd),"
	" upd AS (UPDATE webhook_deliveries wd SET status = 'pending', attempts = 0,"
	"  replays = wd.replays + 1, next_attempt_at = now(), delivered_at = NULL"
	"  FROM cur WHERE wd.id = cur.id AND cur.status <> 'pending' RETURNING wd.id)"
	" SELECT status FROM cur",
	3};

static const struct store_stmt stmt_to_seal = {
	"webhook_secrets_to_seal",
	"SELECT coalesce(json_agg(json_build_object('id', id, 'secret', secret,"
	"  'secret_enc', secret_enc) ORDER BY id), '[]')::text FROM webhooks"
	" WHERE secret IS NOT NULL OR secret_enc NOT LIKE 'v1:' || $1 || ':%'",
	1};

static const struct store_stmt stmt_seal = {
	"webhook_secret_seal",
	"UPDATE webhooks SET secret = NULL, secret_enc = $2 WHERE id = $1::bigint", 2};

enum db_status store_webhook_secrets_to_seal(struct store *st, const char *key_id, json_t **out)
{
	const char *p[] = {key_id};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_to_seal, p, &res);
	if (s < 0)
		return s;
	*out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return *out ? DB_ONE : DB_HARD;
}

enum db_status store_webhook_secret_seal(struct store *st, long long id, const char *sealed)
{
	char ids[24];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[] = {ids, sealed};
	return store_exec(st, &stmt_seal, p, NULL);
}

enum db_status store_webhook_insert(struct store *st, const char *owner, const char *url,
				    json_t *events, const char *secret, json_t **out)
{
	char *ev = json_dumps(events, JSON_COMPACT);
	*out = NULL;
	if (ev == NULL)
		return DB_HARD;
	const char *p[] = {owner, url, ev, secret};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_insert, p, &res);
	free(ev);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	*out = json_pack("{s:I, s:s, s:s, s:O, s:b, s:s}", "id",
			 (json_int_t)atoll(PQgetvalue(res, 0, 0)), "owner", owner, "url", url,
			 "events", events, "active", 1, "created_at", PQgetvalue(res, 0, 1));
	PQclear(res);
	return *out != NULL ? DB_ONE : DB_HARD;
}

enum db_status store_webhooks_list(struct store *st, const char *owner, long long id, bool counts,
				   json_t **out)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[] = {owner, ids, counts ? "true" : "false"};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_list, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:b, s:s}", "id",
				      (json_int_t)atoll(PQgetvalue(res, i, 0)), "owner",
				      PQgetvalue(res, i, 1), "url", PQgetvalue(res, i, 2), "events",
				      json_loads(PQgetvalue(res, i, 3), 0, NULL) ?: json_array(),
				      "active", 1, "created_at", PQgetvalue(res, i, 4));
		if (o != NULL && !PQgetisnull(res, i, 5))
			json_object_set_new(o, "deliveries",
					    json_loads(PQgetvalue(res, i, 5), 0, NULL));
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}

enum db_status store_webhook_deactivate(struct store *st, long long id, const char *owner)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[] = {ids, owner};
	return store_exec(st, &stmt_deactivate, p, NULL);
}

enum db_status store_webhook_deliveries(struct store *st, const struct store_delivery_filter *f,
					json_t **out)
{
	char hook[32], id[32], before[32], limit[16];
	snprintf(hook, sizeof hook, "%lld", f->webhook_id);
	snprintf(id, sizeof id, "%lld", f->id);
	snprintf(before, sizeof before, "%lld", f->before);
	snprintf(limit, sizeof limit, "%u", f->limit);
	const char *p[] = {hook, id, before, f->status, f->record, limit};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_deliveries, p, &res);
	if (s < 0)
		return s;
	*out = s == DB_ONE ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
	PQclear(res);
	return json_is_array(*out) ? DB_ONE : DB_HARD;
}

enum db_status store_webhook_replay(struct store *st, long long webhook_id, long long delivery_id,
				    const char *owner, char was[16])
{
	char hook[32], id[32];
	snprintf(hook, sizeof hook, "%lld", webhook_id);
	snprintf(id, sizeof id, "%lld", delivery_id);
	const char *p[] = {hook, id, owner};
	PGresult *res;
	was[0] = '\0';
	enum db_status s = store_exec(st, &stmt_replay, p, &res);
	if (s < 0)
		return s;
	if (s == DB_ONE)
		snprintf(was, 16, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return s == DB_ONE ? DB_ONE : DB_NONE;
}

/* ---- the delivery worker ------------------------------------------------------------------ */

/*
 * A pattern matches a topic when it is '*', the topic itself, or a prefix of it followed
 * by '*' ("change.*").  Only subscriptions that existed when the event happened get it.
 */
static const struct store_stmt stmt_fanout = {
	"webhook_fanout",
	"WITH ev AS (SELECT id, topic, payload, created_at FROM outbox WHERE delivered_at IS NULL"
	"  ORDER BY id LIMIT $1::int FOR UPDATE SKIP LOCKED),"
	" ins AS (INSERT INTO webhook_deliveries (webhook_id, outbox_id, topic, payload)"
	"  SELECT w.id, ev.id, ev.topic, ev.payload FROM ev JOIN webhooks w"
	"   ON w.active AND w.created_at <= ev.created_at"
	"   AND EXISTS (SELECT 1 FROM unnest(w.events) p WHERE p = '*' OR p = ev.topic"
	"    OR (right(p, 1) = '*' AND starts_with(ev.topic, left(p, -1))))"
	"  ORDER BY ev.id, w.id"
	"  ON CONFLICT (webhook_id, outbox_id) DO NOTHING RETURNING 1),"
	" done AS (UPDATE outbox SET delivered_at = now() WHERE id IN (SELECT id FROM ev)"
	"  RETURNING 1)"
	" SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM ins)",
	1};

static const struct store_stmt stmt_expire = {
	"webhook_expire",
	"UPDATE webhook_deliveries SET status = 'dead',"
	" last_error = 'gave up after ' || attempts || ' attempts'"
	"  || coalesce(' (last: ' || last_error || ')', '')"
	" WHERE status = 'pending' AND attempts >= $1::int AND next_attempt_at <= now()",
	1};

static const struct store_stmt stmt_claim = {
	"webhook_claim",
	"WITH due AS (SELECT wd.id FROM webhook_deliveries wd JOIN webhooks w"
	"  ON w.id = wd.webhook_id AND w.active"
	"  WHERE wd.status = 'pending' AND wd.next_attempt_at <= now() AND wd.attempts < $2::int"
	"  ORDER BY wd.next_attempt_at, wd.id LIMIT 1 FOR UPDATE OF wd SKIP LOCKED)"
	" UPDATE webhook_deliveries wd SET attempts = wd.attempts + 1,"
	"  next_attempt_at = now() + $1::bigint * interval '1 millisecond'"
	" FROM due, webhooks w, outbox o"
	" WHERE wd.id = due.id AND w.id = wd.webhook_id AND o.id = wd.outbox_id"
	" RETURNING wd.id, wd.webhook_id, wd.attempts, wd.topic, wd.payload::text, w.url,"
	"  coalesce(w.secret_enc, ''), coalesce(w.secret, ''),"
	"  to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
	2};

static const struct store_stmt stmt_record = {
	"webhook_record",
	"WITH a AS (INSERT INTO webhook_attempts"
	"  (delivery_id, attempt, at, status_code, error, duration_ms)"
	"  VALUES ($1::bigint, $2::int, to_timestamp($3::bigint / 1000.0), nullif($4::int, 0),"
	"  $5, $6::int))"
	" UPDATE webhook_deliveries SET status = $7,"
	"  next_attempt_at = CASE WHEN $7 = 'pending'"
	"   THEN now() + $8::bigint * interval '1 millisecond' ELSE next_attempt_at END,"
	"  last_status_code = nullif($4::int, 0), last_error = $5,"
	"  delivered_at = CASE WHEN $7 = 'delivered' THEN now() END"
	" WHERE id = $1::bigint AND status = 'pending' AND attempts = $2::int",
	8};

enum db_status store_webhook_fanout(struct store *st, unsigned limit, unsigned *events,
				    unsigned *deliveries)
{
	char lim[16];
	snprintf(lim, sizeof lim, "%u", limit);
	const char *p[] = {lim};
	PGresult *res;
	*events = *deliveries = 0;
	enum db_status s = store_exec(st, &stmt_fanout, p, &res);
	if (s < 0)
		return s;
	if (s == DB_ONE) {
		*events = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
		*deliveries = (unsigned)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	return DB_ONE;
}

enum db_status store_webhook_expire(struct store *st, unsigned max_attempts)
{
	char max[16];
	snprintf(max, sizeof max, "%u", max_attempts);
	const char *p[] = {max};
	return store_exec(st, &stmt_expire, p, NULL);
}

enum db_status store_webhook_claim(struct store *st, long long lease_ms, unsigned max_attempts,
				   struct store_webhook_job *job)
{
	char lease[32], max[16];
	snprintf(lease, sizeof lease, "%lld", lease_ms);
	snprintf(max, sizeof max, "%u", max_attempts);
	const char *p[] = {lease, max};
	PGresult *res;
	memset(job, 0, sizeof *job);
	enum db_status s = store_exec(st, &stmt_claim, p, &res);
	if (s < 0)
		return s;
	if (s == DB_ONE) {
		job->id = atoll(PQgetvalue(res, 0, 0));
		job->webhook_id = atoll(PQgetvalue(res, 0, 1));
		job->attempt = atoi(PQgetvalue(res, 0, 2));
		job->topic = strdup(PQgetvalue(res, 0, 3));
		job->payload = strdup(PQgetvalue(res, 0, 4));
		job->url = strdup(PQgetvalue(res, 0, 5));
		job->secret_sealed = strdup(PQgetvalue(res, 0, 6));
		job->secret = strdup(PQgetvalue(res, 0, 7));
		job->created_at = strdup(PQgetvalue(res, 0, 8));
		if (!job->topic || !job->payload || !job->url || !job->secret ||
		    !job->secret_sealed || !job->created_at) {
			/* The lease runs out and another sweep tries again. */
			store_webhook_job_clear(job);
			s = DB_HARD;
		}
	}
	PQclear(res);
	return s == DB_ONE ? DB_ONE : s < 0 ? s : DB_NONE;
}

void store_webhook_job_clear(struct store_webhook_job *job)
{
	if (job == NULL)
		return;
	free(job->topic);
	free(job->payload);
	free(job->url);
	free(job->secret);
	free(job->secret_sealed);
	free(job->created_at);
	memset(job, 0, sizeof *job);
}

enum db_status store_webhook_record(struct store *st, const struct store_webhook_job *job,
				    long long started_ms, long long duration_ms, int status_code,
				    const char *error, enum store_webhook_outcome outcome,
				    long long retry_in_ms)
{
	static const char *const status[] = {
		[STORE_WEBHOOK_DELIVERED] = "delivered",
		[STORE_WEBHOOK_RETRY] = "pending",
		[STORE_WEBHOOK_DEAD] = "dead",
	};
	char id[32], attempt[16], started[32], code[16], duration[32], retry[32];
	snprintf(id, sizeof id, "%lld", job->id);
	snprintf(attempt, sizeof attempt, "%d", job->attempt);
	snprintf(started, sizeof started, "%lld", started_ms);
	snprintf(code, sizeof code, "%d", status_code);
	snprintf(duration, sizeof duration, "%lld", duration_ms < 0 ? 0 : duration_ms);
	snprintf(retry, sizeof retry, "%lld", retry_in_ms < 0 ? 0 : retry_in_ms);
	const char *p[] = {id, attempt, started, code, error, duration, status[outcome], retry};
	return store_exec(st, &stmt_record, p, NULL);
}
