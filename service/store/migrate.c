/*
 * migrate.c -- applying the embedded migrations, once, under an advisory lock.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "store/migrations.h"
#include "store/store_int.h"

/* Any constant will do, as long as nothing else in the database uses it: "TRANSOM". */
#define MIGRATION_LOCK_KEY "5452414e534f4d"

static const struct store_stmt stmt_lock = {
	"migrate_lock", "SELECT pg_advisory_lock(x'" MIGRATION_LOCK_KEY "'::bigint)", 0};
static const struct store_stmt stmt_unlock = {
	"migrate_unlock", "SELECT pg_advisory_unlock(x'" MIGRATION_LOCK_KEY "'::bigint)", 0};
static const struct store_stmt stmt_version = {
	"migrate_version", "SELECT coalesce(max(version), 0) FROM schema_version", 0};
static const struct store_stmt stmt_record = {
	"migrate_record", "INSERT INTO schema_version (version, name) VALUES ($1::int, $2)", 2};

static const struct store_stmt stmt_grant = {"migrate_grant",
					     "SELECT transom_grant_serving($1::name)", 1};
static const struct store_stmt stmt_role = {"migrate_role", "SELECT current_user", 0};

int store_schema_expected(void)
{
	int v = 0;
	for (unsigned i = 0; i < store_migrations_count; i++)
		if (store_migrations[i].version > v)
			v = store_migrations[i].version;
	return v;
}

enum db_status store_grant_serving(struct store *st, const char *role)
{
	/* Under the migration lock: replicas starting together would otherwise GRANT on the
	 * same catalog rows at once ("tuple concurrently updated") and one would exit. */
	enum db_status s = store_exec(st, &stmt_lock, NULL, NULL);
	if (s < 0)
		return s;
	const char *p[] = {role};
	s = store_exec(st, &stmt_grant, p, NULL);
	store_exec(st, &stmt_unlock, NULL, NULL);
	return s;
}

enum db_status store_current_role(struct store *st, char *out, size_t outlen)
{
	PGresult *res;
	out[0] = '\0';
	enum db_status s = store_exec(st, &stmt_role, NULL, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_ONE;
}

int store_schema_version(struct store *st)
{
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_version, NULL, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return -1;
	}
	int v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static enum db_status apply_one(struct store *st, const struct store_migration *m)
{
	char version[16];
	snprintf(version, sizeof version, "%d", m->version);
	const char *params[] = {version, m->name};
	enum db_status s = store_command(st, "BEGIN");
	if (s >= 0)
		s = store_command(st, m->sql);
	if (s >= 0)
		s = store_exec(st, &stmt_record, params, NULL);
	if (s >= 0)
		s = store_command(st, "COMMIT");
	if (s < 0) {
		LOG_ERROR("event=migration_failed version=%d name=%s error=\"%s\"", m->version,
			  m->name, store_last_error(st));
		if (s != DB_DOWN)
			store_command(st, "ROLLBACK");
		return s;
	}
	LOG_INFO("event=migration_applied version=%d name=%s", m->version, m->name);
	return DB_ONE;
}

enum db_status store_migrate(struct store *st)
{
	/* Up to date: nothing to create, so a login that may not create tables (the serving
	 * role) passes too.  A missing schema_version just fails this probe. */
	if (store_schema_version(st) >= store_schema_expected())
		return DB_NONE;
	enum db_status s = store_exec(st, &stmt_lock, NULL, NULL);
	if (s < 0)
		return s;
	s = store_command(st, "CREATE TABLE IF NOT EXISTS schema_version ("
			      " version int PRIMARY KEY,"
			      " name text NOT NULL,"
			      " applied_at timestamptz NOT NULL DEFAULT now())");
	int current = s < 0 ? -1 : store_schema_version(st);
	enum db_status result = current < 0 ? DB_HARD : DB_NONE;
	for (unsigned i = 0; current >= 0 && i < store_migrations_count; i++) {
		if (store_migrations[i].version <= current)
			continue;
		s = apply_one(st, &store_migrations[i]);
		if (s < 0) {
			result = s;
			break;
		}
		result = DB_ONE;
	}
	if (result != DB_DOWN)
		store_exec(st, &stmt_unlock, NULL, NULL);
	return result;
}
