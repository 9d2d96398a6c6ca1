/*
 * dav.c -- SQL of the app_passwords, dav_collections and dav_objects tables.
 */
#include "store/dav.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "store/store_int.h"

#define RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const struct store_stmt stmt_pw_insert = {
	"dav_pw_insert",
	"INSERT INTO app_passwords (user_name, roles, label, salt, hash, token_id)"
	" VALUES ($1, string_to_array($2, ','), $3, $4, $5, nullif($6, '0')::bigint)"
	" RETURNING id",
	6};
static const struct store_stmt stmt_pw_candidates = {
	"dav_pw_candidates",
	"SELECT p.id, p.salt, p.hash, coalesce(u.email, ''), coalesce(u.display_name, ''),"
	"       array_to_string(p.roles, ',')"
	"  FROM app_passwords p JOIN users u ON u.name = p.user_name"
	" WHERE p.user_name = $1 AND p.revoked_at IS NULL AND u.state = 'active'"
	"   AND (p.token_id IS NULL OR EXISTS (SELECT 1 FROM api_tokens t"
	"        WHERE t.id = p.token_id AND t.revoked_at IS NULL))"
	" ORDER BY p.id DESC LIMIT 100",
	1};
static const struct store_stmt stmt_pw_list = {
	"dav_pw_list",
	"SELECT id, coalesce(label, ''), " RFC3339("created_at") ", coalesce(" RFC3339(
		"revoked_at") ", '')"
			      "  FROM app_passwords WHERE user_name = $1 ORDER BY id DESC",
	1};
static const struct store_stmt stmt_pw_revoke = {
	"dav_pw_revoke",
	"WITH r AS (UPDATE app_passwords SET revoked_at = now()"
	"  WHERE id = $1::bigint AND user_name = $2 AND revoked_at IS NULL RETURNING id)"
	" SELECT pg_notify('transom_events', '{\"type\":\"token.changed\"}') FROM r",
	2};

static const struct store_stmt stmt_coll_get = {
	"dav_coll_get",
	"SELECT digest, seq FROM dav_collections WHERE user_name = $1 AND calendar = $2"
	" FOR UPDATE",
	2};
static const struct store_stmt stmt_coll_new = {
	"dav_coll_new",
	"INSERT INTO dav_collections (user_name, calendar, digest, seq) VALUES ($1, $2, '', 0)"
	" ON CONFLICT DO NOTHING",
	2};
static const struct store_stmt stmt_objs = {
	"dav_objs",
	"SELECT name, etag, deleted FROM dav_objects WHERE user_name = $1 AND calendar = $2", 2};
static const struct store_stmt stmt_objs_put = {
	"dav_objs_put",
	"INSERT INTO dav_objects (user_name, calendar, name, etag, seq)"
	" SELECT $1, $2, n, e, nextval('dav_seq') FROM unnest($3::text[], $4::text[]) AS t(n, e)"
	" ON CONFLICT (user_name, calendar, name) DO UPDATE"
	" SET etag = EXCLUDED.etag, seq = EXCLUDED.seq, deleted = false",
	4};
static const struct store_stmt stmt_objs_del = {
	"dav_objs_del",
	"UPDATE dav_objects SET deleted = true, seq = nextval('dav_seq')"
	" WHERE user_name = $1 AND calendar = $2 AND name = ANY($3::text[])",
	3};
static const struct store_stmt stmt_coll_set = {
	"dav_coll_set",
	"UPDATE dav_collections SET digest = $3, seq = coalesce((SELECT max(seq) FROM dav_objects"
	"  WHERE user_name = $1 AND calendar = $2), 0)"
	" WHERE user_name = $1 AND calendar = $2 RETURNING seq",
	3};
static const struct store_stmt stmt_changes = {
	"dav_changes",
	"SELECT name, deleted FROM dav_objects"
	" WHERE user_name = $1 AND calendar = $2 AND seq > $3::bigint ORDER BY seq",
	3};

/* ---- app passwords ---------------------------------------------------------------------- */

