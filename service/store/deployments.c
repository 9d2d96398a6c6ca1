/*
 * deployments.c -- SQL of the deployments table and of window openings (deployments.h).
 */
#include "store/deployments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/effects.h"
#include "store/store_int.h"

static const struct store_stmt stmt_insert = {
	"deployment_insert",
	"INSERT INTO deployments (id, requester, idem_key, service, environment, template,"
	" pipeline) VALUES ('DEP-' || nextval('deployment_number_seq'), $1, $2, $3, $4, $5,"
	" coalesce($6::jsonb, '{}')) ON CONFLICT (requester, idem_key) DO NOTHING RETURNING id",
	6};
static const struct store_stmt stmt_by_key = {
	"deployment_by_key", "SELECT id FROM deployments WHERE requester = $1 AND idem_key = $2",
	2};

#define GET_COLS                                                                                   \
	"SELECT id, requester, change_id, service, environment, template, pipeline::text,"         \
	" coalesce(" MS("lease_expires") ", 0), outcome, details,"                                 \
					 " to_char(created_at AT TIME ZONE 'UTC', "                \
					 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), rule"                 \
					 " FROM deployments WHERE id = $1"
static const struct store_stmt stmt_get = {"deployment_get", GET_COLS, 1};
static const struct store_stmt stmt_get_lock = {"deployment_get_lock", GET_COLS " FOR UPDATE", 1};

static const struct store_stmt stmt_claim = {
	"deployment_claim",
	"UPDATE deployments SET claimed_at = now() WHERE id = $1 AND change_id IS NULL"
	" AND (claimed_at IS NULL OR claimed_at < now() - ($2::bigint * interval '1 ms'))"
	" RETURNING 1",
	2};
static const struct store_stmt stmt_set_change = {
	"deployment_set_change",
	"UPDATE deployments SET change_id = $2, updated_at = now() WHERE id = $1", 2};
static const struct store_stmt stmt_lease = {
	"deployment_lease",
	"UPDATE deployments SET lease_hash = $2, lease_expires = " TS(
		"$3") ", updated_at = now()"
		      " WHERE id = $1 AND lease_hash IS NULL RETURNING 1",
	3};
static const struct store_stmt stmt_lease_check = {
	"deployment_lease_check", "SELECT 1 FROM deployments WHERE id = $1 AND lease_hash = $2", 2};
static const struct store_stmt stmt_outcome = {
	"deployment_outcome",
	"UPDATE deployments SET outcome = $2, details = $3, updated_at = now()"
	" WHERE id = $1 AND outcome IS NULL RETURNING 1",
	3};
static const struct store_stmt stmt_deny = {
	"deployment_deny",
	"UPDATE deployments SET outcome = 'denied', details = $2, rule = $3, updated_at = now()"
	" WHERE id = $1 AND outcome IS NULL RETURNING 1",
	3};
static const struct store_stmt stmt_expired = {
	"deployments_expired",
	"SELECT id FROM deployments WHERE outcome IS NULL AND lease_expires < " TS(
		"$1") " ORDER BY lease_expires LIMIT 100",
	1};
static const struct store_stmt stmt_open = {
	"windows_open",
	"WITH u AS (UPDATE bookings SET opened_at = now() WHERE opened_at IS NULL"
	" AND lower(during) <= " TS(
		"$1") " RETURNING change_id, lower(during) AS s,"
		      " upper(during) AS e)"
		      " SELECT change_id, to_char(min(s) AT TIME ZONE 'UTC', "
		      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		      " to_char(min(e) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
		      " FROM u GROUP BY change_id ORDER BY change_id",
	1};

enum db_status store_deployment_insert(struct store *st, const char *requester,
				       const char *idem_key, const char *service,
				       const char *environment, const char *template,
				       json_t *pipeline, char id[32])
{
	char *pl = pipeline ? json_dumps(pipeline, JSON_COMPACT) : NULL;
	const char *p[] = {requester, idem_key, service, environment, template, pl};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_insert, p, &res);
	free(pl);
	if (s == DB_ONE)
		snprintf(id, 32, "%s", PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	if (s != DB_NONE)
		return s;
	s = store_exec(st, &stmt_by_key, p, &res);
	if (s == DB_ONE)
		snprintf(id, 32, "%s", PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	return s == DB_ONE ? DB_NONE : s < 0 ? s : DB_HARD;
}

static const char *opt(PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

enum db_status store_deployment_get(struct store *st, const char *id, bool lock, json_t **out)
{
	const char *p[] = {id};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, lock ? &stmt_get_lock : &stmt_get, p, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s;
	}
	json_t *pipeline = json_loads(PQgetvalue(res, 0, 6), 0, NULL);
	*out = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s?, s:o, s:I, s:s?, s:s?, s:s}", "id",
			 PQgetvalue(res, 0, 0), "requester", PQgetvalue(res, 0, 1), "change",
			 opt(res, 2), "service", PQgetvalue(res, 0, 3), "environment",
			 PQgetvalue(res, 0, 4), "template", opt(res, 5), "pipeline",
			 pipeline ? pipeline : json_object(), "lease_expires_ms",
			 (json_int_t)atoll(PQgetvalue(res, 0, 7)), "outcome", opt(res, 8),
			 "details", opt(res, 9), "created_at", PQgetvalue(res, 0, 10));
	if (*out != NULL)
		json_object_set_new(*out, "rule",
				    opt(res, 11) ? json_string(opt(res, 11)) : json_null());
	PQclear(res);
	return *out != NULL ? DB_ONE : DB_HARD;
}

