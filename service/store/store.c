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
	struct queued *queue; /* statements waiting for the next round trip */
	size_t nqueue, capqueue;
	char last_error[512];
	char sqlstate[6];
	unsigned statement_ms, lock_ms; /* store_set_timeouts; 0 = none */
	bool no_autoconnect;            /* store_set_autoconnect(false) */
	unsigned long round_trips;      /* store_round_trips */
	bool commit_unknown;            /* store_commit_unknown */
	bool in_tx;                     /* store_in_tx */
};

/*
 * A statement queued by store_queue(): a prepared statement with copies of its
 * parameters, or (stmt NULL) a parameterless command such as BEGIN or COMMIT.
 */
struct queued {
	const struct store_stmt *stmt;
	const char *sql; /* the command, a static string, when stmt is NULL */
	char **params;
	bool prep;     /* a prepare for stmt was sent ahead of it */
	char **into;   /* store_queue_text: where its first value goes, or NULL */
	PGresult *res; /* ... its result, held until the whole round trip succeeded */
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

void store_set_timeouts(struct store *st, unsigned statement_ms, unsigned lock_ms)
{
	st->statement_ms = statement_ms;
	st->lock_ms = lock_ms;
}

static void store_disconnect(struct store *st)
{
	if (st->conn != NULL)
		PQfinish(st->conn);
	st->conn = NULL;
	st->nprepared = 0;
}

static void queue_clear(struct store *st)
{
	for (size_t i = 0; i < st->nqueue; i++) {
		const struct queued *q = &st->queue[i];
		for (int k = 0; q->stmt != NULL && k < q->stmt->nparams; k++)
			free(q->params[k]);
		free(q->params);
		PQclear(q->res);
	}
	st->nqueue = 0;
}

void store_free(struct store *st)
{
	if (st == NULL)
		return;
	store_disconnect(st);
	queue_clear(st);
	free(st->queue);
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
	/*
	 * No JIT: the service runs short statements, and the planner's estimates for the
	 * risk-history query (store_change_history) crossed jit_above_cost at some 10,000
	 * records, making PostgreSQL spend 40-90 ms compiling a query that runs in a few.
	 */
	char set[192];
	snprintf(set, sizeof set,
		 "SET client_min_messages = warning; SET statement_timeout = %u; "
		 "SET lock_timeout = %u; SET jit = off",
		 st->statement_ms, st->lock_ms);
	PQclear(PQexec(st->conn, set));
	if (st->lost) {
		LOG_INFO("event=db_reconnected");
		if (st->hooks.on_reconnect)
			st->hooks.on_reconnect(st->hooks.cls);
	}
	st->lost = false;
	st->last_error[0] = '\0';
	return true;
}

void store_set_autoconnect(struct store *st, bool on)
{
	st->no_autoconnect = !on;
}

bool store_connected(const struct store *st)
{
	return st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK;
}

/* Connects as a statement needs: store_connect, or only a check without autoconnect. */
static bool connect_for_use(struct store *st)
{
	if (!st->no_autoconnect)
		return store_connect(st);
	if (store_connected(st))
		return true;
	set_error(st, "not connected");
	return false;
}

bool store_in_tx(const struct store *st)
{
	return st->in_tx;
}

bool store_commit_unknown(struct store *st)
{
	bool unknown = st->commit_unknown;
	st->commit_unknown = false;
	return unknown;
}

unsigned long store_round_trips(const struct store *st)
{
	return st->round_trips;
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
	/* Every error the server sends has a SQLSTATE; one without is libpq's own: the
	 * connection broke (in a pipeline libpq may report it before PQstatus says so). */
	if (PQstatus(st->conn) != CONNECTION_OK || st->sqlstate[0] == '\0' ||
	    strncmp(st->sqlstate, "08", 2) == 0 || strncmp(st->sqlstate, "57P", 3) == 0) {
		LOG_WARN("event=db_connection_lost error=\"%s\"", st->last_error);
		store_disconnect(st);
		st->lost = true;
		return DB_DOWN;
	}
	/* A lost race -- serialization, deadlock, or two bookings overlapping on a service
	 * (exclusion_violation) -- is worth running the transaction again. */
	if (strcmp(st->sqlstate, "40001") == 0 || strcmp(st->sqlstate, "40P01") == 0 ||
	    strcmp(st->sqlstate, "23P01") == 0)
		return DB_SOFT;
	LOG_DEBUG("event=db_error sqlstate=%s error=\"%s\"", st->sqlstate, st->last_error);
	return DB_HARD;
}

enum tr_code store_error(const struct store *st, enum db_status s, const char *request_id,
			 struct tr_error *err)
{
	const char *state = st != NULL ? st->sqlstate : "";
	const char *rid = request_id != NULL && request_id[0] ? request_id : "-";
	if (s == DB_DOWN || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return tr_error_set(err, TR_E_DB_UNAVAILABLE, NULL,
				    "the database cannot be reached; retry shortly");
	if (s == DB_SOFT)
		return tr_error_set(err, TR_E_DB_CONFLICT, NULL,
				    "the database kept reporting conflicts; retry");
	if (strcmp(state, "25006") == 0) {
		LOG_WARN("event=db_read_only request_id=%s", rid);
		return tr_error_set(err, TR_E_DB_READ_ONLY, NULL,
				    "the database accepts no writes now (a standby or a "
				    "failover in progress); retry shortly");
	}
	if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0) {
		LOG_WARN("event=db_timeout request_id=%s sqlstate=%s", rid, state);
		return tr_error_set(err, TR_E_DB_TIMEOUT, NULL,
				    "the database did not answer in time (%s); retry shortly",
				    state[1] == '7' ? "statement timeout" : "lock timeout");
	}
	if (strncmp(state, "22", 2) == 0) {
		LOG_INFO("event=db_data_exception request_id=%s sqlstate=%s error=\"%s\"", rid,
			 state, st->last_error);
		tr_error_set(err, TR_E_BAD_REQUEST, NULL,
			     "a value in the request is not valid (malformed text, or a number "
			     "or date out of range)");
		tr_error_rule(err, TR_R_DATA);
		return TR_E_BAD_REQUEST;
	}
	LOG_ERROR("event=db_error request_id=%s sqlstate=%s error=\"%s\"", rid, state,
		  st != NULL ? st->last_error : "");
	return tr_error_set(err, TR_E_INTERNAL, NULL, "a database statement failed");
}

static bool is_prepared(const struct store *st, const struct store_stmt *stmt)
{
	for (size_t i = 0; i < st->nprepared; i++)
		if (st->prepared[i] == stmt)
			return true;
	return false;
}

/* Records that `stmt` is prepared on this connection.  Returns 0, or -1 when out of memory. */
static int prepare_note(struct store *st, const struct store_stmt *stmt)
{
	if (st->nprepared == st->capprepared) {
		size_t cap = st->capprepared ? st->capprepared * 2 : 32;
		const struct store_stmt **p = realloc(st->prepared, cap * sizeof *p);
		if (p == NULL) {
			set_error(st, "out of memory");
			return -1;
		}
		st->prepared = p;
		st->capprepared = cap;
	}
	st->prepared[st->nprepared++] = stmt;
	return 0;
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

/* ---- the queue and its pipelined round trip ----------------------------------------- */

static enum db_status enqueue(struct store *st, const struct store_stmt *stmt, const char *sql,
			      const char *const *params)
{
	if (st->nqueue == st->capqueue) {
		size_t cap = st->capqueue ? st->capqueue * 2 : 16;
		struct queued *q = realloc(st->queue, cap * sizeof *q);
		if (q == NULL)
			return DB_HARD;
		st->queue = q;
		st->capqueue = cap;
	}
	struct queued *q = &st->queue[st->nqueue];
	int n = stmt ? stmt->nparams : 0;
	q->stmt = stmt;
	q->sql = sql;
	q->prep = false;
	q->into = NULL;
	q->res = NULL;
	q->params = n > 0 ? calloc((size_t)n, sizeof *q->params) : NULL;
	if (n > 0 && q->params == NULL)
		return DB_HARD;
	for (int k = 0; k < n; k++) {
		if (params[k] != NULL && (q->params[k] = strdup(params[k])) == NULL) {
			for (int j = 0; j < k; j++)
				free(q->params[j]);
			free(q->params);
			return DB_HARD;
		}
	}
	st->nqueue++;
	return DB_NONE;
}

enum db_status store_queue(struct store *st, const struct store_stmt *stmt,
			   const char *const *params)
{
	enum db_status s = enqueue(st, stmt, NULL, params);
	if (s < 0)
		set_error(st, "out of memory");
	return s;
}

enum db_status store_queue_text(struct store *st, const struct store_stmt *stmt,
				const char *const *params, char **into)
{
	*into = NULL;
	enum db_status s = store_queue(st, stmt, params);
	if (s >= 0)
		st->queue[st->nqueue - 1].into = into;
	return s;
}

/*
 * After a round trip in which every statement succeeded: the first value of each
 * store_queue_text statement into its place (NULL for no row or SQL NULL).  False when
 * out of memory, with nothing delivered.
 */
static bool deliver_texts(struct store *st)
{
	for (size_t i = 0; i < st->nqueue; i++) {
		struct queued *q = &st->queue[i];
		if (q->into == NULL || q->res == NULL || PQntuples(q->res) < 1 ||
		    PQgetisnull(q->res, 0, 0))
			continue;
		if ((*q->into = strdup(PQgetvalue(q->res, 0, 0))) == NULL) {
			for (size_t k = 0; k < i; k++) {
				if (st->queue[k].into != NULL) {
					free(*st->queue[k].into);
					*st->queue[k].into = NULL;
				}
			}
			set_error(st, "out of memory");
			return false;
		}
	}
	return true;
}

/* Sends every queued statement (preparing those new to this connection) in one pipeline. */
static bool send_queue(struct store *st)
{
	if (PQenterPipelineMode(st->conn) != 1)
		return false;
	for (size_t i = 0; i < st->nqueue; i++) {
		struct queued *q = &st->queue[i];
		int ok;
		if (q->stmt == NULL) {
			ok = PQsendQueryParams(st->conn, q->sql, 0, NULL, NULL, NULL, NULL, 0);
		} else {
			ok = 1;
			q->prep = !is_prepared(st, q->stmt);
			for (size_t k = 0; q->prep && k < i; k++)
				q->prep = !(st->queue[k].prep && st->queue[k].stmt == q->stmt);
			if (q->prep)
				ok = PQsendPrepare(st->conn, q->stmt->name, q->stmt->sql,
						   q->stmt->nparams, NULL);
			ok = ok &&
			     PQsendQueryPrepared(st->conn, q->stmt->name, q->stmt->nparams,
						 (const char *const *)q->params, NULL, NULL, 0);
		}
		if (!ok)
			return false;
	}
	return PQpipelineSync(st->conn) == 1;
}

/*
 * Reads the results of a sent pipeline, in order.  Returns the status of the last
 * statement (its result in *res when wanted), or the first error.
 */
static enum db_status read_queue(struct store *st, PGresult **res)
{
	enum db_status status = DB_NONE, first_error = DB_NONE;
	for (size_t i = 0; i < st->nqueue; i++) {
		const struct queued *q = &st->queue[i];
		for (int part = q->prep ? 0 : 1; part < 2; part++) {
			PGresult *r = PQgetResult(st->conn);
			if (r == NULL)
				return first_error < 0 ? first_error : classify(st, NULL);
			ExecStatusType rs = PQresultStatus(r);
			if (rs == PGRES_PIPELINE_ABORTED) {
				PQclear(r);
			} else if (part == 0) { /* the prepare */
				if (rs == PGRES_COMMAND_OK && prepare_note(st, q->stmt) == 0) {
					PQclear(r);
				} else if (first_error == DB_NONE) {
					first_error = classify(st, r);
					PQclear(r);
				} else {
					PQclear(r);
				}
			} else {
				bool last = i + 1 == st->nqueue;
				status = result_status(st, r,
						       q->into != NULL ? &st->queue[i].res
						       : last          ? res
								       : NULL);
				if (status < 0 && first_error == DB_NONE)
					first_error = status;
			}
			if (st->conn == NULL)
				return first_error < 0 ? first_error : DB_DOWN;
			PGresult *end = PQgetResult(st->conn); /* NULL ends each statement */
			PQclear(end);
		}
	}
	PGresult *sync = PQgetResult(st->conn);
	if (sync == NULL || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
		PQclear(sync);
		return first_error < 0 ? first_error : classify(st, NULL);
	}
	PQclear(sync);
	if (PQexitPipelineMode(st->conn) != 1)
		return first_error < 0 ? first_error : classify(st, NULL);
	if (first_error < 0 && res != NULL && *res != NULL) {
		PQclear(*res);
		*res = NULL;
	}
	if (first_error == DB_NONE && !deliver_texts(st)) {
		if (res != NULL) {
			PQclear(*res);
			*res = NULL;
		}
		return DB_HARD;
	}
	return first_error < 0 ? first_error : status;
}

/* One round trip for everything queued. */
static enum db_status flush_once(struct store *st, PGresult **res)
{
	if (res != NULL)
		*res = NULL;
	st->round_trips++;
	if (!send_queue(st)) {
		set_error(st, PQerrorMessage(st->conn));
		if (st->hooks.on_error)
			st->hooks.on_error(st->hooks.cls);
		LOG_WARN("event=db_connection_lost error=\"%s\"", st->last_error);
		store_disconnect(st);
		st->lost = true;
		return DB_DOWN;
	}
	return read_queue(st, res);
}

/*
 * A connection that was idle when the server restarted only shows it is dead when next
 * used.  When the round trip began outside a transaction nothing is lost by
 * reconnecting and sending it once more, so a recovered database answers the very next
 * request.
 */
static enum db_status flush(struct store *st, PGresult **res)
{
	enum db_status s = DB_DOWN;
	if (connect_for_use(st)) {
		bool idle = PQtransactionStatus(st->conn) == PQTRANS_IDLE;
		s = flush_once(st, res);
		if (s == DB_DOWN && idle && st->conn == NULL && connect_for_use(st))
			s = flush_once(st, res);
	}
	queue_clear(st);
	return s;
}

enum db_status store_exec(struct store *st, const struct store_stmt *stmt,
			  const char *const *params, PGresult **res)
{
	enum db_status s = enqueue(st, stmt, NULL, params);
	if (s < 0) {
		queue_clear(st);
		set_error(st, "out of memory");
		return s;
	}
	return flush(st, res);
}

/* A command alone goes by the simple protocol, which also runs multi-statement scripts. */
static enum db_status command_simple(struct store *st, const char *sql)
{
	enum db_status s = DB_DOWN;
	for (int attempt = 0; attempt < 2 && s == DB_DOWN; attempt++) {
		if (!connect_for_use(st))
			return DB_DOWN;
		bool idle = PQtransactionStatus(st->conn) == PQTRANS_IDLE;
		st->round_trips++;
		PGresult *r = PQexec(st->conn, sql);
		s = r == NULL ? classify(st, NULL) : result_status(st, r, NULL);
		if (!idle)
			break; /* inside a transaction a lost connection lost the transaction */
	}
	return s;
}

enum db_status store_command(struct store *st, const char *sql)
{
	if (st->nqueue == 0)
		return command_simple(st, sql);
	enum db_status s = enqueue(st, NULL, sql, NULL);
	if (s < 0) {
		queue_clear(st);
		set_error(st, "out of memory");
		return s;
	}
	return flush(st, NULL);
}

enum db_status store_ping(struct store *st)
{
	static const struct store_stmt ping = {"store_ping", "SELECT 1", 0};
	enum db_status s = store_exec(st, &ping, NULL, NULL);
	return s == DB_ONE ? DB_ONE : DB_DOWN;
}

enum db_status store_check_writable(struct store *st)
{
	static const struct store_stmt check = {
		"store_check_writable",
		"SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'", 0};
	PGresult *res;
	enum db_status s = store_exec(st, &check, NULL, &res);
	if (s != DB_ONE)
		return DB_DOWN;
	bool recovery = PQgetvalue(res, 0, 0)[0] == 't';
	bool read_only = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (!recovery && !read_only)
		return DB_ONE;
	set_error(st, recovery ? "the database is a standby in recovery"
			       : "the database is read-only (default_transaction_read_only)");
	return DB_NONE;
}

enum db_status store_tx(struct store *st, enum store_isolation iso, unsigned retries,
			enum db_status (*fn)(struct store *st, void *cls), void *cls)
{
	/* Prepared once per connection like the statements they enclose: PostgreSQL then
	 * parses neither again for each transaction. */
	static const struct store_stmt begin[] = {
		[STORE_READ_COMMITTED] = {"tx_begin_rc", "BEGIN ISOLATION LEVEL READ COMMITTED", 0},
		[STORE_REPEATABLE_READ] = {"tx_begin_rr", "BEGIN ISOLATION LEVEL REPEATABLE READ",
					   0},
		[STORE_SERIALIZABLE] = {"tx_begin_s", "BEGIN ISOLATION LEVEL SERIALIZABLE", 0},
	};
	static const struct store_stmt commit = {"tx_commit", "COMMIT", 0};
	for (unsigned attempt = 0;; attempt++) {
		/* BEGIN goes out with the transaction's first statement, COMMIT with its last
		 * queued ones: a short transaction costs two round trips. */
		queue_clear(st);
		enum db_status s = enqueue(st, &begin[iso], NULL, NULL);
		if (s < 0)
			return s;
		st->in_tx = true;
		s = fn(st, cls);
		st->in_tx = false;
		if (s >= 0) {
			/* COMMIT alone (nothing queued: the simple protocol) or with the queue */
			enum db_status c = st->nqueue == 0 ? store_command(st, "COMMIT")
							   : store_exec(st, &commit, NULL, NULL);
			if (c >= 0)
				return s;
			st->commit_unknown = c == DB_DOWN; /* lost on the way, or the answer */
			s = c;
		}
		queue_clear(st); /* what fn queued after its refusal is dropped */
		if (s != DB_DOWN && st->conn != NULL &&
		    PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
			/* The caller wants the failure's SQLSTATE and message, not ROLLBACK's. */
			char state[sizeof st->sqlstate], error[sizeof st->last_error];
			memcpy(state, st->sqlstate, sizeof state);
			memcpy(error, st->last_error, sizeof error);
			store_command(st, "ROLLBACK");
			memcpy(st->sqlstate, state, sizeof state);
			memcpy(st->last_error, error, sizeof error);
		}
		if (s != DB_SOFT || attempt >= retries)
			return s;
		LOG_DEBUG("event=tx_retry attempt=%u sqlstate=%s", attempt + 1, st->sqlstate);
		usleep((useconds_t)(1000u << (attempt < 6 ? attempt : 6)));
	}
}
