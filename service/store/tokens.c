/*
 * tokens.c -- SQL of the users and api_tokens tables.
 */
#include "store/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "store/store_int.h"

static const struct store_stmt stmt_user_upsert = {
	"token_user_upsert",
	"INSERT INTO users (name, email, display_name) VALUES ($1, $2, $3)"
	" ON CONFLICT (name) DO UPDATE SET"
	"  email = coalesce(EXCLUDED.email, users.email),"
	"  display_name = coalesce(EXCLUDED.display_name, users.display_name)",
	3};
static const struct store_stmt stmt_insert = {
	"token_insert",
	"INSERT INTO api_tokens (user_name, roles, token_hash)"
	" VALUES ($1, string_to_array($2, ','), $3) RETURNING id",
	3};
static const struct store_stmt stmt_lookup = {
	"token_lookup",
	"SELECT t.id, u.name, coalesce(u.email, ''), coalesce(u.display_name, ''),"
	"       array_to_string(t.roles, ',')"
	"  FROM api_tokens t JOIN users u ON u.name = t.user_name"
	" WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.state = 'active'",
	1};
static const struct store_stmt stmt_list = {
	"token_list",
	"SELECT t.id, t.user_name, array_to_string(t.roles, ','),"
	"       to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	"       coalesce(to_char(t.revoked_at AT TIME ZONE 'UTC',"
	"                'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
	"  FROM api_tokens t ORDER BY t.id",
	0};
/* Replicas cache token lookups; this NOTIFY (events/events.h) tells them to forget. */
#define TOKENS_CHANGED "SELECT pg_notify('transom_events', '{\"type\":\"token.changed\"}')"

/* Revoking a token revokes the app passwords and feed URLs made with it, at once. */
static const struct store_stmt stmt_revoke = {
	"token_revoke",
	"WITH r AS (UPDATE api_tokens SET revoked_at = now()"
	"  WHERE id = $1::bigint AND revoked_at IS NULL RETURNING id),"
	" p AS (UPDATE app_passwords SET revoked_at = now()"
	"  WHERE token_id IN (SELECT id FROM r) AND revoked_at IS NULL),"
	" f AS (UPDATE feed_tokens SET revoked_at = now()"
	"  WHERE token_id IN (SELECT id FROM r) AND revoked_at IS NULL) " TOKENS_CHANGED " FROM r",
	1};
/* Disabling a user revokes every credential they hold, in one statement. */
static const struct store_stmt stmt_user_disable = {
	"user_disable",
	"WITH u AS (UPDATE users SET state = 'disabled',"
	"  disabled_at = coalesce(disabled_at, now()) WHERE name = $1 RETURNING name),"
	" t AS (UPDATE api_tokens SET revoked_at = now()"
	"  WHERE user_name IN (SELECT name FROM u) AND revoked_at IS NULL RETURNING id),"
	" p AS (UPDATE app_passwords SET revoked_at = now()"
	"  WHERE user_name IN (SELECT name FROM u) AND revoked_at IS NULL RETURNING id),"
	" f AS (UPDATE feed_tokens SET revoked_at = now()"
	"  WHERE user_name IN (SELECT name FROM u) AND revoked_at IS NULL RETURNING id),"
	" s AS (UPDATE web_sessions SET ended_at = now()"
	"  WHERE user_name IN (SELECT name FROM u) AND ended_at IS NULL RETURNING id),"
	" l AS (UPDATE login_links SET used_at = now()"
	"  WHERE user_name IN (SELECT name FROM u) AND used_at IS NULL)"
	" SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM p), (SELECT count(*) FROM f),"
	"  (SELECT count(*) FROM s), pg_notify('transom_events', '{\"type\":\"token.changed\"}') "
	"FROM u",
	1};
static const struct store_stmt stmt_user_enable = {
	"user_enable",
	"UPDATE users SET state = 'active', disabled_at = NULL WHERE name = $1 RETURNING name", 1};
static const struct store_stmt stmt_user_disabled = {
	"user_disabled", "SELECT 1 FROM users WHERE name = $1 AND state = 'disabled'", 1};
/* A positive id is an API token; a negative one the web session -id (h_events.c). */
static const struct store_stmt stmt_tokens_dead = {
	"tokens_dead",
	"SELECT x.id FROM unnest($1::bigint[]) AS x(id)"
	" WHERE x.id > 0 AND NOT EXISTS (SELECT 1 FROM api_tokens t"
	"        JOIN users u ON u.name = t.user_name"
	"       WHERE t.id = x.id AND t.revoked_at IS NULL AND u.state = 'active')"
	"    OR x.id < 0 AND NOT EXISTS (SELECT 1 FROM web_sessions s"
	"        JOIN users u ON u.name = s.user_name"
	"       WHERE s.id = -x.id AND s.ended_at IS NULL AND s.expires_at > now()"
	"         AND u.state = 'active'"
	"         AND (s.app_password_id IS NULL OR EXISTS (SELECT 1 FROM app_passwords p"
	"              WHERE p.id = s.app_password_id AND p.revoked_at IS NULL)))",
	1};
static const struct store_stmt stmt_user_list = {
	"user_list",
	"SELECT u.name, u.state, coalesce(u.email, ''), coalesce(u.display_name, ''),"
	"       to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	"       coalesce(to_char(u.disabled_at AT TIME ZONE 'UTC',"
	"                'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
	"       (SELECT count(*) FROM api_tokens t"
	"         WHERE t.user_name = u.name AND t.revoked_at IS NULL)"
	"  FROM users u ORDER BY u.name",
	0};
static const struct store_stmt stmt_changed = {"token_changed", TOKENS_CHANGED, 0};

struct create_args {
	const char *name, *email, *display_name, *hash;
	char roles[128];
	long long id;
};

static enum db_status create_tx(struct store *st, void *cls)
{
	struct create_args *a = cls;
	const char *user[] = {a->name, a->email, a->display_name};
	const char *tok[] = {a->name, a->roles, a->hash};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_user_upsert, user, NULL);
	if (s < 0)
		return s;
	s = store_exec(st, &stmt_insert, tok, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	a->id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	/* The user's e-mail or display name may have changed: cached lookups are stale. */
	s = store_queue(st, &stmt_changed, NULL);
	return s < 0 ? s : DB_ONE;
}

enum db_status store_token_create(struct store *st, const char *name, const char *email,
				  const char *display_name, unsigned roles, const char *hash,
				  long long *id)
{
	struct create_args a = {name, email, display_name, hash, {0}, 0};
	roles_format(roles, a.roles, sizeof a.roles);
	enum db_status s = store_tx(st, STORE_READ_COMMITTED, 3, create_tx, &a);
	*id = a.id;
	return s;
}

enum db_status store_token_lookup(struct store *st, const char *hash, struct store_user *user)
{
	const char *params[] = {hash};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_lookup, params, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s > DB_ONE ? DB_HARD : s;
	}
	char bad[64];
	user->token_id = atoll(PQgetvalue(res, 0, 0));
	snprintf(user->name, sizeof user->name, "%s", PQgetvalue(res, 0, 1));
	snprintf(user->email, sizeof user->email, "%s", PQgetvalue(res, 0, 2));
	snprintf(user->display_name, sizeof user->display_name, "%s", PQgetvalue(res, 0, 3));
	if (roles_parse(PQgetvalue(res, 0, 4), &user->roles, bad, sizeof bad) != 0)
		user->roles = 0;
	PQclear(res);
	return DB_ONE;
}

enum db_status store_token_list(struct store *st, json_t **out)
{
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_list, NULL, &res);
	*out = NULL;
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		const char *revoked = PQgetvalue(res, i, 4);
		json_t *row = json_pack("{s:I, s:s, s:s, s:s, s:o}", "id",
					(json_int_t)atoll(PQgetvalue(res, i, 0)), "user",
					PQgetvalue(res, i, 1), "roles", PQgetvalue(res, i, 2),
					"created_at", PQgetvalue(res, i, 3), "revoked_at",
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

enum db_status store_token_revoke(struct store *st, long long id)
{
	char idbuf[32];
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	const char *params[] = {idbuf};
	return store_exec(st, &stmt_revoke, params, NULL);
}

/* ---- users ------------------------------------------------------------------------------ */

enum db_status store_user_disable(struct store *st, const char *name, struct store_revoked *out)
{
	const char *params[] = {name};
	PGresult *res;
	memset(out, 0, sizeof *out);
	enum db_status s = store_exec(st, &stmt_user_disable, params, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s > DB_ONE ? DB_HARD : s;
	}
	out->tokens = atoll(PQgetvalue(res, 0, 0));
	out->app_passwords = atoll(PQgetvalue(res, 0, 1));
	out->feeds = atoll(PQgetvalue(res, 0, 2));
	out->sessions = atoll(PQgetvalue(res, 0, 3));
	PQclear(res);
	return DB_ONE;
}

enum db_status store_user_enable(struct store *st, const char *name)
{
	const char *params[] = {name};
	enum db_status s = store_exec(st, &stmt_user_enable, params, NULL);
	return s > DB_ONE ? DB_HARD : s;
}

enum db_status store_user_disabled(struct store *st, const char *name)
{
	const char *params[] = {name};
	enum db_status s = store_exec(st, &stmt_user_disabled, params, NULL);
	return s > DB_ONE ? DB_ONE : s;
}

enum db_status store_user_list(struct store *st, json_t **out)
{
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_user_list, NULL, &res);
	*out = NULL;
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		const char *email = PQgetvalue(res, i, 2), *display = PQgetvalue(res, i, 3),
			   *disabled = PQgetvalue(res, i, 5);
		json_t *row =
			json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:o, s:I}", "user",
				  PQgetvalue(res, i, 0), "state", PQgetvalue(res, i, 1), "email",
				  *email ? email : NULL, "display_name", *display ? display : NULL,
				  "created_at", PQgetvalue(res, i, 4), "disabled_at",
				  *disabled ? json_string(disabled) : json_null(), "active_tokens",
				  (json_int_t)atoll(PQgetvalue(res, i, 6)));
		if (row == NULL || json_array_append_new(arr, row) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}

/* ---- users as SCIM provisioning sees them ------------------------------------------------ */

#define USER_ROW_COLS                                                                              \
	"name, coalesce(email, ''), coalesce(display_name, ''), state = 'active',"                 \
	" to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
static const struct store_stmt stmt_user_get = {
	"user_get", "SELECT " USER_ROW_COLS " FROM users WHERE name = $1", 1};
static const struct store_stmt stmt_users_page = {
	"users_page",
	"SELECT " USER_ROW_COLS ", count(*) OVER () FROM users"
	" WHERE $1::text IS NULL OR name = $1 ORDER BY name OFFSET $2::bigint LIMIT $3::bigint",
	3};
static const struct store_stmt stmt_users_count = {
	"users_count", "SELECT count(*) FROM users WHERE $1::text IS NULL OR name = $1", 1};
static const struct store_stmt stmt_user_insert = {
	"user_insert",
	"INSERT INTO users (name, email, display_name) VALUES ($1, $2, $3)"
	" ON CONFLICT (name) DO NOTHING RETURNING name",
	3};
static const struct store_stmt stmt_user_update = {
	"user_update",
	"UPDATE users SET email = CASE WHEN $2::boolean THEN $3 ELSE email END,"
	" display_name = CASE WHEN $4::boolean THEN $5 ELSE display_name END"
	" WHERE name = $1 RETURNING name",
	5};

static void user_row_from(struct store_user_row *u, PGresult *res, int i)
{
	snprintf(u->name, sizeof u->name, "%s", PQgetvalue(res, i, 0));
	snprintf(u->email, sizeof u->email, "%s", PQgetvalue(res, i, 1));
	snprintf(u->display_name, sizeof u->display_name, "%s", PQgetvalue(res, i, 2));
	u->active = PQgetvalue(res, i, 3)[0] == 't';
	snprintf(u->created_at, sizeof u->created_at, "%s", PQgetvalue(res, i, 4));
}

enum db_status store_user_get(struct store *st, const char *name, struct store_user_row *out)
{
	const char *params[] = {name};
	PGresult *res;
	memset(out, 0, sizeof *out);
	enum db_status s = store_exec(st, &stmt_user_get, params, &res);
	if (s < 0)
		return s;
	if (s == DB_ONE)
		user_row_from(out, res, 0);
	PQclear(res);
	return s > DB_ONE ? DB_HARD : s;
}

enum db_status store_users_page(struct store *st, const char *name_eq, long offset, long limit,
				long *total, struct store_user_row **rows, size_t *n)
{
	char off[32], lim[32];
	snprintf(off, sizeof off, "%ld", offset);
	snprintf(lim, sizeof lim, "%ld", limit);
	const char *params[] = {name_eq, off, lim};
	PGresult *res;
	*rows = NULL;
	*n = 0;
	*total = 0;
	enum db_status s = store_exec(st, &stmt_users_page, params, &res);
	if (s < 0)
		return s;
	int k = PQntuples(res);
	*rows = calloc(k > 0 ? (size_t)k : 1, sizeof **rows);
	if (*rows == NULL) {
		PQclear(res);
		return DB_HARD;
	}
	for (int i = 0; i < k; i++)
		user_row_from(&(*rows)[i], res, i);
	*n = (size_t)k;
	if (k > 0)
		*total = atol(PQgetvalue(res, 0, 5));
	PQclear(res);
	if (k == 0) { /* past the end: the total still counts */
		const char *cp[] = {name_eq};
		s = store_exec(st, &stmt_users_count, cp, &res);
		if (s < 0) {
			free(*rows);
			*rows = NULL;
			return s;
		}
		*total = atol(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return k > 0 ? DB_ONE : DB_NONE;
}

enum db_status store_user_insert(struct store *st, const char *name, const char *email,
				 const char *display_name)
{
	const char *params[] = {name, email, display_name};
	enum db_status s = store_exec(st, &stmt_user_insert, params, NULL);
	return s > DB_ONE ? DB_HARD : s;
}

enum db_status store_user_update(struct store *st, const char *name, bool set_email,
				 const char *email, bool set_display, const char *display_name)
{
	const char *params[] = {name, set_email ? "t" : "f", email, set_display ? "t" : "f",
				display_name};
	enum db_status s = store_exec(st, &stmt_user_update, params, NULL);
	return s > DB_ONE ? DB_HARD : s;
}

static const struct store_stmt stmt_users_disabled = {
	"users_disabled",
	"SELECT x.i - 1 FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS x(name, i)"
	" WHERE EXISTS (SELECT 1 FROM users u WHERE u.name = x.name AND u.state <> 'active')",
	1};

enum db_status store_users_disabled(struct store *st, const char *const *names, size_t n,
				    bool *inactive)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		inactive[i] = false;
		if (arr != NULL && json_array_append_new(arr, json_string(names[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	char *text = arr != NULL ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	if (text == NULL)
		return DB_HARD;
	const char *params[] = {text};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_users_disabled, params, &res);
	free(text);
	if (s < 0)
		return s;
	bool some = false;
	for (int i = 0; i < PQntuples(res); i++) {
		long k = strtol(PQgetvalue(res, i, 0), NULL, 10);
		if (k >= 0 && (size_t)k < n)
			inactive[k] = some = true;
	}
	PQclear(res);
	return some ? DB_ONE : DB_NONE;
}

enum db_status store_tokens_dead(struct store *st, const long long *ids, size_t n, long long *dead,
				 size_t *ndead)
{
	*ndead = 0;
	if (n == 0)
		return DB_NONE;
	char *arr = malloc(n * 21 + 3), *p = arr;
	if (arr == NULL)
		return DB_HARD;
	*p++ = '{';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%lld", i ? "," : "", ids[i]);
	*p++ = '}';
	*p = '\0';
	const char *params[] = {arr};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_tokens_dead, params, &res);
	free(arr);
	if (s < 0)
		return s;
	for (int i = 0; i < PQntuples(res) && *ndead < n; i++)
		dead[(*ndead)++] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	PQclear(res);
	return *ndead > 0 ? DB_ONE : DB_NONE;
}
