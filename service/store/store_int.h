/*
 * store_int.h -- what the aggregate files of the store module share (internal).
 */
#ifndef TRANSOM_STORE_INT_H
#define TRANSOM_STORE_INT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "store/store.h"

/*
 * SQL fragments of the aggregates: times cross the wire as milliseconds since the epoch.
 *   MS("created_at")  a timestamptz column as bigint milliseconds
 *   TS("$3")          a bigint-milliseconds parameter as a timestamptz
 */
#define MS(col)   "(extract(epoch FROM " col ") * 1000)::bigint"
#define TS(param) "to_timestamp(" param "::bigint / 1000.0)"

/* A statement of an aggregate: a static object, prepared once per connection. */
struct store_stmt {
	const char *name; /* unique server-side name, e.g. "token_insert" */
	const char *sql;  /* with $1..$n placeholders */
	int nparams;
};

/*
 * Runs `stmt` with `params` (text format, NULL = SQL NULL).  On success returns the row
 * count (DB_NONE, DB_ONE, or more) and, when `res` is not NULL, the result, owned by the
 * caller (PQclear).  On error returns DB_DOWN, DB_SOFT or DB_HARD; *res is then NULL.
 */
enum db_status store_exec(struct store *st, const struct store_stmt *stmt,
			  const char *const *params, PGresult **res);

/* Runs a parameterless utility command (BEGIN, COMMIT, ...). */
enum db_status store_command(struct store *st, const char *sql);

/* Whether `st` is inside store_tx's function: a statement sent now is in its transaction. */
bool store_in_tx(const struct store *st);

/*
 * Queues `stmt` with `params` (copied) without waiting for it: it is sent, pipelined,
 * with the next store_exec() or store_command() (COMMIT, at the latest), whose status
 * then reports the first failure of any queued statement.  Use it for writes whose
 * result the caller does not need.  DB_NONE, or DB_HARD when out of memory.
 */
enum db_status store_queue(struct store *st, const struct store_stmt *stmt,
			   const char *const *params);

/*
 * The risk history as store_change_history answers it, from rows of (bucket: "services",
 * "templates" or "teams"; key; changes; failures; incidents caused): owned, NULL when out
 * of memory.  Shared with the tests that hold the counters to the query they replaced.
 */
json_t *store_history_answer(const PGresult *res);

/*
 * store_queue() for a read whose answer the caller takes once the round trip that carries
 * it (the transaction's COMMIT, at the latest) has succeeded as a whole: the first column
 * of its first row, as text, into *into (owned by the caller then; NULL for no row or
 * SQL NULL).  *into is NULL from the call until then, and stays NULL when that round
 * trip fails or the queue is dropped (a refusal).  `into` must stay valid until then.
 * DB_NONE, or DB_HARD when out of memory.
 */
enum db_status store_queue_text(struct store *st, const struct store_stmt *stmt,
				const char *const *params, char **into);

#endif /* TRANSOM_STORE_INT_H */
