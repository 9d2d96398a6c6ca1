/*
 * store.c -- one PostgreSQL connection: lazy connect, reconnect, prepared statements,
 * error classification and the retrying transaction runner.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

struct store {
	char *conninfo;
	PGconn *conn;
	struct store_hooks hooks;
	bool lost; /* the database was unreachable since the last good connect */
	const struct store_stmt **prepared; /* statements prepared on this connection */
	size_t nprepared, capprepared;
	char last_error[512];
	char sqlstate[6];
};

struct store *store_new(const char *conninfo, const struct store_hooks *hooks)
{
	struct store *st = calloc(1, sizeof *st);
	if (st == NULL)
		return NULL;
	st->conninfo = strdup(conninfo);
	if (st->conninfo == NULL) {
		free(st);
		return NULL;
	}
	if (hooks != NULL)
		st->hooks = *hooks;
	return st;
}

static void store_disconnect(struct store *st)
{
	if (st->conn != NULL)
		PQfinish(st->conn);
	st->conn = NULL;
	st->nprepared = 0;
}

void store_free(struct store *st)
{
	if (st == NULL)
		return;
	store_disconnect(st);
	free(st->prepared);
	free(st->conninfo);
	free(st);
}

static void set_error(struct store *st, const char *msg)
{
	snprintf(st->last_error, sizeof st->last_error, "%s", msg ? msg : "");
	/* One line, for logs and problem details. */
	for (char *p = st->last_error; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '"')
			*p = *p == '"' ? '\'' : ' ';
	size_t n = strlen(st->last_error);
	while (n > 0 && (st->last_error[n - 1] == '\n' || st->last_error[n - 1] == ' '))
		st->last_error[--n] = '\0';
}

bool store_connect(struct store *st)
{
	if (st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK)
		return true;
	store_disconnect(st);
	/* Keywords before dbname are defaults that the connection string may override. */
	const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *const vals[] = {"3", "transomd", st->conninfo, NULL};
	st->conn = PQconnectdbParams(keys, vals, 1);
	if (st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK) {
		set_error(st, st->conn ? PQerrorMessage(st->conn) : "out of memory");
		store_disconnect(st);
		if (st->hooks.on_error)
			st->hooks.on_error(st->hooks.cls);
		st->lost = true;
		return false;
	}
	PQsetNoticeProcessor(st->conn, NULL, NULL);
	PQclear(PQexec(st->conn, "SET client_min_messages = warning"));
	if (st->lost) {
		LOG_INFO("event=db_reconnected");
		if (st->hooks.on_reconnect)
			st->hooks.on_reconnect(st->hooks.cls);
	}
	st->lost = false;
	st->last_error[0] = '\0';
	return true;
}

const char *store_last_error(const struct store *st)
{
	return st->last_error;
}

const char *store_last_sqlstate(const struct store *st)
{
	return st->sqlstate;
}

/* Classifies a failed result; drops the connection when it is gone. */
static enum db_status classify(struct store *st, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(st->sqlstate, sizeof st->sqlstate, "%s", state ? state : "");
	set_error(st, res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
	if (st->hooks.on_error)
		st->hooks.on_error(st->hooks.cls);
	if (PQstatus(st->conn) != CONNECTION_OK || strncmp(st->sqlstate, "08", 2) == 0 ||
	    strncmp(st->sqlstate, "57P", 3) == 0) {
		LOG_WARN("event=db_connection_lost error=\"%s\"", st->last_error);
		store_disconnect(st);
		st->lost = true;
		return DB_DOWN;
	}
	if (strcmp(st->sqlstate, "40001") == 0 || strcmp(st->sqlstate, "40P01") == 0)
		return DB_SOFT;
	LOG_DEBUG("event=db_error sqlstate=%s error=\"%s\"", st->sqlstate, st->last_error);
	return DB_HARD;
}

static bool is_prepared(const struct store *st, const struct store_stmt *stmt)
{
	for (size_t i = 0; i < st->nprepared; i++)
		if (st->prepared[i] == stmt)
			return true;
	return false;
}

static enum db_status prepare(struct store *st, const struct store_stmt *stmt)
{
	if (st->nprepared == st->capprepared) {
		size_t cap = st->capprepared ? st->capprepared * 2 : 32;
		const struct store_stmt **p = realloc(st->prepared, cap * sizeof *p);
		if (p == NULL) {
			set_error(st, "out of memory");
			return DB_HARD;
		}
		st->prepared = p;
		st->capprepared = cap;
	}
	PGresult *res = PQprepare(st->conn, stmt->name, stmt->sql, stmt->nparams, NULL);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		enum db_status s = classify(st, res);
		PQclear(res);
		return s;
	}
	PQclear(res);
	st->prepared[st->nprepared++] = stmt;
	return DB_NONE;
}

