/*
 * records.c -- SQL of the records and record_links tables.
 */
#include "store/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/alerts_sql.h"
#include "store/store_int.h"

/* The columns derived from the record's JSON for filtering, from `d`. */
#define DERIVED                                                                                    \
	"CASE WHEN kind_ = 'incident' THEN array_remove(ARRAY[d->>'service'], NULL)"               \
	" ELSE ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(d->'services')"       \
	" = 'array' THEN d->'services' ELSE '[]' END)) END"

/* clang-format off */
/* A record's columns, and every link touching it ([{"from","rel","to"}]), of `r`. */
#define SELECT_RECORD_COLUMNS                                                                     \
	"SELECT id, kind, workflow, workflow_version, state, version, data::text, "                \
	MS("created_at") ", " MS("updated_at") ", " MS("state_entered_at") ","                    \
	" (SELECT coalesce(json_agg(json_build_object('from', from_id, 'rel', rel, 'to', to_id)"  \
	"  ORDER BY created_at, from_id, rel, to_id), '[]') FROM record_links"                     \
	"  WHERE from_id = r.id OR to_id = r.id)::text"
/* clang-format on */
#define SELECT_RECORD SELECT_RECORD_COLUMNS " FROM records r"

static const struct store_stmt stmt_next[3] = {
	{"record_next_change", "SELECT 'CHG-' || nextval('change_number_seq')", 0},
	{"record_next_incident", "SELECT 'INC-' || nextval('incident_number_seq')", 0},
	{"record_next_problem", "SELECT 'PRB-' || nextval('problem_number_seq')", 0},
};
static const struct store_stmt stmt_insert = {
	"record_insert",
	"INSERT INTO records (id, kind, workflow, workflow_version, state, version, data,"
	" services, type, requester, created_at, updated_at, state_entered_at)"
	" SELECT $1, kind_, $3, $4, $5, 1, d, " DERIVED ", d->>'type', d->>'requester',"
	" t, t, t"
	" FROM (SELECT $2::text AS kind_, $6::jsonb AS d,"
	"             to_timestamp($7::bigint / 1000.0) AS t) s",
	7};
static const struct store_stmt stmt_get = {"record_get", SELECT_RECORD " WHERE id = $1", 1};
static const struct store_stmt stmt_get_lock = {"record_get_lock",
						SELECT_RECORD " WHERE id = $1 FOR UPDATE", 1};
static const struct store_stmt stmt_update = {
	"record_update",
	"UPDATE records SET state = $2, version = version + 1, data = d,"
	" services = " DERIVED ", type = d->>'type', requester = d->>'requester',"
	" updated_at = t,"
	" state_entered_at = CASE WHEN $5::boolean THEN t ELSE state_entered_at END"
	" FROM (SELECT kind AS kind_, $3::jsonb AS d, to_timestamp($4::bigint / 1000.0) AS t"
	"       FROM records WHERE id = $1) s"
	" WHERE id = $1 AND version = $6::int",
	6};
/*
 * The timers armed in a record's current state (its SLA clocks) as a JSON text array of
 * {"event", "due_at"} (RFC 3339 UTC), soonest first.
 */
#define TIMERS_OF(rec)                                                                             \
	"(SELECT coalesce(json_agg(json_build_object('event', t.event, 'due_at',"                  \
	" to_char(t.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))"                 \
	" ORDER BY t.due_at, t.event), '[]') FROM timers t"                                        \
	" WHERE t.record_id = " rec ".id AND t.state = " rec ".state)::text"
/* The list, oldest update first (ASC) or newest first (DESC); the cursor is the last row. */
#define RECORD_LIST_SQL(CMP, DIR)                                                                  \
	"SELECT data::text, version,"                                                              \
	" to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"            \
	" " TIMERS_OF("records") ", id, data ?| '{version,timers}'::text[]"                        \
				 " FROM records WHERE kind = $1"                                   \
				 " AND ($2::text IS NULL OR state = $2)"                           \
				 " AND ($3::text IS NULL OR type = $3)"                            \
				 " AND ($4::text IS NULL OR $4 = ANY (services))"                  \
				 " AND ($5::text IS NULL OR requester = $5)"                       \
				 " AND ($6::timestamptz IS NULL OR updated_at >= $6::timestamptz)" \
				 " AND ($7::timestamptz IS NULL OR (updated_at, id) " CMP          \
				 " ($7::timestamptz, $8::text))"                                   \
				 " AND ($10::text IS NULL OR environment = $10)"                   \
				 " AND ($11::text IS NULL OR data->'risk'->>'level' = $11)"        \
				 " AND ($12::text IS NULL OR data->>'priority' = $12)"             \
				 " AND ($13::text IS NULL OR data->>'assignment_group' = $13)"     \
				 " ORDER BY updated_at " DIR ", id " DIR " LIMIT $9::int"
