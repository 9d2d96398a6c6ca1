/*
 * dav.c -- SQL of the app_passwords, dav_collections and dav_objects tables.
 */
#include "store/dav.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "core/hash.h"
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

/*
 * A listing recorded by a sync, by its digest (any collection, any user): the next sync
 * of a collection whose recorded digest is this one compares the new listing with it
 * instead of reading the recorded objects back.  That is exact: only a sync writes
 * dav_objects, in the transaction that records the digest of the listing it wrote, so a
 * collection's digest names its objects not deleted.  (Tombstones need not be known: a
 * name the memo lacks is put, which revives one.)  The process keeps the last MEMO_KEEP
 * listings (every member's schedule collection records the same ones), immutable once
 * made; `refs` (memo_lock) counts the list's reference and the syncs reading it.
 */
#define MEMO_KEEP 2

struct store_dav_memo {
	char *digest;
	size_t n;
	const char **name, **etag; /* into `text` */
	char *text;
	size_t *slot; /* open addressing by name: index + 1, 0 empty; size a power of two */
	size_t size;
	unsigned refs;
};

static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store_dav_memo *memos[MEMO_KEEP]; /* the most recent first (memo_lock) */

static void memo_free(struct store_dav_memo *m)
{
	if (m == NULL)
		return;
	free(m->digest);
	free(m->name);
	free(m->etag);
	free(m->text);
	free(m->slot);
	free(m);
}

/* Drops a reference (memo_lock held). */
static void memo_unref_locked(struct store_dav_memo *m)
{
	if (m != NULL && --m->refs == 0)
		memo_free(m);
}

/* The listing recorded with `digest` (a reference: memo_release it), or NULL. */
static struct store_dav_memo *memo_take(const char *digest)
{
	struct store_dav_memo *m = NULL;
	pthread_mutex_lock(&memo_lock);
	for (size_t i = 0; i < MEMO_KEEP && m == NULL; i++)
		if (memos[i] != NULL && strcmp(memos[i]->digest, digest) == 0)
			(m = memos[i])->refs++;
	pthread_mutex_unlock(&memo_lock);
	return m;
}

static void memo_release(struct store_dav_memo *m)
{
	pthread_mutex_lock(&memo_lock);
	memo_unref_locked(m);
	pthread_mutex_unlock(&memo_lock);
}

static bool memo_has(const char *digest)
{
	struct store_dav_memo *m = memo_take(digest);
	memo_release(m);
	return m != NULL;
}

/* Keeps `m` (owned) as the most recent listing; the oldest goes. */
static void memo_keep(struct store_dav_memo *m)
{
	pthread_mutex_lock(&memo_lock);
	memo_unref_locked(memos[MEMO_KEEP - 1]);
	memmove(&memos[1], &memos[0], (MEMO_KEEP - 1) * sizeof memos[0]);
	memos[0] = m;
	m->refs = 1;
	pthread_mutex_unlock(&memo_lock);
}

/* The index of `name` in `m`, or -1. */
static long memo_find(const struct store_dav_memo *m, const char *name)
{
	size_t mask = m->size - 1;
	for (size_t k = hash_str(name) & mask; m->slot[k] != 0; k = (k + 1) & mask)
		if (strcmp(m->name[m->slot[k] - 1], name) == 0)
			return (long)(m->slot[k] - 1);
	return -1;
}

/* A memo of listing `objs` recorded with `digest`, or NULL when out of memory. */
static struct store_dav_memo *memo_new(const char *digest, const struct store_dav_obj *objs,
				       size_t n)
{
	struct store_dav_memo *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += strlen(objs[i].name) + strlen(objs[i].etag) + 2;
	m->n = n;
	for (m->size = 16; m->size < 2 * n; m->size *= 2)
		;
	m->digest = strdup(digest);
	m->name = calloc(n + 1, sizeof *m->name);
	m->etag = calloc(n + 1, sizeof *m->etag);
	m->text = malloc(bytes + 1);
	m->slot = calloc(m->size, sizeof *m->slot);
	if (!m->digest || !m->name || !m->etag || !m->text || !m->slot) {
		memo_free(m);
		return NULL;
	}
	char *w = m->text;
	for (size_t i = 0; i < n; i++) {
		size_t ln = strlen(objs[i].name) + 1, le = strlen(objs[i].etag) + 1;
		m->name[i] = memcpy(w, objs[i].name, ln);
		w += ln;
		m->etag[i] = memcpy(w, objs[i].etag, le);
		w += le;
		size_t mask = m->size - 1, k = hash_str(m->name[i]) & mask;
		while (m->slot[k] != 0)
			k = (k + 1) & mask;
		m->slot[k] = i + 1;
	}
	return m;
}

