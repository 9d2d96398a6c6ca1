/*
 * observations.c -- SQL of the observations aggregate (observations.h).
 */
#include "store/observations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static const struct store_stmt stmt_authorizer = {
	"observation_authorizer",
	"SELECT id FROM records WHERE kind = 'change' AND services @> ARRAY[$1::text]"
	" AND environment = $2 AND ("
	"  state = 'implementing' OR ("
	"   state IN ('scheduled', 'implementing', 'review', 'closed', 'failed')"
	"   AND data->'schedule'->>'status' = 'booked'"
	"   AND (data->'schedule'->>'start')::timestamptz <= " TS(
		"$3") "   AND (data->'schedule'->>'end')::timestamptz > " TS("$3") "))"
										   " ORDER BY "
										   "(state = "
										   "'implementing')"
										   " DESC, "
										   "updated_at "
										   "DESC, id LIMIT "
										   "1",
	3};

enum db_status store_observation_authorizer(struct store *st, const char *service,
					    const char *environment, long long observed_ms,
					    char change[32])
{
	char at[32];
	snprintf(at, sizeof at, "%lld", observed_ms);
	const char *p[] = {service, environment, at};
	PGresult *res;
	change[0] = '\0';
	enum db_status s = store_exec(st, &stmt_authorizer, p, &res);
	if (s == DB_ONE)
		snprintf(change, 32, "%s", PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	return s;
}

static const struct store_stmt stmt_insert = {
	"observation_insert",
	"INSERT INTO observations (id, source, external_id, service, environment, ref, url,"
	" observed_at, reporter, authorized, change_id, reason)"
	" VALUES ('OBS-' || nextval('observation_number_seq'), $1, $2, $3, $4, $5, $6, " TS(
		"$7") ", $8, $9::text IS NOT NULL, $9, $10)"
		      " ON CONFLICT (source, external_id) DO NOTHING RETURNING id",
	10};
static const struct store_stmt stmt_by_key = {
	"observation_by_key", "SELECT id FROM observations WHERE source = $1 AND external_id = $2",
	2};

enum db_status store_observation_insert(struct store *st, const struct store_observation *o,
					char id[32], bool *created)
{
	char at[32];
	snprintf(at, sizeof at, "%lld", o->observed_ms);
	const char *p[] = {o->source, o->external_id, o->service, o->environment, o->ref, o->url,
			   at,        o->reporter,    o->change,  o->reason};
	PGresult *res;
	*created = false;
	id[0] = '\0';
	enum db_status s = store_exec(st, &stmt_insert, p, &res);
	if (s == DB_ONE) {
		*created = true;
		snprintf(id, 32, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		return DB_ONE;
	}
	if (s < 0)
		return s;
	PQclear(res);
	const char *k[] = {o->source, o->external_id};
	s = store_exec(st, &stmt_by_key, k, &res);
	if (s == DB_ONE)
		snprintf(id, 32, "%s", PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	return s == DB_NONE ? DB_SOFT : s; /* inserted and gone: retry */
}

static const struct store_stmt stmt_set_incident = {
	"observation_set_incident", "UPDATE observations SET incident_id = $2 WHERE id = $1", 2};

enum db_status store_observation_set_incident(struct store *st, const char *id,
					      const char *incident)
{
	const char *p[] = {id, incident};
	return store_exec(st, &stmt_set_incident, p, NULL);
}

#define OBS_COLS                                                                                   \
	"SELECT id, source, external_id, service, environment, ref, url,"                          \
	" to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"           \
	" to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"           \
	" reporter, authorized, change_id, incident_id, reason FROM observations"

static const struct store_stmt stmt_get = {"observation_get", OBS_COLS " WHERE id = $1", 1};
static const struct store_stmt stmt_list = {
	"observations_list",
	OBS_COLS " WHERE ($1::boolean IS NOT TRUE OR NOT authorized)"
		 " AND observed_at >= " TS("$2") " ORDER BY observed_at DESC, id DESC LIMIT $3",
	3};

static json_t *row(PGresult *res, int i)
{
#define OPT(c) (PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c))
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:b, s:s?, s:s?, "
			 "s:s}",
			 "id", PQgetvalue(res, i, 0), "source", PQgetvalue(res, i, 1),
			 "external_id", PQgetvalue(res, i, 2), "service", PQgetvalue(res, i, 3),
			 "environment", PQgetvalue(res, i, 4), "ref", OPT(5), "url", OPT(6),
			 "observed_at", PQgetvalue(res, i, 7), "received_at", PQgetvalue(res, i, 8),
			 "reporter", PQgetvalue(res, i, 9), "authorized",
			 strcmp(PQgetvalue(res, i, 10), "t") == 0, "change", OPT(11), "incident",
			 OPT(12), "reason", PQgetvalue(res, i, 13));
#undef OPT
}

enum db_status store_observation_get(struct store *st, const char *id, json_t **out)
{
	const char *p[] = {id};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_get, p, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s;
	}
	*out = row(res, 0);
	PQclear(res);
	return *out ? DB_ONE : DB_HARD;
}

enum db_status store_observations_list(struct store *st, bool unauthorized, long long since_ms,
				       int limit, json_t **out)
{
	char since[32], lim[16];
	snprintf(since, sizeof since, "%lld", since_ms);
	snprintf(lim, sizeof lim, "%d", limit);
	const char *p[] = {unauthorized ? "true" : "false", since, lim};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_list, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		json_array_append_new(arr, row(res, i));
	PQclear(res);
	*out = arr;
	return arr ? DB_ONE : DB_HARD;
}