static const struct store_stmt stmt_list = {"record_list", RECORD_LIST_SQL(">", "ASC"), 13};
static const struct store_stmt stmt_list_desc = {"record_list_desc", RECORD_LIST_SQL("<", "DESC"),
						 13};
static const struct store_stmt stmt_timers = {
	"record_timers", "SELECT " TIMERS_OF("r") " FROM records r WHERE r.id = $1", 1};
/* The members a record's representation adds to its data (rec_represent). */
#define SHADOWED                                                                                   \
	"'{version,links,available_events,blocked_events,timers,alerts,silences,alert_group}'"
static const struct store_stmt stmt_view = {
	"record_view",
	SELECT_RECORD_COLUMNS ", " TIMERS_OF(
		"r") ","
		     " (CASE r.kind WHEN 'change' THEN " ALERTS_OF_CHANGE(
			     "r.id") " WHEN 'incident' THEN " ALERTS_OF_INCIDENT("r.id") " ELSE "
											 "'{}'::"
											 "json "
											 "END)::"
											 "text,"
											 " r.data "
											 "?|"
											 " " SHADOWED
											 "::text[] "
											 "FROM "
											 "records "
											 "r WHERE "
											 "r.id = "
											 "$1",
	1};
static const struct store_stmt stmt_missing = {
	"records_missing",
	"SELECT t.v FROM jsonb_array_elements_text($1::jsonb) t(v)"
	" WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = t.v AND r.kind = $2)",
	2};
static const struct store_stmt stmt_links_clear = {
	"links_clear", "DELETE FROM record_links WHERE from_id = $1 AND rel = $2", 2};
static const struct store_stmt stmt_links_add = {
	"links_add",
	"INSERT INTO record_links (from_id, rel, to_id)"
	" SELECT DISTINCT $1, $2, jsonb_array_elements_text($3::jsonb) ON CONFLICT DO NOTHING",
	3};
void store_record_clear(struct store_record *r)
{
	json_decref(r->data);
	json_decref(r->links);
	r->data = NULL;
	r->links = NULL;
}

enum db_status store_record_next_id(struct store *st, const char *kind, char id[32])
{
	int k = strcmp(kind, "change") == 0 ? 0 : strcmp(kind, "incident") == 0 ? 1 : 2;
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_next[k], NULL, &res);
	if (s == DB_ONE)
		snprintf(id, 32, "%s", PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	return s;
}

/* `text`, or r->data written as text into *owned (freed by the caller). */
static const char *data_text(const struct store_record *r, const char *text, char **owned)
{
	*owned = NULL;
	if (text != NULL)
		return text;
	return *owned = json_dumps(r->data, JSON_COMPACT | JSON_ENSURE_ASCII);
}

enum db_status store_record_insert(struct store *st, const struct store_record *r, const char *text)
{
	char *owned, ms[32];
	const char *data = data_text(r, text, &owned);
	if (data == NULL)
		return DB_HARD;
	snprintf(ms, sizeof ms, "%lld", r->created_ms);
	const char *p[] = {r->id, r->kind, r->workflow, r->workflow_version, r->state, data, ms};
	enum db_status s = store_queue(st, &stmt_insert, p);
	free(owned);
	return s;
}

/* Fills `r` from the first row of `res` (SELECT_RECORD's columns); false when its JSON
 * does not parse. */
