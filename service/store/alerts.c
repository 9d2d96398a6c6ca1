/*
 * alerts.c -- SQL of the alert_groups, change_alerts and alert_silences tables (alerts.h).
 */
#include "store/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/alerts_sql.h"
#include "store/store_int.h"

/*
 * The ids (and services) of the changes under way at the bigint-milliseconds parameter
 * `now`: a booking spans it (the gist index on bookings.during), while scheduled or
 * implementing; or implementing without a booking (the partial index of 0019).  The two
 * parts never share a change.
 */
/* clang-format off */
#define UNDER_WAY(now)                                                                         \
	"SELECT r.id, r.services FROM records r WHERE r.id IN (SELECT b.change_id"             \
	"  FROM bookings b WHERE b.during @> " TS(now) ")"                                     \
	" AND r.state IN ('scheduled', 'implementing')"                                        \
	" UNION ALL SELECT r.id, r.services FROM records r WHERE r.kind = 'change'"            \
	"  AND r.state = 'implementing'"                                                       \
	"  AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.change_id = r.id)"
/* clang-format on */

void store_alert_group_clear(struct store_alert_group *g)
{
	if (g == NULL)
		return;
	free(g->incident);
	free(g->incident_state);
	free(g->change);
	memset(g, 0, sizeof *g);
}

/* The incident's time in state resolved is when it was resolved, by the group or a person. */
static const struct store_stmt stmt_seen = {
	"alert_group_seen",
	"WITH up AS (INSERT INTO alert_groups (group_key, receiver, service, priority, status,"
	"  alertname, fingerprints, first_at, last_at)"
	" VALUES ($1, $2, $3, $4, $5, $6, array(SELECT jsonb_array_elements_text($7::jsonb)),"
	"  to_timestamp($8::bigint / 1000.0), to_timestamp($8::bigint / 1000.0))"
	" ON CONFLICT (group_key) DO UPDATE SET receiver = EXCLUDED.receiver,"
	"  status = EXCLUDED.status, last_at = EXCLUDED.last_at,"
	"  notifications = alert_groups.notifications + 1,"
	"  fingerprints = array(SELECT DISTINCT f FROM unnest(alert_groups.fingerprints"
	"   || EXCLUDED.fingerprints) f ORDER BY f)"
	" RETURNING group_key, incident, change_id, episode, notifications,"
	"  (xmax = 0) AS inserted)"
	" SELECT up.incident, r.state, up.change_id, up.episode,"
	"  CASE WHEN r.state = 'resolved'"
	"   THEN (extract(epoch FROM r.state_entered_at) * 1000)::bigint ELSE 0 END,"
	"  up.notifications, up.inserted FROM up LEFT JOIN records r ON r.id = up.incident",
	8};

static char *dup_or_null(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

enum db_status store_alert_group_seen(struct store *st, const char *key, const char *receiver,
				      const char *service, const char *priority, const char *status,
				      const char *alertname, json_t *fps, long long now_ms,
				      struct store_alert_group *g)
{
	char now[32];
	snprintf(now, sizeof now, "%lld", now_ms);
	char *fp = json_dumps(fps, JSON_COMPACT);
	if (fp == NULL)
		return DB_HARD;
	const char *p[] = {key, receiver, service, priority, status, alertname, fp, now};
	PGresult *res;
	memset(g, 0, sizeof *g);
	enum db_status s = store_exec(st, &stmt_seen, p, &res);
	free(fp);
	if (s < 0)
		return s;
	if (s == DB_ONE) {
		g->incident = dup_or_null(res, 0, 0);
		g->incident_state = dup_or_null(res, 0, 1);
		g->change = dup_or_null(res, 0, 2);
		g->episode = atoi(PQgetvalue(res, 0, 3));
		g->resolved_ms = atoll(PQgetvalue(res, 0, 4));
		g->notifications = atoll(PQgetvalue(res, 0, 5));
		g->inserted = PQgetvalue(res, 0, 6)[0] == 't';
	}
	PQclear(res);
	return s == DB_ONE ? DB_ONE : DB_HARD;
}

static const struct store_stmt stmt_set_incident = {
	"alert_group_set_incident",
	"UPDATE alert_groups SET incident = $3, resolved_at = NULL"
	" WHERE group_key = $1 AND episode = $2::integer AND incident IS NULL",
	3};

enum db_status store_alert_group_set_incident(struct store *st, const char *key, int episode,
					      const char *incident)
{
	char ep[16];
	snprintf(ep, sizeof ep, "%d", episode);
	const char *p[] = {key, ep, incident};
	return store_exec(st, &stmt_set_incident, p, NULL);
}

static const struct store_stmt stmt_new_episode = {
	"alert_group_new_episode",
	"WITH u AS (UPDATE alert_groups SET episode = episode + 1, incident = NULL,"
	"  resolved_at = NULL, previous_incidents = previous_incidents || incident"
	"  WHERE group_key = $1 AND incident = $2 RETURNING episode)"
	" SELECT episode FROM u UNION ALL"
	" SELECT episode FROM alert_groups WHERE group_key = $1 AND NOT EXISTS (SELECT 1 FROM u)",
	2};

enum db_status store_alert_group_new_episode(struct store *st, const char *key, const char *old,
					     int *episode)
{
	const char *p[] = {key, old};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_new_episode, p, &res);
	if (s < 0)
		return s;
	if (s == DB_ONE)
		*episode = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return s == DB_ONE ? DB_ONE : DB_HARD;
}

