/*
 * bookings.c -- SQL of the bookings and feed_tokens tables (bookings.h).
 */
#include "store/bookings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/store_int.h"

static const struct store_stmt stmt_lock = {"schedule_lock",
					    "SELECT pg_advisory_xact_lock(7526466366535166309)", 0};

/* clang-format off */
/*
 * The range is one expression of the parameters (unbounded for 0, 0), so that the gist
 * index on during serves it in a generic plan too ("$1 = 0 OR during && ..." made every
 * plan after the fifth scan every booking).  The bookings are grouped first, then each
 * group reads its change by primary key (OFFSET 0 keeps that lookup a nested loop):
 * joining first carried every change's data through the sort and grouping, and the hash
 * join read every record.
 */
#define LIST_RANGE \
	"during && CASE WHEN $1::bigint = 0 THEN tstzrange(NULL, NULL)" \
	" ELSE tstzrange(" TS("$1") ", " TS("$2") ") END"
#define LIST_COLUMNS \
	"SELECT b.change_id, b.services, " MS("lower(b.during)") ", " MS("upper(b.during)") "," \
	" b.window_uid, " MS("b.window_start") ", " MS("b.window_end") "," \
	" r.state, r.title, r.type, r.sequence, " MS("r.updated_at")
#define LIST_GROUP \
	" json_agg(service ORDER BY service)::text AS services," \
	" min(window_uid) AS window_uid, min(window_start) AS window_start," \
	" min(window_end) AS window_end"
#define LIST_RECORD \
	" CROSS JOIN LATERAL (SELECT state, data->>'title' AS title, type," \
	"   coalesce((data->'schedule'->>'sequence')::int, 0) AS sequence, updated_at, xmin" \
	"  FROM records WHERE id = b.change_id OFFSET 0) r" \
	" ORDER BY lower(b.during), b.change_id"
/*
 * A booking's fingerprint for the feed cache (app/feed_cache.c): the transaction ids that
 * wrote its rows (in service order) and its change's record.  Every write of a row gives
 * it the writer's id, so two reads that find the same fingerprint found the same rows.
 */
#define LIST_MARK "string_agg(xmin::text, ',' ORDER BY service) AS xmins"
#define MARK_OF   "r.xmin::text || '/' || b.xmins"

static const struct store_stmt stmt_list = {
	"bookings_list",
	LIST_COLUMNS
	" FROM (SELECT change_id, during," LIST_GROUP
	"  FROM bookings WHERE " LIST_RANGE
	"  AND ($3::jsonb IS NULL OR change_id IN (SELECT change_id FROM bookings"
	"   WHERE service IN (SELECT jsonb_array_elements_text($3::jsonb))))"
	"  GROUP BY change_id, during) b"
	LIST_RECORD,
	3};

/* stmt_list without a service, each booking with its fingerprint: what the cache keeps. */
static const struct store_stmt stmt_feed_all = {
	"bookings_feed_all",
	LIST_COLUMNS ", " MARK_OF
	" FROM (SELECT change_id, during," LIST_GROUP ", " LIST_MARK
	"  FROM bookings WHERE " LIST_RANGE
	"  GROUP BY change_id, during) b"
	LIST_RECORD,
	2};

/* The same of some changes only ($3, a JSON array of ids), read by their key. */
static const struct store_stmt stmt_feed_of = {
	"bookings_feed_of",
	LIST_COLUMNS ", " MARK_OF
	" FROM (SELECT change_id, during," LIST_GROUP ", " LIST_MARK
	"  FROM bookings WHERE " LIST_RANGE
	"  AND change_id IN (SELECT jsonb_array_elements_text($3::jsonb))"
	"  GROUP BY change_id, during) b"
	LIST_RECORD,
	3};

/*
 * Only the bookings' keys and the parts of their fingerprints, a row per service (no
 * change's data read, no grouping: store_booking_marks groups them, in this order).  A
 * plain join, so that PostgreSQL may hash the records rather than look each booking's up
 * (5,000 bookings: 9-11 ms instead of 16-27 ms, the most of a feed read after a booking).
 */