static enum db_status result_status(struct store *st, PGresult *res, PGresult **out)
{
	ExecStatusType rs = PQresultStatus(res);
	if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
		enum db_status s = classify(st, res);
		PQclear(res);
		return s;
	}
	st->sqlstate[0] = '\0';
	int rows = rs == PGRES_TUPLES_OK ? PQntuples(res) : atoi(PQcmdTuples(res));
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return rows > 1 ? (enum db_status)rows : rows == 1 ? DB_ONE : DB_NONE;
}

static enum db_status exec_once(struct store *st, const struct store_stmt *stmt,
				const char *const *params, PGresult **res)
{
	if (!is_prepared(st, stmt)) {
		enum db_status s = prepare(st, stmt);
		if (s < 0)
			return s;
	}
	PGresult *r = PQexecPrepared(st->conn, stmt->name, stmt->nparams, params, NULL, NULL, 0);
	if (r == NULL)
		return classify(st, NULL);
	return result_status(st, r, res);
}

/*
 * A connection that was idle when the server restarted only shows it is dead when next
 * used.  Outside a transaction nothing is lost by reconnecting and running the
 * statement once more, so a recovered database answers the very next request.
 */
static bool may_retry(const struct store *st, bool was_idle, enum db_status s)
{
	return s == DB_DOWN && was_idle && st->conn == NULL;
}

enum db_status store_exec(struct store *st, const struct store_stmt *stmt,
			  const char *const *params, PGresult **res)
{
	if (res != NULL)
		*res = NULL;
	if (!store_connect(st))
		return DB_DOWN;
	bool idle = PQtransactionStatus(st->conn) == PQTRANS_IDLE;
	enum db_status s = exec_once(st, stmt, params, res);
	if (may_retry(st, idle, s) && store_connect(st))
		s = exec_once(st, stmt, params, res);
	return s;
}

enum db_status store_command(struct store *st, const char *sql)
{
	if (!store_connect(st))
		return DB_DOWN;
	bool idle = PQtransactionStatus(st->conn) == PQTRANS_IDLE;
	PGresult *r = PQexec(st->conn, sql);
	enum db_status s = r == NULL ? classify(st, NULL) : result_status(st, r, NULL);
	if (may_retry(st, idle, s) && store_connect(st)) {
		r = PQexec(st->conn, sql);
		s = r == NULL ? classify(st, NULL) : result_status(st, r, NULL);
	}
	return s;
}

enum db_status store_ping(struct store *st)
{
	static const struct store_stmt ping = {"store_ping", "SELECT 1", 0};
	enum db_status s = store_exec(st, &ping, NULL, NULL);
	return s == DB_ONE ? DB_ONE : DB_DOWN;
}

enum db_status store_tx(struct store *st, enum store_isolation iso, unsigned retries,
			enum db_status (*fn)(struct store *st, void *cls), void *cls)
{
	static const char *const begin[] = {
		[STORE_READ_COMMITTED] = "BEGIN ISOLATION LEVEL READ COMMITTED",
		[STORE_REPEATABLE_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ",
		[STORE_SERIALIZABLE] = "BEGIN ISOLATION LEVEL SERIALIZABLE",
	};
	for (unsigned attempt = 0;; attempt++) {
		enum db_status s = store_command(st, begin[iso]);
		if (s < 0)
			return s;
		s = fn(st, cls);
		if (s >= 0) {
			enum db_status c = store_command(st, "COMMIT");
			if (c >= 0)
				return s;
			s = c;
		}
		if (s != DB_DOWN)
			store_command(st, "ROLLBACK");
		if (s != DB_SOFT || attempt >= retries)
			return s;
		LOG_DEBUG("event=tx_retry attempt=%u sqlstate=%s", attempt + 1, st->sqlstate);
		usleep((useconds_t)(1000u << (attempt < 6 ? attempt : 6)));
	}
}