/* Row 0 of `res` into `r`; its data parsed unless `text_only` (r->data NULL then). */
static bool record_read(PGresult *res, struct store_record *r, bool text_only)
{
	snprintf(r->id, sizeof r->id, "%s", PQgetvalue(res, 0, 0));
	snprintf(r->kind, sizeof r->kind, "%s", PQgetvalue(res, 0, 1));
	snprintf(r->workflow, sizeof r->workflow, "%s", PQgetvalue(res, 0, 2));
	snprintf(r->workflow_version, sizeof r->workflow_version, "%s", PQgetvalue(res, 0, 3));
	snprintf(r->state, sizeof r->state, "%s", PQgetvalue(res, 0, 4));
	r->version = atoi(PQgetvalue(res, 0, 5));
	r->data = text_only ? NULL : json_loads(PQgetvalue(res, 0, 6), 0, NULL);
	r->created_ms = atoll(PQgetvalue(res, 0, 7));
	r->updated_ms = atoll(PQgetvalue(res, 0, 8));
	r->entered_ms = atoll(PQgetvalue(res, 0, 9));
	r->links = json_loads(PQgetvalue(res, 0, 10), 0, NULL);
	return (text_only || r->data != NULL) && r->links != NULL;
}

void store_record_text_clear(struct store_record_text *t)
{
	free(t->data);
	free(t->timers);
	free(t->alerts);
	memset(t, 0, sizeof *t);
}

enum db_status store_record_get(struct store *st, const char *id, bool lock, struct store_record *r)
{
	const char *p[] = {id};
	PGresult *res;
	enum db_status s = store_exec(st, lock ? &stmt_get_lock : &stmt_get, p, &res);
	if (s < 0)
		return s;
	if (s == DB_ONE && !record_read(res, r, false))
		s = DB_HARD;
	PQclear(res);
	return s;
}

enum db_status store_record_view(struct store *st, const char *id, struct store_record *r,
				 struct store_record_text *t)
{
	const char *p[] = {id};
	PGresult *res;
	memset(t, 0, sizeof *t);
	enum db_status s = store_exec(st, &stmt_view, p, &res);
	if (s < 0)
		return s;
	if (s == DB_ONE) {
		t->data = strdup(PQgetvalue(res, 0, 6));
		t->timers = strdup(PQgetvalue(res, 0, 11));
		t->alerts = strdup(PQgetvalue(res, 0, 12));
		t->shadows = strcmp(PQgetvalue(res, 0, 13), "t") == 0;
		if (!record_read(res, r, true) || t->data == NULL || t->timers == NULL ||
		    t->alerts == NULL) {
			store_record_clear(r);
			store_record_text_clear(t);
			s = DB_HARD;
		}
	}
	PQclear(res);
	return s;
}

enum db_status store_record_update(struct store *st, struct store_record *r, const char *text,
				   bool state_changed)
{
	char *owned, ms[32], version[16];
	const char *data = data_text(r, text, &owned);
	if (data == NULL)
		return DB_HARD;
	snprintf(ms, sizeof ms, "%lld", r->updated_ms);
	snprintf(version, sizeof version, "%d", r->version);
	const char *p[] = {r->id, r->state, data, ms, state_changed ? "true" : "false", version};
	enum db_status s = store_queue(st, &stmt_update, p);
	free(owned);
	if (s >= 0)
		r->version++;
	return s;
}

enum db_status store_record_list(struct store *st, const struct store_record_filter *f,
				 struct store_record_rows *out)
{
	char limit[16];
	snprintf(limit, sizeof limit, "%d", f->limit);
	const char *p[] = {f->kind,
			   f->state,
			   f->type,
			   f->service,
			   f->requester,
			   f->updated_since,
			   f->after_ts,
			   f->after_id,
			   limit,
			   f->environment,
			   f->risk,
			   f->priority,
			   f->assignment_group};
	PGresult *res;
	memset(out, 0, sizeof *out);
	enum db_status s = store_exec(st, f->newest_first ? &stmt_list_desc : &stmt_list, p, &res);
	if (s < 0)
		return s;
	size_t n = (size_t)PQntuples(res);
	out->v = calloc(n ? n : 1, sizeof *out->v);
	for (size_t i = 0; out->v != NULL && i < n; i++, out->n++) {
		struct store_record_row *row = &out->v[i];
		row->data = strdup(PQgetvalue(res, (int)i, 0));
		row->version = atoi(PQgetvalue(res, (int)i, 1));
		snprintf(row->cursor_ts, sizeof row->cursor_ts, "%s", PQgetvalue(res, (int)i, 2));
		row->timers = strdup(PQgetvalue(res, (int)i, 3));
		snprintf(row->id, sizeof row->id, "%s", PQgetvalue(res, (int)i, 4));
		row->shadows = strcmp(PQgetvalue(res, (int)i, 5), "t") == 0;
		if (row->data == NULL || row->timers == NULL) {
			out->n++;
			s = DB_HARD;
			break;
		}
	}
	PQclear(res);
	if (out->v == NULL)
		s = DB_HARD;
	if (s < 0)
		store_record_rows_clear(out);
	return s;
}