/* clang-format off */
static const struct store_stmt stmt_mark = {
	"alert_group_mark",
	"UPDATE alert_groups SET resolved_at = CASE WHEN $2::bigint = 0 THEN NULL"
	" ELSE " TS("$2") " END WHERE group_key = $1",
	2};
/* clang-format on */

enum db_status store_alert_group_mark(struct store *st, const char *key, long long resolved_ms)
{
	char ms[32];
	snprintf(ms, sizeof ms, "%lld", resolved_ms);
	const char *p[] = {key, ms};
	return store_exec(st, &stmt_mark, p, NULL);
}

/* clang-format off */
static const struct store_stmt stmt_link = {
	"alert_group_link",
	"WITH g AS (UPDATE alert_groups SET change_id = $2 WHERE group_key = $1 RETURNING 1)"
	" INSERT INTO change_alerts (change_id, group_key, service, alertname, status,"
	"  fingerprints, first_at, last_at)"
	" VALUES ($2, $1, $3, $4, $5, array(SELECT jsonb_array_elements_text($6::jsonb)),"
	"  " TS("$7") ", " TS("$7") ")"
	" ON CONFLICT (change_id, group_key) DO UPDATE SET status = EXCLUDED.status,"
	"  last_at = EXCLUDED.last_at,"
	"  fingerprints = array(SELECT DISTINCT f FROM unnest(change_alerts.fingerprints"
	"   || EXCLUDED.fingerprints) f ORDER BY f)",
	7};
/* clang-format on */

enum db_status store_alert_group_link(struct store *st, const char *key, const char *change,
				      const char *service, const char *alertname,
				      const char *status, json_t *fps, long long now_ms)
{
	char now[32];
	snprintf(now, sizeof now, "%lld", now_ms);
	char *fp = json_dumps(fps, JSON_COMPACT);
	if (fp == NULL)
		return DB_HARD;
	const char *p[] = {key, change, service, alertname, status, fp, now};
	enum db_status s = store_exec(st, &stmt_link, p, NULL);
	free(fp);
	return s;
}

/* clang-format off */
static const struct store_stmt stmt_under_way = {
	"changes_under_way",
	"SELECT json_build_object('change', u.id, 'services', to_json(u.services),"
	"  'end_ms', (SELECT " MS("max(upper(b.during))") " FROM bookings b"
	"   WHERE b.change_id = u.id))::text"
	" FROM (" UNDER_WAY("$2") ") u"
	" WHERE ($1::text IS NULL OR u.services @> ARRAY[$1::text])"
	" ORDER BY (SELECT min(lower(b.during)) FROM bookings b WHERE b.change_id = u.id)"
	"  NULLS LAST, u.id",
	2};
/* clang-format on */

/* Rows of one JSON text column into an owned array. */
static enum db_status json_rows(PGresult *res, json_t **out)
{
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		json_t *v = json_loads(PQgetvalue(res, i, 0), 0, NULL);
		if (v == NULL || json_array_append_new(arr, v) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}

enum db_status store_changes_under_way(struct store *st, const char *service, long long now_ms,
				       json_t **out)
{
	char now[32];
	snprintf(now, sizeof now, "%lld", now_ms);
	const char *p[] = {service, now};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_under_way, p, &res);
	return s < 0 ? s : json_rows(res, out);
}

/* ---- maintenance silences ------------------------------------------------------------- */

/* clang-format off */
static const struct store_stmt stmt_plan = {
	"silence_plan",
	"INSERT INTO alert_silences (change_id, service, matchers, starts_at, ends_at)"
	" VALUES ($1, $2, $3::jsonb, " TS("$4") ", " TS("$5") ")"
	" ON CONFLICT (change_id, service) DO NOTHING",
	5};
