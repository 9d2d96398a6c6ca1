/*
 * web_sessions.c -- SQL of the web_sessions and login_links tables.
 */
#include "store/web_sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "store/store_int.h"

static const char *const method_names[] = {
	[STORE_SESSION_PASSWORD] = "password",
	[STORE_SESSION_LINK] = "link",
	[STORE_SESSION_OIDC] = "oidc",
};

static const struct store_stmt stmt_create = {
	"session_create",
	"INSERT INTO web_sessions (user_name, secret_hash, roles, method, app_password_id, idp_sid,"
	"                          expires_at)"
	" VALUES ($1, $2, string_to_array($3, ','), $4, nullif($5, '0')::bigint, $6,"
	"         now() + make_interval(secs => $7::bigint)) RETURNING id",
	7};
/* last_seen_at is written at most once a minute: a lookup is not a write per request. */
static const struct store_stmt stmt_lookup = {
	"session_lookup",
	"WITH s AS (SELECT ws.id, u.name, coalesce(u.email, '') AS email,"
	"       coalesce(u.display_name, '') AS display_name,"
	"       array_to_string(ws.roles, ',') AS roles,"
	"       extract(epoch FROM ws.expires_at)::bigint AS expires"
	"  FROM web_sessions ws JOIN users u ON u.name = ws.user_name"
	" WHERE ws.secret_hash = $1 AND ws.ended_at IS NULL AND ws.expires_at > now()"
	"   AND ws.last_seen_at > now() - make_interval(secs => $2::bigint)"
	"   AND u.state = 'active'"
	"   AND (ws.app_password_id IS NULL OR EXISTS (SELECT 1 FROM app_passwords p"
	"        WHERE p.id = ws.app_password_id AND p.revoked_at IS NULL"
	"          AND (p.token_id IS NULL OR EXISTS (SELECT 1 FROM api_tokens t"
	"               WHERE t.id = p.token_id AND t.revoked_at IS NULL))))),"
	" seen AS (UPDATE web_sessions SET last_seen_at = now()"
	"  WHERE id IN (SELECT id FROM s) AND last_seen_at < now() - interval '60 seconds')"
	" SELECT id, name, email, display_name, roles, expires FROM s",
	2};
static const struct store_stmt stmt_end = {
	"session_end",
	"WITH e AS (UPDATE web_sessions SET ended_at = now()"
	"  WHERE secret_hash = $1 AND ended_at IS NULL RETURNING id)"
	" SELECT pg_notify('transom_events', '{\"type\":\"token.changed\"}') FROM e",
	1};
static const struct store_stmt stmt_end_sid = {
	"session_end_sid",
	"WITH e AS (UPDATE web_sessions SET ended_at = now()"
	"  WHERE idp_sid = $1 AND ended_at IS NULL RETURNING id)"
	" SELECT count(*), pg_notify('transom_events', '{\"type\":\"token.changed\"}') FROM e"
	" HAVING count(*) > 0",
	1};
static const struct store_stmt stmt_user_upsert = {
	"login_link_user", "INSERT INTO users (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", 1};
static const struct store_stmt stmt_link_create = {
	"login_link_create",
	"INSERT INTO login_links (user_name, token_hash, roles, expires_at)"
	" VALUES ($1, $2, string_to_array($3, ','), now() + make_interval(secs => $4::bigint))",
	4};
static const struct store_stmt stmt_link_use = {
	"login_link_use",
	"WITH l AS (UPDATE login_links SET used_at = now()"
	"  WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()"
	"  RETURNING user_name, roles)"
	" SELECT u.name, coalesce(u.email, ''), coalesce(u.display_name, ''),"
	"        array_to_string(l.roles, ',')"
	"   FROM l JOIN users u ON u.name = l.user_name WHERE u.state = 'active'",
	1};