void store_record_rows_clear(struct store_record_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		free(rows->v[i].data);
		free(rows->v[i].timers);
	}
	free(rows->v);
	memset(rows, 0, sizeof *rows);
}

enum db_status store_record_timers(struct store *st, const char *id, json_t **out)
{
	const char *p[] = {id};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_timers, p, &res);
	if (s < 0)
		return s;
	if (s == DB_ONE)
		*out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	if (s == DB_ONE && *out == NULL)
		return DB_HARD;
	return s;
}

enum db_status store_record_timers_queue(struct store *st, const char *id, char **out)
{
	const char *p[] = {id};
	return store_queue_text(st, &stmt_timers, p, out);
}

/* Runs a statement returning one text column into an owned JSON array of strings. */
static enum db_status column_array(struct store *st, const struct store_stmt *stmt,
				   const char *const *p, json_t **out)
{
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, stmt, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		json_array_append_new(arr, json_string(PQgetvalue(res, i, 0)));
	PQclear(res);
	*out = arr;
	return arr != NULL ? s : DB_HARD;
}

enum db_status store_records_missing(struct store *st, json_t *ids, const char *kind,
				     json_t **missing)
{
	char *text = json_dumps(ids, JSON_COMPACT);
	if (text == NULL)
		return DB_HARD;
	const char *p[] = {text, kind};
	enum db_status s = column_array(st, &stmt_missing, p, missing);
	free(text);
	return s;
}

enum db_status store_links_set(struct store *st, const char *from, const char *rel, json_t *to)
{
	const char *p[] = {from, rel};
	enum db_status s = store_queue(st, &stmt_links_clear, p);
	if (s < 0 || json_array_size(to) == 0)
		return s;
	char *text = json_dumps(to, JSON_COMPACT);
	if (text == NULL)
		return DB_HARD;
	const char *q[] = {from, rel, text};
	s = store_queue(st, &stmt_links_add, q);
	free(text);
	return s;
}

/*
 * Past changes carried out (closed, failed or in review) since $1: the per-day buckets
 * of change_history (migration 0023, kept by triggers) for every whole UTC day from the
 * day after the one $1 falls in, plus the changes carried out in the rest of that first
 * day, read from records by carried_out_at (one day of changes, any service).  A change
 * counts from the moment it was carried out (records.carried_out_at, which later writes
 * do not move), weighing as many times as its services array names the service; it
 * failed when it closed as failed or an incident names it as caused_by.  Each key's
 * buckets are summed in a subquery of their own, so that PostgreSQL reads them along the
 * primary key whatever it guesses of the keys' number (a join read the whole table).  The
 * first day's bounds are written out in edge's WHERE, not read from t: as a join with t
 * they were no index condition, and PostgreSQL could read every carried-out change and
 * filter (13.7 ms against 1.3 ms with 11,000 of them; the create bench's slow runs).  The
 * sum is exactly what the per-change query over carried_out_at >= $1 gave, for any $1.
 */