enum db_status store_app_password_create(struct store *st, const char *user, unsigned roles,
					 long long token_id, const char *label, const char *salt,
					 const char *hash, long long *id)
{
	char rl[128], tid[32];
	roles_format(roles, rl, sizeof rl);
	snprintf(tid, sizeof tid, "%lld", token_id);
	const char *params[] = {user, rl, label, salt, hash, tid};
	PGresult *res;
	*id = 0;
	enum db_status s = store_exec(st, &stmt_pw_insert, params, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	*id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_ONE;
}

enum db_status store_app_password_find(struct store *st, const char *user,
				       store_app_password_check_fn check, void *cls,
				       struct store_user *out)
{
	const char *params[] = {user};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_pw_candidates, params, &res);
	if (s < 0)
		return s;
	s = DB_NONE;
	for (int i = 0; i < PQntuples(res) && s == DB_NONE; i++) {
		if (!check(cls, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2)))
			continue;
		char bad[64];
		memset(out, 0, sizeof *out);
		out->token_id = atoll(PQgetvalue(res, i, 0));
		snprintf(out->name, sizeof out->name, "%s", user);
		snprintf(out->email, sizeof out->email, "%s", PQgetvalue(res, i, 3));
		snprintf(out->display_name, sizeof out->display_name, "%s", PQgetvalue(res, i, 4));
		if (roles_parse(PQgetvalue(res, i, 5), &out->roles, bad, sizeof bad) != 0)
			out->roles = 0;
		s = DB_ONE;
	}
	PQclear(res);
	return s;
}

enum db_status store_app_passwords_list(struct store *st, const char *user, json_t **out)
{
	const char *params[] = {user};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_pw_list, params, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		const char *label = PQgetvalue(res, i, 1), *revoked = PQgetvalue(res, i, 3);
		json_t *row = json_pack("{s:I, s:o, s:s, s:o}", "id",
					(json_int_t)atoll(PQgetvalue(res, i, 0)), "label",
					*label ? json_string(label) : json_null(), "created_at",
					PQgetvalue(res, i, 2), "revoked_at",
					*revoked ? json_string(revoked) : json_null());
		if (row == NULL || json_array_append_new(arr, row) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? s : DB_HARD;
}

enum db_status store_app_password_revoke(struct store *st, long long id, const char *user)
{
	char idbuf[32];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[] = {idbuf, user};
	return store_exec(st, &stmt_pw_revoke, params, NULL);
}

/* ---- the change log ----------------------------------------------------------------------- */

/* A growing PostgreSQL array literal of text elements: {"a","b"}. */
struct arr {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void arr_add(struct arr *a, const char *s)
{
	size_t need = a->len + 2 * strlen(s) + 5;
	if (a->oom)
		return;
	if (need > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		while (cap < need)
			cap *= 2;
		char *nb = realloc(a->buf, cap);
		if (nb == NULL) {
			a->oom = true;
			return;
		}
		a->buf = nb;
		a->cap = cap;
	}
	char sep = a->len == 0 ? '{' : ',';
	a->buf[a->len++] = sep;
	a->buf[a->len++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			a->buf[a->len++] = '\\';
		a->buf[a->len++] = *s;
	}
	a->buf[a->len++] = '"';
	a->buf[a->len] = '\0';
}

/* Closes `a` ("{}" when empty); NULL when out of memory. */
static const char *arr_end(struct arr *a)
{
	if (a->len == 0)
		return "{}";
	if (a->oom || a->len + 2 > a->cap) /* arr_add always leaves 3 spare bytes */
		return NULL;
	a->buf[a->len++] = '}';
	a->buf[a->len] = '\0';
	return a->buf;
}

struct sync_args {
	const char *user, *calendar, *digest;
	const struct store_dav_obj *objs;
	size_t n;
	long long token;
};

static int obj_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_dav_obj *)a)->name,
		      ((const struct store_dav_obj *)b)->name);
}

/* An object as recorded. */
struct row {
	const char *name, *etag;
	bool deleted;
};

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->name, ((const struct row *)b)->name);
}