enum db_status store_session_create(struct store *st, const struct store_session_new *n,
				    long long *id)
{
	char roles[128], pw[24], ttl[24];
	roles_format(n->roles, roles, sizeof roles);
	snprintf(pw, sizeof pw, "%lld", n->app_password_id);
	snprintf(ttl, sizeof ttl, "%lld", n->ttl_s);
	const char *params[] = {n->user, n->secret_hash, roles, method_names[n->method],
				pw,      n->idp_sid,     ttl};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_create, params, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	*id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_ONE;
}

/* Row `i` of `res` from column `col` on (name, email, display name, roles) into `u`. */
static void user_from_row(PGresult *res, int col, struct store_user *u)
{
	char bad[64];
	snprintf(u->name, sizeof u->name, "%s", PQgetvalue(res, 0, col));
	snprintf(u->email, sizeof u->email, "%s", PQgetvalue(res, 0, col + 1));
	snprintf(u->display_name, sizeof u->display_name, "%s", PQgetvalue(res, 0, col + 2));
	if (roles_parse(PQgetvalue(res, 0, col + 3), &u->roles, bad, sizeof bad) != 0)
		u->roles = 0;
}

enum db_status store_session_lookup(struct store *st, const char *hash, long long idle_s,
				    struct store_user *user, long long *expires_unix)
{
	char idle[24];
	snprintf(idle, sizeof idle, "%lld", idle_s);
	const char *params[] = {hash, idle};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_lookup, params, &res);
	if (s != DB_ONE) {
		if (s >= 0) /* none, or too many: the result is ours all the same */
			PQclear(res);
		return s > DB_ONE ? DB_HARD : s;
	}
	memset(user, 0, sizeof *user);
	user->token_id = atoll(PQgetvalue(res, 0, 0));
	user_from_row(res, 1, user);
	*expires_unix = atoll(PQgetvalue(res, 0, 5));
	PQclear(res);
	return DB_ONE;
}

enum db_status store_session_end(struct store *st, const char *hash)
{
	const char *params[] = {hash};
	enum db_status s = store_exec(st, &stmt_end, params, NULL);
	return s > DB_ONE ? DB_HARD : s;
}

enum db_status store_session_end_sid(struct store *st, const char *sid, long long *n)
{
	const char *params[] = {sid};
	PGresult *res;
	*n = 0;
	enum db_status s = store_exec(st, &stmt_end_sid, params, &res);
	if (s != DB_ONE) {
		if (s >= 0) /* none, or too many: the result is ours all the same */
			PQclear(res);
		return s > DB_ONE ? DB_HARD : s;
	}
	*n = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_ONE;
}

struct link_args {
	const char *user, *hash;
	char roles[128], ttl[24];
};

static enum db_status link_create_tx(struct store *st, void *cls)
{
	struct link_args *a = cls;
	const char *user[] = {a->user};
	const char *link[] = {a->user, a->hash, a->roles, a->ttl};
	enum db_status s = store_exec(st, &stmt_user_upsert, user, NULL);
	if (s < 0)
		return s;
	s = store_exec(st, &stmt_link_create, link, NULL);
	return s < 0 ? s : DB_ONE;
}

enum db_status store_login_link_create(struct store *st, const char *user, unsigned roles,
				       const char *hash, long long ttl_s)
{
	struct link_args a = {.user = user, .hash = hash};
	roles_format(roles, a.roles, sizeof a.roles);
	snprintf(a.ttl, sizeof a.ttl, "%lld", ttl_s);
	return store_tx(st, STORE_READ_COMMITTED, 3, link_create_tx, &a);
}

enum db_status store_login_link_use(struct store *st, const char *hash, struct store_user *user)
{
	const char *params[] = {hash};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_link_use, params, &res);
	if (s != DB_ONE) {
		if (s >= 0) /* none, or too many: the result is ours all the same */
			PQclear(res);
		return s > DB_ONE ? DB_HARD : s;
	}
	memset(user, 0, sizeof *user);
	user_from_row(res, 0, user);
	PQclear(res);
	return DB_ONE;
}