static const struct store_stmt stmt_marks = {
	"bookings_marks",
	"SELECT b.change_id, " MS("lower(b.during)") ", " MS("upper(b.during)") ","
	" b.xmin::text, r.xmin::text"
	" FROM bookings b JOIN records r ON r.id = b.change_id"
	" WHERE b." LIST_RANGE
	" ORDER BY lower(b.during), b.change_id, upper(b.during), b.service",
	2};
/* clang-format on */

static const struct store_stmt stmt_feed_version = {
	"feed_version", "SELECT s.version, f.version FROM schedule_version s, feed_version f", 0};

static const struct store_stmt stmt_drop = {"booking_drop",
					    "DELETE FROM bookings WHERE change_id = $1", 1};

static const struct store_stmt stmt_insert = {
	"booking_insert",
	"INSERT INTO bookings (change_id, service, during, window_uid, window_start, window_end)"
	" SELECT $1, s, tstzrange(" TS("$3") ", " TS(
		"$4") ", '[)'), $5,"
		      " " TS("$6") ", " TS("$7") " FROM jsonb_array_elements_text($2::jsonb) s",
	7};

static const struct store_stmt stmt_version = {"schedule_version",
					       "SELECT version FROM schedule_version", 0};

static const struct store_stmt stmt_next_end = {
	"bookings_next_end",
	"SELECT coalesce(" MS("min(upper(during))") ", 0) FROM bookings"
						    " WHERE upper(during) > " TS("$1"),
	1};

/*
 * Only what placing them reads, as text (a string field only when it is a string): no
 * jsonb built, no whole schedule parsed.
 */
static const struct store_stmt stmt_candidates = {
	"schedule_candidates",
	"SELECT id, workflow, state,"
	" CASE WHEN jsonb_typeof(data->'schedule'->'status') = 'string' THEN "
	"data->'schedule'->'status' #>> '{}' END,"
	" CASE WHEN jsonb_typeof(data->'schedule'->'start') = 'string' THEN "
	"data->'schedule'->'start' #>> '{}' END,"
	" CASE WHEN jsonb_typeof(data->'schedule'->'end') = 'string' THEN data->'schedule'->'end' "
	"#>> '{}' END,"
	" CASE WHEN jsonb_typeof(data->'schedule'->'soft_freeze') = 'string' THEN "
	"data->'schedule'->'soft_freeze' #>> '{}' END,"
	" coalesce(data->'schedule'->'respect_window' = 'false'::jsonb, false),"
	" (data->'services')::text,"
	" CASE WHEN jsonb_typeof(data->'duration') = 'string' THEN data->'duration' #>> '{}' END,"
	" CASE WHEN jsonb_typeof(data->'not_before') = 'string' THEN data->'not_before' #>> '{}' "
	"END,"
	" CASE WHEN jsonb_typeof(data->'not_after') = 'string' THEN data->'not_after' #>> '{}' END,"
	" CASE WHEN jsonb_typeof(data->'environment') = 'string' THEN data->'environment' #>> '{}' "
	"END,"
	" coalesce(jsonb_typeof(data->'approvals') = 'object' AND data->'approvals' ? "
	"'break_glass', false)"
	" FROM records WHERE kind = 'change' AND data ? 'schedule'"
	" AND state = data->'schedule'->>'state'"
	" ORDER BY data->'schedule'->>'approved_at', id",
	0};

/* store_bookings_list without what only the views show: what a planner reads. */
static const struct store_stmt stmt_placed = {
	"bookings_placed",
	"SELECT change_id, json_agg(service ORDER BY service)::text,"
	" (extract(epoch FROM lower(during)) * 1000)::bigint,"
	" (extract(epoch FROM upper(during)) * 1000)::bigint, min(window_uid)"
	" FROM bookings WHERE during && tstzrange(to_timestamp($1::bigint / 1000.0),"
	" to_timestamp($2::bigint / 1000.0))"
	" GROUP BY change_id, during ORDER BY lower(during), change_id",
	2};

enum db_status store_schedule_lock(struct store *st)
{
	return store_exec(st, &stmt_lock, NULL, NULL);
}