/* clang-format on */

enum db_status store_silence_plan(struct store *st, const char *change, const char *service,
				  json_t *matchers, long long start_ms, long long end_ms)
{
	char start[32], end[32];
	snprintf(start, sizeof start, "%lld", start_ms);
	snprintf(end, sizeof end, "%lld", end_ms);
	char *m = json_dumps(matchers, JSON_COMPACT);
	if (m == NULL)
		return DB_HARD;
	const char *p[] = {change, service, m, start, end};
	enum db_status s = store_exec(st, &stmt_plan, p, NULL);
	free(m);
	return s;
}

/* clang-format off */
static const struct store_stmt stmt_close = {
	"silences_close",
	"UPDATE alert_silences SET state = CASE WHEN silence_id IS NULL THEN 'expired'"
	"  ELSE 'expire' END, next_at = now(), updated_at = now()"
	" WHERE state IN ('pending', 'active')"
	" AND (ends_at <= " TS("$1")
	"  OR change_id NOT IN (SELECT u.id FROM (" UNDER_WAY("$1") ") u))",
	1};
/* clang-format on */

enum db_status store_silences_close(struct store *st, long long now_ms, unsigned *n)
{
	char now[32];
	snprintf(now, sizeof now, "%lld", now_ms);
	const char *p[] = {now};
	enum db_status s = store_exec(st, &stmt_close, p, NULL);
	*n = s > 0 ? (unsigned)s : 0;
	return s;
}

/* clang-format off */
static const struct store_stmt stmt_claim = {
	"silences_claim",
	"UPDATE alert_silences s"
	" SET next_at = " TS("$1") " + $2::bigint * interval '1 millisecond'"
	" WHERE (s.change_id, s.service) IN (SELECT change_id, service FROM alert_silences"
	"  WHERE state IN ('pending', 'expire') AND next_at <= " TS("$1")
	"  ORDER BY next_at LIMIT 20 FOR UPDATE SKIP LOCKED)"
	" RETURNING json_build_object('change', s.change_id, 'service', s.service,"
	"  'state', s.state, 'silence_id', s.silence_id, 'matchers', s.matchers,"
	"  'starts_at', " RFC("s.starts_at") ","
	"  'ends_at', " RFC("s.ends_at") ","
	"  'attempts', s.attempts)::text",
	2};
/* clang-format on */

enum db_status store_silences_claim(struct store *st, long long now_ms, long long lease_ms,
				    json_t **out)
{
	char now[32], lease[32];
	snprintf(now, sizeof now, "%lld", now_ms);
	snprintf(lease, sizeof lease, "%lld", lease_ms);
	const char *p[] = {now, lease};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_claim, p, &res);
	return s < 0 ? s : json_rows(res, out);
}

/* A silence made after its change ended is expired at once. */
static const struct store_stmt stmt_created = {
	"silence_created",
	"UPDATE alert_silences SET silence_id = $2, attempts = 0, last_error = NULL,"
	" state = CASE WHEN state = 'pending' THEN 'active' ELSE 'expire' END,"
	" next_at = now(), updated_at = now() WHERE change_id = $1 AND service = $3",
	3};

enum db_status store_silence_created(struct store *st, const char *change, const char *service,
				     const char *silence_id)
{
	const char *p[] = {change, silence_id, service};
	return store_exec(st, &stmt_created, p, NULL);
}

static const struct store_stmt stmt_expired = {
	"silence_expired",
	"UPDATE alert_silences SET state = 'expired', last_error = NULL, updated_at = now()"
	" WHERE change_id = $1 AND service = $2 AND state = 'expire'",
	2};

enum db_status store_silence_expired(struct store *st, const char *change, const char *service)
{
	const char *p[] = {change, service};
	return store_exec(st, &stmt_expired, p, NULL);
}

/* clang-format off */
static const struct store_stmt stmt_failed = {
	"silence_failed",
	"UPDATE alert_silences SET attempts = attempts + 1,"
	" next_at = " TS("$2") ","
	" last_error = $3, updated_at = now() WHERE change_id = $1 AND service = $4",
	4};
/* clang-format on */

enum db_status store_silence_failed(struct store *st, const char *change, const char *service,
				    long long next_ms, const char *error)
{
	char next[32];
	snprintf(next, sizeof next, "%lld", next_ms);
	const char *p[] = {change, next, error, service};
	return store_exec(st, &stmt_failed, p, NULL);
}