#define HISTORY_CHANGES                                                                            \
	"WITH t AS (SELECT (to_timestamp($1::bigint / 1000.0) AT TIME ZONE 'UTC')::date + 1 AS "   \
	"day1),"                                                                                   \
	" keys AS (SELECT DISTINCT 'services' AS k, s AS key"                                      \
	"  FROM jsonb_array_elements_text($2::jsonb) s"                                            \
	"  UNION ALL SELECT 'templates', $3::text WHERE $3::text IS NOT NULL"                      \
	"  UNION ALL SELECT DISTINCT 'requester', m FROM jsonb_array_elements_text($5::jsonb) m"   \
	"   WHERE $4::text IS NOT NULL),"                                                          \
	" edge AS MATERIALIZED (SELECT r.id, r.services, r.data->>'template' AS template,"         \
	"  r.requester, r.data->>'result' = 'failed' AS result_failed FROM records r"              \
	"  WHERE r.carried_out_at >= to_timestamp($1::bigint / 1000.0)"                            \
	"  AND r.carried_out_at < (((to_timestamp($1::bigint / 1000.0) AT TIME ZONE 'UTC')::date"  \
	"   + 1)::timestamp AT TIME ZONE 'UTC')),"                                                 \
	" e AS (SELECT x.k, x.key, x.w, l.n, (x.result_failed OR l.n > 0) AS failed FROM"          \
	"  (SELECT 'services' AS k, u AS key, count(*) AS w, e.id, e.result_failed"                \
	"   FROM edge e, unnest(e.services) u WHERE u IN (SELECT key FROM keys"                    \
	"    WHERE k = 'services') GROUP BY e.id, e.result_failed, u"                              \
	"   UNION ALL SELECT 'templates', e.template, 1, e.id, e.result_failed FROM edge e"        \
	"    WHERE e.template = $3::text"                                                          \
	"   UNION ALL SELECT 'requester', e.requester, 1, e.id, e.result_failed FROM edge e"       \
	"    WHERE e.requester IN (SELECT key FROM keys WHERE k = 'requester')) x,"                \
	"  LATERAL (SELECT count(*) AS n FROM record_links l"                                      \
	"   WHERE l.to_id = x.id AND l.rel = 'caused_by') l),"                                     \
	" f AS (SELECT keys.k, keys.key, b.n, b.failed, b.incidents FROM keys,"                    \
	"  LATERAL (SELECT sum(h.n) AS n, sum(h.failed) AS failed,"                                \
	"   sum(h.incidents) AS incidents FROM change_history h WHERE h.kind = keys.k"             \
	"   AND h.key = keys.key AND h.day >= (SELECT day1 FROM t)) b WHERE b.n IS NOT NULL"       \
	"  UNION ALL SELECT k, key, w, CASE WHEN failed THEN w ELSE 0 END, w * n FROM e) "
#define COUNTS "sum(n), sum(failed), sum(incidents)"

/* The teams row comes whatever the matches (no GROUP BY), as it always has. */
static const struct store_stmt stmt_history = {
	"record_history",
	HISTORY_CHANGES
	"SELECT k, key, " COUNTS " FROM f WHERE k <> 'requester' GROUP BY k, key"
	" HAVING sum(n) > 0"
	" UNION ALL SELECT 'teams', $4::text, coalesce(sum(n), 0), coalesce(sum(failed), 0),"
	" coalesce(sum(incidents), 0) FROM f WHERE k = 'requester'",
	5};

/*
 * PostgreSQL takes longer to plan the history statement than to run it (0.47 ms to run
 * with 100,000 records, another 0.5-0.9 ms to plan), and with parameters it plans it
 * anew on every call: its generic plan, the same indexes, looks costlier to it than the
 * custom ones.  So a transaction asks for the generic plan (made once per connection)
 * around it, and puts the default back after it (pipelined with what follows).
 */
static const struct store_stmt stmt_plan_generic = {
	"plan_generic", "SET LOCAL plan_cache_mode = force_generic_plan", 0};
static const struct store_stmt stmt_plan_default = {"plan_default",
						    "SET LOCAL plan_cache_mode TO DEFAULT", 0};

enum db_status store_change_history(struct store *st, json_t *services, const char *template,
				    const char *team, json_t *team_members, long long since_ms,
				    json_t **out)
{
	char since[32];
	char *svc = services ? json_dumps(services, JSON_COMPACT) : strdup("[]");
	char *members = team_members ? json_dumps(team_members, JSON_COMPACT) : strdup("[]");
	*out = NULL;
	if (svc == NULL || members == NULL) {
		free(svc);
		free(members);
		return DB_HARD;
	}
	snprintf(since, sizeof since, "%lld", since_ms);
	const char *p[] = {since, svc, template, team, members};
	PGresult *res;
	bool generic = store_in_tx(st); /* SET LOCAL outside one would only warn */
	enum db_status s = generic ? store_queue(st, &stmt_plan_generic, NULL) : DB_NONE;
	if (s >= 0)
		s = store_exec(st, &stmt_history, p, &res);
	if (s >= 0 && generic && store_queue(st, &stmt_plan_default, NULL) < 0) {
		PQclear(res);
		s = DB_HARD;
	}
	free(svc);
	free(members);
	if (s < 0)
		return s;
	*out = store_history_answer(res);
	PQclear(res);
	return *out != NULL ? DB_ONE : DB_HARD;
}