static enum db_status sync_tx(struct store *st, void *cls)
{
	struct sync_args *a = cls;
	const char *p2[] = {a->user, a->calendar};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_coll_get, p2, &res);
	if (s == DB_NONE) {
		PQclear(res);
		if ((s = store_exec(st, &stmt_coll_new, p2, NULL)) < 0)
			return s;
		s = store_exec(st, &stmt_coll_get, p2, &res);
	}
	if (s < 0)
		return s;
	if (s != DB_ONE) {
		PQclear(res);
		return DB_HARD;
	}
	bool same = strcmp(PQgetvalue(res, 0, 0), a->digest) == 0;
	a->token = atoll(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (same)
		return DB_ONE;

	/* The objects as recorded, sorted by name, against the objects now (sorted too). */
	if ((s = store_exec(st, &stmt_objs, p2, &res)) < 0)
		return s;
	int rows = PQntuples(res);
	struct store_dav_obj *cur = calloc(a->n + 1, sizeof *cur);
	struct arr put_n = {0}, put_e = {0}, del = {0};
	if (cur == NULL) {
		PQclear(res);
		return DB_HARD;
	}
	memcpy(cur, a->objs, a->n * sizeof *cur);
	qsort(cur, a->n, sizeof *cur, obj_cmp);
	/* Index the recorded rows by name in a sorted copy. */
	struct row *rec = calloc((size_t)rows + 1, sizeof *rec);
	if (rec == NULL) {
		free(cur);
		PQclear(res);
		return DB_HARD;
	}
	for (int r = 0; r < rows; r++)
		rec[r] = (struct row){PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
				      PQgetvalue(res, r, 2)[0] == 't'};
	qsort(rec, (size_t)rows, sizeof *rec, row_cmp);
	size_t i = 0, r = 0;
	while (i < a->n || r < (size_t)rows) {
		int c = i >= a->n ? 1 : r >= (size_t)rows ? -1 : strcmp(cur[i].name, rec[r].name);
		if (c < 0) { /* new */
			arr_add(&put_n, cur[i].name);
			arr_add(&put_e, cur[i].etag);
			i++;
		} else if (c > 0) { /* gone */
			if (!rec[r].deleted)
				arr_add(&del, rec[r].name);
			r++;
		} else {
			if (rec[r].deleted || strcmp(cur[i].etag, rec[r].etag) != 0) {
				arr_add(&put_n, cur[i].name);
				arr_add(&put_e, cur[i].etag);
			}
			i++;
			r++;
		}
	}
	const char *pn = arr_end(&put_n), *pe = arr_end(&put_e), *pd = arr_end(&del);
	s = pn && pe && pd ? DB_NONE : DB_HARD;
	if (s >= 0 && put_n.len > 0) {
		const char *p[] = {a->user, a->calendar, pn, pe};
		s = store_exec(st, &stmt_objs_put, p, NULL);
	}
	if (s >= 0 && del.len > 0) {
		const char *p[] = {a->user, a->calendar, pd};
		s = store_exec(st, &stmt_objs_del, p, NULL);
	}
	free(put_n.buf);
	free(put_e.buf);
	free(del.buf);
	free(rec);
	free(cur);
	PQclear(res);
	if (s < 0)
		return s;
	const char *p3[] = {a->user, a->calendar, a->digest};
	if ((s = store_exec(st, &stmt_coll_set, p3, &res)) < 0)
		return s;
	if (s == DB_ONE)
		a->token = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return s == DB_ONE ? DB_ONE : DB_HARD;
}

enum db_status store_dav_sync(struct store *st, const char *user, const char *calendar,
			      const char *digest, const struct store_dav_obj *objs, size_t n,
			      long long *token)
{
	struct sync_args a = {user, calendar, digest, objs, n, 0};
	enum db_status s = store_tx(st, STORE_READ_COMMITTED, 3, sync_tx, &a);
	*token = a.token;
	return s;
}

enum db_status store_dav_changes(struct store *st, const char *user, const char *calendar,
				 long long since, json_t **out)
{
	char sb[32];
	snprintf(sb, sizeof sb, "%lld", since);
	const char *params[] = {user, calendar, sb};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_changes, params, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		if (json_array_append_new(arr, json_pack("{s:s, s:b}", "name",
							 PQgetvalue(res, i, 0), "deleted",
							 PQgetvalue(res, i, 1)[0] == 't')) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}