struct sync_args {
	const char *user, *calendar, *digest;
	const struct store_dav_obj *objs;
	size_t n;
	long long token;
	bool changed; /* the listing was recorded anew */
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

/* What a sync writes: names and ETags to put, names to mark deleted. */
struct diff {
	struct arr put_n, put_e, del;
};

static void diff_free(struct diff *d)
{
	free(d->put_n.buf);
	free(d->put_e.buf);
	free(d->del.buf);
}

/* The diff of the listing against memo `m` of what is recorded. */
static enum db_status diff_memo(const struct sync_args *a, const struct store_dav_memo *m,
				struct diff *d)
{
	bool *seen = calloc(m->n + 1, sizeof *seen);
	if (seen == NULL)
		return DB_HARD;
	for (size_t i = 0; i < a->n; i++) {
		long k = memo_find(m, a->objs[i].name);
		if (k >= 0)
			seen[k] = true;
		if (k < 0 || strcmp(a->objs[i].etag, m->etag[k]) != 0) {
			arr_add(&d->put_n, a->objs[i].name);
			arr_add(&d->put_e, a->objs[i].etag);
		}
	}
	for (size_t k = 0; k < m->n; k++)
		if (!seen[k])
			arr_add(&d->del, m->name[k]);
	free(seen);
	return DB_ONE;
}

/* The diff of the listing against the objects recorded, read back. */
static enum db_status diff_read(struct store *st, const struct sync_args *a, struct diff *d)
{
	const char *p2[] = {a->user, a->calendar};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_objs, p2, &res);
	if (s < 0)
		return s;
	int rows = PQntuples(res);
	struct store_dav_obj *cur = calloc(a->n + 1, sizeof *cur);
	struct row *rec = calloc((size_t)rows + 1, sizeof *rec);
	if (cur == NULL || rec == NULL) {
		free(cur);
		free(rec);
		PQclear(res);
		return DB_HARD;
	}
	/* The objects as recorded, sorted by name, against the objects now (sorted too). */
	memcpy(cur, a->objs, a->n * sizeof *cur);
	qsort(cur, a->n, sizeof *cur, obj_cmp);
	for (int r = 0; r < rows; r++)
		rec[r] = (struct row){PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
				      PQgetvalue(res, r, 2)[0] == 't'};
	qsort(rec, (size_t)rows, sizeof *rec, row_cmp);
	size_t i = 0, r = 0;
	while (i < a->n || r < (size_t)rows) {
		int c = i >= a->n ? 1 : r >= (size_t)rows ? -1 : strcmp(cur[i].name, rec[r].name);
		if (c < 0) { /* new */
			arr_add(&d->put_n, cur[i].name);
			arr_add(&d->put_e, cur[i].etag);
			i++;
		} else if (c > 0) { /* gone */
			if (!rec[r].deleted)
				arr_add(&d->del, rec[r].name);
			r++;
		} else {
			if (rec[r].deleted || strcmp(cur[i].etag, rec[r].etag) != 0) {
				arr_add(&d->put_n, cur[i].name);
				arr_add(&d->put_e, cur[i].etag);
			}
			i++;
			r++;
		}
	}
	free(rec);
	free(cur);
	PQclear(res);
	return DB_ONE;
}

static enum db_status sync_tx(struct store *st, void *cls)
{
	struct sync_args *a = cls;
	const char *p2[] = {a->user, a->calendar};
	PGresult *res;
	a->changed = false;
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
	const char *recorded = PQgetvalue(res, 0, 0);
	bool same = strcmp(recorded, a->digest) == 0;
	struct store_dav_memo *memo = same ? NULL : memo_take(recorded);
	a->token = atoll(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (same)
		return DB_ONE;

	struct diff d = {0};
	s = memo != NULL ? diff_memo(a, memo, &d) : diff_read(st, a, &d);
	memo_release(memo);
	const char *pn = arr_end(&d.put_n), *pe = arr_end(&d.put_e), *pd = arr_end(&d.del);
	if (s >= 0 && !(pn && pe && pd))
		s = DB_HARD;
	if (s >= 0 && d.put_n.len > 0) {
		const char *p[] = {a->user, a->calendar, pn, pe};
		s = store_exec(st, &stmt_objs_put, p, NULL);
	}
	if (s >= 0 && d.del.len > 0) {
		const char *p[] = {a->user, a->calendar, pd};
		s = store_exec(st, &stmt_objs_del, p, NULL);
	}
	diff_free(&d);
	if (s < 0)
		return s;
	const char *p3[] = {a->user, a->calendar, a->digest};
	if ((s = store_exec(st, &stmt_coll_set, p3, &res)) < 0)
		return s;
	if (s == DB_ONE)
		a->token = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	a->changed = s == DB_ONE;
	return s == DB_ONE ? DB_ONE : DB_HARD;
}

enum db_status store_dav_sync(struct store *st, const char *user, const char *calendar,
			      const char *digest, const struct store_dav_obj *objs, size_t n,
			      long long *token)
{
	struct sync_args a = {user, calendar, digest, objs, n, 0, false};
	enum db_status s = store_tx(st, STORE_READ_COMMITTED, 3, sync_tx, &a);
	*token = a.token;
	/* Committed: the listing with this digest is what a collection records.  (A memo
	 * stands for its digest, whoever records it, so one made and not committed would do
	 * no harm either.) */
	struct store_dav_memo *m;
	if (s >= 0 && a.changed && !memo_has(digest) && (m = memo_new(digest, objs, n)) != NULL)
		memo_keep(m);
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