json_t *store_history_answer(const PGresult *res)
{
	json_t *h = json_pack("{s:{}, s:{}, s:{}}", "services", "templates", "teams");
	for (int i = 0; h != NULL && i < PQntuples(res); i++) {
		json_t *counts = json_pack(
			"{s:I, s:I, s:I}", "changes", (json_int_t)atoll(PQgetvalue(res, i, 2)),
			"failures", (json_int_t)atoll(PQgetvalue(res, i, 3)), "incidents_caused",
			(json_int_t)atoll(PQgetvalue(res, i, 4)));
		if (counts == NULL || json_object_set_new(json_object_get(h, PQgetvalue(res, i, 0)),
							  PQgetvalue(res, i, 1), counts) != 0) {
			json_decref(h);
			h = NULL;
		}
	}
	return h;
}

/*
 * Every assessed change carried out (closed, failed or in review) in [$1, $2) ms (its
 * carried_out_at, kept by migration 0023: a later comment does not move it), oldest first: its
 * recorded risk score and level, whether it closed as failed and how many incidents name it as
 * caused_by.  Changes never assessed (no data.risk object) come apart as a count.
 */
static const struct store_stmt stmt_outcomes = {
	"record_outcomes",
	"SELECT r.id, (r.data->'risk'->>'score')::bigint, r.data->'risk'->>'level',"
	" (r.state = 'failed' OR coalesce(r.data->>'result' = 'failed', false)),"
	" (SELECT count(*) FROM record_links l WHERE l.to_id = r.id AND l.rel = 'caused_by'),"
	" jsonb_typeof(r.data->'risk') = 'object'"
	"  AND jsonb_typeof(r.data->'risk'->'score') = 'number'"
	" FROM records r WHERE r.carried_out_at >= to_timestamp($1::bigint / 1000.0)"
	" AND r.carried_out_at < to_timestamp($2::bigint / 1000.0)"
	" ORDER BY r.carried_out_at, r.id",
	2};