enum db_status store_deployment_claim(struct store *st, const char *id, long long stale_ms)
{
	char stale[32];
	snprintf(stale, sizeof stale, "%lld", stale_ms);
	const char *p[] = {id, stale};
	return store_exec(st, &stmt_claim, p, NULL);
}

enum db_status store_deployment_set_change(struct store *st, const char *id, const char *change)
{
	const char *p[] = {id, change};
	return store_queue(st, &stmt_set_change, p);
}

enum db_status store_deployment_lease(struct store *st, const char *id, const char *hash_hex,
				      long long expires_ms)
{
	char exp[32];
	snprintf(exp, sizeof exp, "%lld", expires_ms);
	const char *p[] = {id, hash_hex, exp};
	return store_exec(st, &stmt_lease, p, NULL);
}

enum db_status store_deployment_lease_check(struct store *st, const char *id, const char *hash_hex)
{
	const char *p[] = {id, hash_hex};
	return store_exec(st, &stmt_lease_check, p, NULL);
}

enum db_status store_deployment_outcome(struct store *st, const char *id, const char *outcome,
					const char *details)
{
	const char *p[] = {id, outcome, details};
	return store_exec(st, &stmt_outcome, p, NULL);
}

enum db_status store_deployment_deny(struct store *st, const char *id, const char *reason,
				     const char *rule)
{
	const char *p[] = {id, reason, rule};
	return store_exec(st, &stmt_deny, p, NULL);
}

enum db_status store_deployments_expired(struct store *st, long long now_ms, json_t **out)
{
	char now[32];
	snprintf(now, sizeof now, "%lld", now_ms);
	const char *p[] = {now};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_expired, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		json_array_append_new(arr, json_string(PQgetvalue(res, i, 0)));
	PQclear(res);
	*out = arr;
	return arr ? DB_ONE : DB_HARD;
}

enum db_status store_windows_open(struct store *st, long long now_ms, unsigned *n)
{
	char now[32];
	snprintf(now, sizeof now, "%lld", now_ms);
	const char *p[] = {now};
	PGresult *res;
	*n = 0;
	enum db_status s = store_exec(st, &stmt_open, p, &res);
	if (s < 0)
		return s;
	for (int i = 0; s >= 0 && i < PQntuples(res); i++) {
		json_t *ev =
			json_pack("{s:s, s:s, s:s, s:[], s:s, s:s}", "type", "change.window_opened",
				  "kind", "change", "id", PQgetvalue(res, i, 0), "services",
				  "start", PQgetvalue(res, i, 1), "end", PQgetvalue(res, i, 2));
		if (ev == NULL) {
			s = DB_HARD;
			break;
		}
		s = store_outbox_add(st, "change.window_opened", PQgetvalue(res, i, 0), ev);
		if (s >= 0)
			s = store_notify(st, ev);
		json_decref(ev);
		(*n)++;
	}
	PQclear(res);
	return s;
}

/* ---- GitHub ------------------------------------------------------------------------------ */

static const struct store_stmt stmt_gh_attach = {
	"github_attach",
	"UPDATE deployments SET github_callback = $2, github_environment = $3,"
	" github_deployment = $4::bigint WHERE id = $1",
	4};
static const struct store_stmt stmt_gh_find = {
	"github_find",
	"SELECT id FROM deployments WHERE github_deployment = $1::bigint ORDER BY created_at DESC"
	" LIMIT 1",
	1};
static const struct store_stmt stmt_gh_pending = {
	"github_pending",
	"SELECT id, github_callback, github_environment FROM deployments"
	" WHERE github_callback IS NOT NULL AND github_state IS NULL"
	" AND (github_next_at IS NULL OR github_next_at <= " TS(
		"$1") ")"
		      " ORDER BY created_at LIMIT 20",
	1};
static const struct store_stmt stmt_gh_reported = {
	"github_reported",
	"UPDATE deployments SET github_state = $2, github_error = NULL WHERE id = $1", 2};
static const struct store_stmt stmt_gh_later = {
	"github_later",
	"UPDATE deployments SET github_next_at = " TS("$2") ", github_error = $3 WHERE id = $1", 3};

enum db_status store_github_attach(struct store *st, const char *id, const char *callback,
				   const char *environment, long long github_deployment)
{
	char dep[32];
	snprintf(dep, sizeof dep, "%lld", github_deployment);
	const char *p[] = {id, callback, environment, github_deployment ? dep : NULL};
	return store_exec(st, &stmt_gh_attach, p, NULL);
}

enum db_status store_github_find(struct store *st, long long github_deployment, char id[32])
{
	char dep[32];
	snprintf(dep, sizeof dep, "%lld", github_deployment);
	const char *p[] = {dep};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_gh_find, p, &res);
	if (s == DB_ONE)
		snprintf(id, 32, "%s", PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	return s;
}

enum db_status store_github_pending(struct store *st, long long now_ms, json_t **out)
{
	char now[32];
	snprintf(now, sizeof now, "%lld", now_ms);
	const char *p[] = {now};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_gh_pending, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "id", PQgetvalue(res, i, 0),
						     "callback", PQgetvalue(res, i, 1),
						     "environment", PQgetvalue(res, i, 2)));
	PQclear(res);
	*out = arr;
	return arr ? DB_ONE : DB_HARD;
}

enum db_status store_github_reported(struct store *st, const char *id, const char *state)
{
	const char *p[] = {id, state};
	return store_exec(st, &stmt_gh_reported, p, NULL);
}

enum db_status store_github_later(struct store *st, const char *id, long long next_ms,
				  const char *error)
{
	char next[32];
	snprintf(next, sizeof next, "%lld", next_ms);
	const char *p[] = {id, next, error};
	return store_exec(st, &stmt_gh_later, p, NULL);
}