void store_booking_rows_clear(struct store_booking_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		free(rows->v[i].services);
		free(rows->v[i].window_uid);
		free(rows->v[i].title);
		free(rows->v[i].type);
		free(rows->v[i].fp);
	}
	free(rows->v);
	memset(rows, 0, sizeof *rows);
}

/* strdup of row i's column `col`, NULL for SQL NULL; sets *bad when out of memory. */
static char *dup_or_null(PGresult *res, int i, int col, bool *bad)
{
	if (PQgetisnull(res, i, col))
		return NULL;
	char *s = strdup(PQgetvalue(res, i, col));
	*bad = *bad || s == NULL;
	return s;
}

/* The rows of `res` (stmt_list's columns, then the fingerprint when `marks`) into `out`. */
static enum db_status rows_of(PGresult *res, bool marks, struct store_booking_rows *out)
{
	int n = PQntuples(res);
	bool bad = false;
	memset(out, 0, sizeof *out);
	out->v = calloc(n > 0 ? (size_t)n : 1, sizeof *out->v);
	for (int i = 0; out->v != NULL && !bad && i < n; i++, out->n++) {
		struct store_booking_row *b = &out->v[i];
		snprintf(b->change, sizeof b->change, "%s", PQgetvalue(res, i, 0));
		b->services = dup_or_null(res, i, 1, &bad);
		b->start_ms = atoll(PQgetvalue(res, i, 2));
		b->end_ms = atoll(PQgetvalue(res, i, 3));
		b->window_uid = dup_or_null(res, i, 4, &bad);
		b->window_start_ms = atoll(PQgetvalue(res, i, 5));
		b->window_end_ms = atoll(PQgetvalue(res, i, 6));
		snprintf(b->state, sizeof b->state, "%s", PQgetvalue(res, i, 7));
		b->title = strdup(PQgetvalue(res, i, 8));
		b->type = dup_or_null(res, i, 9, &bad);
		b->sequence = atoi(PQgetvalue(res, i, 10));
		b->updated_ms = atoll(PQgetvalue(res, i, 11));
		if (marks)
			b->fp = dup_or_null(res, i, 12, &bad);
		bad = bad || b->services == NULL || b->title == NULL || (marks && b->fp == NULL);
	}
	PQclear(res);
	if (out->v == NULL || bad) {
		store_booking_rows_clear(out);
		return DB_HARD;
	}
	return DB_ONE;
}

enum db_status store_booking_rows(struct store *st, long long from_ms, long long to_ms,
				  const char *service, struct store_booking_rows *out)
{
	char from[32], to[32];
	snprintf(from, sizeof from, "%lld", from_ms);
	snprintf(to, sizeof to, "%lld", to_ms);
	json_t *one = service ? json_pack("[s]", service) : NULL;
	char *svc = one ? json_dumps(one, JSON_COMPACT) : NULL;
	json_decref(one);
	memset(out, 0, sizeof *out);
	if (service != NULL && svc == NULL)
		return DB_HARD;
	const char *p[] = {from, to, svc};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_list, p, &res);
	free(svc);
	return s < 0 ? s : rows_of(res, false, out);
}