enum db_status store_change_outcomes(struct store *st, long long from_ms, long long to_ms,
				     json_t **out, long long *unassessed)
{
	char from[32], to[32];
	snprintf(from, sizeof from, "%lld", from_ms);
	snprintf(to, sizeof to, "%lld", to_ms);
	const char *p[] = {from, to};
	PGresult *res;
	*out = NULL;
	*unassessed = 0;
	enum db_status s = store_exec(st, &stmt_outcomes, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		if (strcmp(PQgetvalue(res, i, 5), "t") != 0) {
			(*unassessed)++;
			continue;
		}
		json_array_append_new(
			arr, json_pack("{s:s, s:I, s:s, s:b, s:I}", "id", PQgetvalue(res, i, 0),
				       "score", (json_int_t)atoll(PQgetvalue(res, i, 1)), "level",
				       PQgetvalue(res, i, 2), "failed",
				       strcmp(PQgetvalue(res, i, 3), "t") == 0, "incidents",
				       (json_int_t)atoll(PQgetvalue(res, i, 4))));
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}

static const struct store_stmt stmt_awaiting = {
	"records_awaiting_approval",
	"SELECT data::text, version FROM records WHERE kind = 'change'"
	" AND jsonb_typeof(data->'approvals') = 'object'"
	" AND (data->'approvals'->>'satisfied')::boolean IS NOT TRUE"
	" AND (data->'approvals'->>'rejected')::boolean IS NOT TRUE"
	" ORDER BY updated_at, id LIMIT 500",
	0};

enum db_status store_records_awaiting_approval(struct store *st, json_t **out)
{
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_awaiting, NULL, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		json_t *rec = json_loads(PQgetvalue(res, i, 0), 0, NULL);
		if (rec == NULL)
			continue;
		json_object_set_new(rec, "version", json_integer(atoi(PQgetvalue(res, i, 1))));
		json_array_append_new(arr, rec);
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? s : DB_HARD;
}

/*
 * Changes begun (data.started_at, else the booked schedule.start) in [$2, $3] ms on any of
 * the services of the JSON array $1, latest first, at most 500.  A change begun in the
 * window was updated at or after its start, so the (kind, updated_at) index bounds the
 * scan by time.
 */
static const struct store_stmt stmt_suspects = {
	"record_suspects",
	"SELECT id, title, services::text[]::text, state, result, review_outcome, level,"
	" (extract(epoch FROM started) * 1000)::bigint, type FROM ("
	"  SELECT r.id, r.data->>'title' AS title, r.services, r.state,"
	"   r.data->>'result' AS result, r.data->>'review_outcome' AS review_outcome,"
	"   r.data->'risk'->>'level' AS level, r.type,"
	"   coalesce(r.data->>'started_at', r.data->'schedule'->>'start')::timestamptz AS started"
	"  FROM records r WHERE r.kind = 'change'"
	"   AND r.updated_at >= to_timestamp($2::bigint / 1000.0)"
	"   AND r.services && ARRAY(SELECT jsonb_array_elements_text($1::jsonb))"
	"   AND r.state IN ('implementing', 'review', 'closed', 'failed')) c"
	" WHERE started >= to_timestamp($2::bigint / 1000.0)"
	"  AND started <= to_timestamp($3::bigint / 1000.0)"
	" ORDER BY started DESC, id LIMIT 500",
	3};

/* "{a,b}" (a text[] as text, names never quoted: ^[a-z0-9-]+$) as a JSON array. */
static json_t *pg_names(const char *s)
{
	json_t *arr = json_array();
	if (*s == '{')
		s++;
	while (arr != NULL && *s && *s != '}') {
		size_t n = strcspn(s, ",}");
		json_array_append_new(arr, json_stringn(s, n));
		s += n;
		if (*s == ',')
			s++;
	}
	return arr;
}

enum db_status store_change_suspects(struct store *st, json_t *services, long long from_ms,
				     long long to_ms, json_t **out)
{
	char from[32], to[32];
	char *names = json_dumps(services, JSON_COMPACT);
	snprintf(from, sizeof from, "%lld", from_ms);
	snprintf(to, sizeof to, "%lld", to_ms);
	const char *p[] = {names, from, to};
	PGresult *res;
	*out = NULL;
	if (names == NULL)
		return DB_HARD;
	enum db_status s = store_exec(st, &stmt_suspects, p, &res);
	free(names);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		json_t *row = json_pack(
			"{s:s, s:s?, s:o, s:s, s:s?, s:s?, s:s?, s:I, s:s?}", "id",
			PQgetvalue(res, i, 0), "title",
			PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1), "services",
			pg_names(PQgetvalue(res, i, 2)), "state", PQgetvalue(res, i, 3), "result",
			PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4), "review_outcome",
			PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5), "risk_level",
			PQgetisnull(res, i, 6) ? NULL : PQgetvalue(res, i, 6), "started_ms",
			(json_int_t)atoll(PQgetvalue(res, i, 7)), "type",
			PQgetisnull(res, i, 8) ? NULL : PQgetvalue(res, i, 8));
		if (row != NULL)
			json_array_append_new(arr, row);
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}

/* Incidents not resolved yet that name a service and a priority, oldest first. */
static const struct store_stmt stmt_open_incidents = {
	"records_open_incidents",
	"SELECT id, data->>'title', data->>'service', data->>'priority',"
	" (extract(epoch FROM created_at) * 1000)::bigint FROM records"
	" WHERE kind = 'incident' AND state NOT IN ('resolved', 'closed')"
	" AND data->>'service' IS NOT NULL AND data->>'priority' IS NOT NULL"
	" ORDER BY created_at, id LIMIT 1000",
	0};

enum db_status store_open_incidents(struct store *st, json_t **out)
{
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_open_incidents, NULL, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		json_array_append_new(
			arr,
			json_pack("{s:s, s:s?, s:s, s:s, s:I}", "id", PQgetvalue(res, i, 0),
				  "title", PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
				  "service", PQgetvalue(res, i, 2), "priority",
				  PQgetvalue(res, i, 3), "created_ms",
				  (json_int_t)atoll(PQgetvalue(res, i, 4))));
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}
