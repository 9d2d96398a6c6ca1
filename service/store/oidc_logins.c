/*
 * oidc_logins.c -- SQL of the oidc_logins table and of web_sessions.id_token.
 */
#include "store/oidc_logins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static const struct store_stmt stmt_put = {
	"oidc_login_put",
	"WITH gone AS (DELETE FROM oidc_logins WHERE expires_at < now())"
	" INSERT INTO oidc_logins (state_hash, nonce, verifier, return_path, expires_at)"
	" VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::bigint))",
	5};
static const struct store_stmt stmt_take = {
	"oidc_login_take",
	"DELETE FROM oidc_logins WHERE state_hash = $1"
	" RETURNING nonce, verifier, return_path, expires_at > now()",
	1};
static const struct store_stmt stmt_set_id_token = {
	"session_set_id_token", "UPDATE web_sessions SET id_token = $2 WHERE id = $1::bigint", 2};
static const struct store_stmt stmt_provision = {
	"oidc_user_provision",
	"INSERT INTO users (name, email, display_name) VALUES ($1, $2, $3)"
	" ON CONFLICT (name) DO UPDATE SET"
	"  email = coalesce(EXCLUDED.email, users.email),"
	"  display_name = coalesce(EXCLUDED.display_name, users.display_name)"
	" RETURNING state = 'active'",
	3};
static const struct store_stmt stmt_groups_set = {
	"claim_groups_set",
	"INSERT INTO user_claim_groups (user_name, groups)"
	" VALUES ($1, coalesce(string_to_array(nullif($2, ''), ','), '{}'))"
	" ON CONFLICT (user_name) DO UPDATE SET groups = EXCLUDED.groups, updated_at = now()",
	2};
static const struct store_stmt stmt_groups_get = {
	"claim_groups_get",
	"SELECT array_to_string(groups, ',') FROM user_claim_groups WHERE user_name = $1", 1};
static const struct store_stmt stmt_group_members = {
	"claim_group_members",
	"SELECT user_name FROM user_claim_groups WHERE $1 = ANY (groups) ORDER BY user_name", 1};
static const struct store_stmt stmt_id_token = {
	"session_id_token", "SELECT id_token FROM web_sessions WHERE secret_hash = $1", 1};

enum db_status store_oidc_login_put(struct store *st, const char *state_hash,
				    const struct store_oidc_login *l, long long ttl_s)
{
	char ttl[24];
	snprintf(ttl, sizeof ttl, "%lld", ttl_s);
	const char *params[] = {state_hash, l->nonce, l->verifier, l->return_path, ttl};
	enum db_status s = store_exec(st, &stmt_put, params, NULL);
	return s < 0 ? s : DB_ONE;
}

enum db_status store_oidc_login_take(struct store *st, const char *state_hash,
				     struct store_oidc_login *out)
{
	const char *params[] = {state_hash};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_take, params, &res);
	if (s != DB_ONE) {
		if (s >= 0) /* none, or too many: the result is ours all the same */
			PQclear(res);
		return s > DB_ONE ? DB_HARD : s;
	}
	bool live = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	memset(out, 0, sizeof *out);
	snprintf(out->nonce, sizeof out->nonce, "%s", PQgetvalue(res, 0, 0));
	snprintf(out->verifier, sizeof out->verifier, "%s", PQgetvalue(res, 0, 1));
	snprintf(out->return_path, sizeof out->return_path, "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	return live ? DB_ONE : DB_NONE;
}

enum db_status store_session_set_id_token(struct store *st, long long session_id,
					  const char *id_token)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", session_id);
	const char *params[] = {id, id_token};
	enum db_status s = store_exec(st, &stmt_set_id_token, params, NULL);
	return s > DB_ONE ? DB_HARD : s;
}

enum db_status store_session_id_token(struct store *st, const char *hash, char **id_token)
{
	const char *params[] = {hash};
	PGresult *res;
	*id_token = NULL;
	enum db_status s = store_exec(st, &stmt_id_token, params, &res);
	if (s != DB_ONE) {
		if (s >= 0) /* none, or too many: the result is ours all the same */
			PQclear(res);
		return s > DB_ONE ? DB_HARD : s;
	}
	if (!PQgetisnull(res, 0, 0)) {
		*id_token = strdup(PQgetvalue(res, 0, 0));
		if (*id_token == NULL) {
			PQclear(res);
			return DB_HARD;
		}
	}
	PQclear(res);
	return DB_ONE;
}

enum db_status store_oidc_user_provision(struct store *st, const char *name, const char *email,
					 const char *display_name, bool *active)
{
	const char *params[] = {name, email, display_name};
	PGresult *res;
	*active = false;
	enum db_status s = store_exec(st, &stmt_provision, params, &res);
	if (s != DB_ONE) {
		if (s >= 0) /* none, or too many: the result is ours all the same */
			PQclear(res);
		return s >= 0 ? DB_HARD : s;
	}
	*active = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return DB_ONE;
}

enum db_status store_claim_groups_set(struct store *st, const char *user, const char *groups)
{
	const char *params[] = {user, groups};
	enum db_status s = store_exec(st, &stmt_groups_set, params, NULL);
	return s < 0 ? s : DB_ONE;
}

enum db_status store_claim_groups_get(struct store *st, const char *user, char *out, size_t outlen)
{
	const char *params[] = {user};
	PGresult *res;
	out[0] = '\0';
	enum db_status s = store_exec(st, &stmt_groups_get, params, &res);
	if (s != DB_ONE) {
		if (s >= 0) /* none, or too many: the result is ours all the same */
			PQclear(res);
		return s > DB_ONE ? DB_HARD : s;
	}
	snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_ONE;
}

enum db_status store_claim_group_members(struct store *st, const char *group, json_t **out)
{
	const char *params[] = {group};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_group_members, params, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		if (json_array_append_new(arr, json_string(PQgetvalue(res, i, 0))) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	PQclear(res);
	*out = arr;
	return arr != NULL ? DB_ONE : DB_HARD;
}