json_t *store_booking_rows_json(const struct store_booking_rows *rows, size_t first, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = first; arr != NULL && i < first + n && i < rows->n; i++) {
		const struct store_booking_row *b = &rows->v[i];
		char st_[TIME_RFC3339_LEN], en[TIME_RFC3339_LEN];
		time_format_ms(b->start_ms, st_);
		time_format_ms(b->end_ms, en);
		json_t *o = json_pack(
			"{s:s, s:o, s:I, s:I, s:s, s:s, s:s?, s:I, s:I, s:s, s:s, s:s?, s:i}",
			"change", b->change, "services",
			json_loads(b->services, 0, NULL) ?: json_array(), "start_ms",
			(json_int_t)b->start_ms, "end_ms", (json_int_t)b->end_ms, "start", st_,
			"end", en, "window_uid", b->window_uid, "window_start_ms",
			(json_int_t)b->window_start_ms, "window_end_ms",
			(json_int_t)b->window_end_ms, "state", b->state, "title", b->title, "type",
			b->type, "sequence", b->sequence);
		json_object_set_new(o, "updated_ms", json_integer(b->updated_ms));
		if (b->fp != NULL)
			json_object_set_new(o, "fp", json_string(b->fp));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* The rows a read `s` left in `rows` as JSON into *out (rows cleared); its error else. */
static enum db_status rows_as_json(enum db_status s, struct store_booking_rows *rows, json_t **out)
{
	*out = NULL;
	if (s < 0)
		return s;
	*out = store_booking_rows_json(rows, 0, rows->n);
	store_booking_rows_clear(rows);
	return *out != NULL ? DB_ONE : DB_HARD;
}

enum db_status store_bookings_list(struct store *st, long long from_ms, long long to_ms,
				   const char *service, json_t **out)
{
	struct store_booking_rows rows;
	return rows_as_json(store_booking_rows(st, from_ms, to_ms, service, &rows), &rows, out);
}

enum db_status store_feed_rows(struct store *st, long long from_ms, long long to_ms,
			       const json_t *changes, struct store_booking_rows *out)
{
	char from[32], to[32];
	char *ids = changes != NULL ? json_dumps(changes, JSON_COMPACT) : NULL;
	snprintf(from, sizeof from, "%lld", from_ms);
	snprintf(to, sizeof to, "%lld", to_ms);
	memset(out, 0, sizeof *out);
	if (changes != NULL && ids == NULL)
		return DB_HARD;
	const char *p[] = {from, to, ids};
	PGresult *res;
	enum db_status s =
		store_exec(st, changes != NULL ? &stmt_feed_of : &stmt_feed_all, p, &res);
	free(ids);
	return s < 0 ? s : rows_of(res, true, out);
}

enum db_status store_feed_bookings(struct store *st, long long from_ms, long long to_ms,
				   const json_t *changes, json_t **out)
{
	struct store_booking_rows rows;
	return rows_as_json(store_feed_rows(st, from_ms, to_ms, changes, &rows), &rows, out);
}

void store_booking_marks_clear(struct store_booking_marks *m)
{
	free(m->v);
	free(m->text);
	memset(m, 0, sizeof *m);
}

enum db_status store_booking_marks(struct store *st, long long from_ms, long long to_ms,
				   struct store_booking_marks *out)
{
	char from[32], to[32];
	snprintf(from, sizeof from, "%lld", from_ms);
	snprintf(to, sizeof to, "%lld", to_ms);
	const char *p[] = {from, to};
	PGresult *res;
	memset(out, 0, sizeof *out);
	enum db_status s = store_exec(st, &stmt_marks, p, &res);
	if (s < 0)
		return s;
	/* One allocation for every string: ids and fingerprints, NUL-terminated. */
	int rows = PQntuples(res);
	size_t bytes = 0;
	for (int i = 0; i < rows; i++)
		bytes += (size_t)PQgetlength(res, i, 0) + PQgetlength(res, i, 3) +
			 PQgetlength(res, i, 4) + 3;
	out->v = calloc((size_t)rows + 1, sizeof *out->v);
	out->text = malloc(bytes + 1);
	if (out->v == NULL || out->text == NULL) {
		PQclear(res);
		store_booking_marks_clear(out);
		return DB_HARD;
	}
	/* A booking is its rows of one change over one span (consecutive here): its
	 * fingerprint is stmt_feed_all's, "<record xmin>/<row xmin>,<row xmin>...". */
	char *w = out->text;
	for (int i = 0; i < rows; i++) {
		const char *change = PQgetvalue(res, i, 0);
		long long start = atoll(PQgetvalue(res, i, 1)), end = atoll(PQgetvalue(res, i, 2));
		struct store_booking_mark *m = out->n > 0 ? &out->v[out->n - 1] : NULL;
		if (m != NULL && m->start_ms == start && m->end_ms == end &&
		    strcmp(m->change, change) == 0) {
			w += sprintf(w - 1, ",%s", PQgetvalue(res, i, 3)); /* over its NUL */
			continue;
		}
		m = &out->v[out->n++];
		m->start_ms = start;
		m->end_ms = end;
		m->change = w;
		w += sprintf(w, "%s", change) + 1;
		m->fp = w;
		w += sprintf(w, "%s/%s", PQgetvalue(res, i, 4), PQgetvalue(res, i, 3)) + 1;
	}
	PQclear(res);
	return DB_ONE;
}

enum db_status store_booking_set(struct store *st, const char *change, json_t *services,
				 long long start_ms, long long end_ms, const char *window_uid,
				 long long window_start_ms, long long window_end_ms)
{
	char s1[32], s2[32], s3[32], s4[32];
	char *svc = json_dumps(services, JSON_COMPACT);
	if (svc == NULL)
		return DB_HARD;
	snprintf(s1, sizeof s1, "%lld", start_ms);
	snprintf(s2, sizeof s2, "%lld", end_ms);
	snprintf(s3, sizeof s3, "%lld", window_start_ms);
	snprintf(s4, sizeof s4, "%lld", window_end_ms);
	const char *p[] = {
		change, svc, s1, s2, window_uid, window_uid ? s3 : NULL, window_uid ? s4 : NULL};
	enum db_status s = store_queue(st, &stmt_drop, p);
	if (s >= 0)
		s = store_queue(st, &stmt_insert, p);
	free(svc);
	return s;
}

enum db_status store_booking_drop(struct store *st, const char *change)
{
	const char *p[] = {change};
	return store_queue(st, &stmt_drop, p);
}

enum db_status store_feed_version(struct store *st, long long *bookings, long long *records)
{
	PGresult *res;
	*bookings = *records = 0;
	enum db_status s = store_exec(st, &stmt_feed_version, NULL, &res);
	if (s < 0)
		return s;
	if (s == DB_ONE) {
		*bookings = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*records = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	return s == DB_ONE ? DB_ONE : DB_HARD;
}

/* The version, and whether this transaction wrote it (xmin is the writer's xid). */
static const struct store_stmt stmt_version_mine = {
	"schedule_version_mine",
	"SELECT version, coalesce(xmin::text::bigint = txid_current_if_assigned() % 4294967296,"
	" false) FROM schedule_version",
	0};

enum db_status store_schedule_version_mine(struct store *st, long long *version, bool *mine)
{
	PGresult *res;
	*version = 0;
	*mine = true; /* when unknown, as if: nothing is shared on it */
	enum db_status s = store_exec(st, &stmt_version_mine, NULL, &res);
	if (s == DB_ONE) {
		*version = atoll(PQgetvalue(res, 0, 0));
		*mine = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	}
	if (s >= 0)
		PQclear(res);
	return s;
}

enum db_status store_schedule_version(struct store *st, long long *version)
{
	PGresult *res;
	*version = 0;
	enum db_status s = store_exec(st, &stmt_version, NULL, &res);
	if (s == DB_ONE)
		*version = atoll(PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	return s;
}

enum db_status store_bookings_next_end(struct store *st, long long after_ms, long long *end_ms)
{
	char after[32];
	snprintf(after, sizeof after, "%lld", after_ms);
	const char *p[] = {after};
	PGresult *res;
	*end_ms = 0;
	enum db_status s = store_exec(st, &stmt_next_end, p, &res);
	if (s == DB_ONE)
		*end_ms = atoll(PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	return s;
}

/* Sets `key` of `o` to the text of column `col` of row `i` unless it is NULL. */
static void set_text(json_t *o, const char *key, PGresult *res, int i, int col)
{
	if (!PQgetisnull(res, i, col))
		json_object_set_new(o, key, json_string(PQgetvalue(res, i, col)));
}

enum db_status store_schedule_candidates(struct store *st, json_t **out)
{
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_candidates, NULL, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		json_t *sched = json_object(), *data = json_object();
		set_text(sched, "status", res, i, 3);
		set_text(sched, "start", res, i, 4);
		set_text(sched, "end", res, i, 5);
		set_text(sched, "soft_freeze", res, i, 6);
		if (strcmp(PQgetvalue(res, i, 7), "t") == 0)
			json_object_set_new(sched, "respect_window", json_false());
		json_object_set_new(data, "schedule", sched);
		if (!PQgetisnull(res, i, 8))
			json_object_set_new(data, "services",
					    json_loads(PQgetvalue(res, i, 8), JSON_DECODE_ANY, NULL)
						    ?: json_null());
		set_text(data, "duration", res, i, 9);
		set_text(data, "not_before", res, i, 10);
		set_text(data, "not_after", res, i, 11);
		set_text(data, "environment", res, i, 12);
		if (strcmp(PQgetvalue(res, i, 13), "t") == 0)
			json_object_set_new(data, "approvals",
					    json_pack("{s:b}", "break_glass", 1));
		json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "id", PQgetvalue(res, i, 0),
				      "workflow", PQgetvalue(res, i, 1), "state",
				      PQgetvalue(res, i, 2), "data", data);
		if (o == NULL || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}

enum db_status store_bookings_placed(struct store *st, long long from_ms, long long to_ms,
				     json_t **out)
{
	char from[32], to[32];
	snprintf(from, sizeof from, "%lld", from_ms);
	snprintf(to, sizeof to, "%lld", to_ms);
	const char *p[] = {from, to};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_placed, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		json_t *o = json_pack(
			"{s:s, s:o, s:I, s:I, s:s?}", "change", PQgetvalue(res, i, 0), "services",
			json_loads(PQgetvalue(res, i, 1), 0, NULL) ?: json_array(), "start_ms",
			(json_int_t)atoll(PQgetvalue(res, i, 2)), "end_ms",
			(json_int_t)atoll(PQgetvalue(res, i, 3)), "window_uid",
			PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4));
		if (o == NULL || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}

/* ---- feed tokens ------------------------------------------------------------------------ */

static const struct store_stmt stmt_feed_insert = {
	"feed_token_insert",
	"INSERT INTO feed_tokens (user_name, token_hash, label, token_id)"
	" VALUES ($1, $2, $3, nullif($4, '0')::bigint) RETURNING id",
	4};
static const struct store_stmt stmt_feed_user = {
	"feed_token_user",
	"SELECT f.user_name FROM feed_tokens f JOIN users u ON u.name = f.user_name"
	" WHERE f.token_hash = $1 AND f.revoked_at IS NULL AND u.state = 'active'"
	"   AND (f.token_id IS NULL OR EXISTS (SELECT 1 FROM api_tokens t"
	"        WHERE t.id = f.token_id AND t.revoked_at IS NULL))",
	1};
static const struct store_stmt stmt_feed_revoke = {
	"feed_token_revoke",
	"UPDATE feed_tokens SET revoked_at = now() WHERE id = $1::bigint"
	" AND ($2::text IS NULL OR user_name = $2) AND revoked_at IS NULL",
	2};
static const struct store_stmt stmt_feed_list = {
	"feed_tokens_list",
	"SELECT id, user_name, coalesce(label, ''), to_char(created_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM feed_tokens"
	" WHERE revoked_at IS NULL AND ($1::text IS NULL OR user_name = $1) ORDER BY id",
	1};

enum db_status store_feed_token_insert(struct store *st, const char *user, const char *hash_hex,
				       const char *label, long long token_id, long long *id)
{
	char tid[32];
	snprintf(tid, sizeof tid, "%lld", token_id);
	const char *p[] = {user, hash_hex, label, tid};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_feed_insert, p, &res);
	if (s == DB_ONE)
		*id = atoll(PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	return s;
}

enum db_status store_feed_token_user(struct store *st, const char *hash_hex, char user[129])
{
	const char *p[] = {hash_hex};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_feed_user, p, &res);
	if (s == DB_ONE)
		snprintf(user, 129, "%s", PQgetvalue(res, 0, 0));
	if (s >= 0)
		PQclear(res);
	return s;
}

enum db_status store_feed_token_revoke(struct store *st, long long id, const char *user)
{
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", id);
	const char *p[] = {ids, user};
	return store_exec(st, &stmt_feed_revoke, p, NULL);
}

enum db_status store_feed_tokens_list(struct store *st, const char *user, json_t **out)
{
	const char *p[] = {user};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_feed_list, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s}", "id",
						     (json_int_t)atoll(PQgetvalue(res, i, 0)),
						     "user", PQgetvalue(res, i, 1), "label",
						     PQgetvalue(res, i, 2), "created_at",
						     PQgetvalue(res, i, 3)));
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}
