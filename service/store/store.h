/*
 * store.h -- PostgreSQL access (the only module that includes <libpq-fe.h>).
 *
 * A `struct store` is one connection, used by one thread at a time (each HTTP worker
 * thread has its own).  It connects lazily and reconnects by itself: when PostgreSQL
 * goes away, calls fail with DB_DOWN (the HTTP layer answers 503) and the next call
 * after it comes back reconnects, re-preparing statements as they are used.
 *
 * SQL lives in one file per aggregate (tokens.c, ...), each statement prepared once per
 * connection and always run with bound parameters.
 */
#ifndef TRANSOM_STORE_H
#define TRANSOM_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* Outcome of a database call: negative is an error, otherwise a row count. */
enum db_status {
	DB_DOWN = -3, /* no connection to PostgreSQL: retry later (503) */
	DB_HARD = -2, /* the statement failed: a bug or a violated constraint (see sqlstate) */
	DB_SOFT = -1, /* serialization failure, deadlock, booking overlap (23P01): retry */
	DB_NONE = 0,  /* success, no rows */
	DB_ONE = 1,   /* success, one row (larger values: that many rows) */
};

/* Hooks for metrics; any may be NULL. */
struct store_hooks {
	void (*on_error)(void *cls);
	void (*on_reconnect)(void *cls);
	void *cls;
};

struct store;

/*
 * Creates a connection object for `conninfo` (a libpq connection string or URI; copied).
 * Does not connect yet.  Returns NULL only when out of memory.
 */
struct store *store_new(const char *conninfo, const struct store_hooks *hooks);

/*
 * Bounds every statement on this connection: `statement_ms` (statement_timeout) and
 * `lock_ms` (lock_timeout), 0 = no bound.  Applied at each (re)connect; call before the
 * first use.  A statement cut short fails with SQLSTATE 57014 or 55P03 (store_error:
 * 503), so one held lock or slow query cannot hold a request thread for long.
 */
void store_set_timeouts(struct store *st, unsigned statement_ms, unsigned lock_ms);

/* Closes the connection and frees `st`; NULL is a no-op. */
void store_free(struct store *st);

/*
 * With `on` false, statements never (re)connect by themselves: with no connection they
 * fail at once with DB_DOWN, and a connection lost is not made again until
 * store_connect() is called.  For a connection used on a thread that must not wait for a
 * connect (libmicrohttpd's polling threads).  Default: on.
 */
void store_set_autoconnect(struct store *st, bool on);

/* Whether `st` holds a usable connection now (no round trip). */
bool store_connected(const struct store *st);

/*
 * The round trips made on this connection object so far: each exchange of statements
 * with the server, pipelined or not, counts one (connecting does not).  What a use case
 * costs in latency, for tests and diagnostics.  Not thread-safe, as `st` is not.
 */
unsigned long store_round_trips(const struct store *st);

/*
 * Connects now if not connected.  Returns true when a usable connection exists; on
 * false, store_last_error() says why.
 */
bool store_connect(struct store *st);

/* Checks the server answers (SELECT 1).  DB_ONE when it does, DB_DOWN otherwise. */
enum db_status store_ping(struct store *st);

/* The last error message of `st` (borrowed; "" when none). */
const char *store_last_error(const struct store *st);

/* The SQLSTATE of the last failed statement ("" when none), e.g. "23505". */
const char *store_last_sqlstate(const struct store *st);

/*
 * The one map from a failed database call to the API's error (every caller that turns
 * an enum db_status into a reply uses it), filling `err` and returning its code:
 *   DB_DOWN, SQLSTATE class 08, 57P01..57P05   TR_E_DB_UNAVAILABLE (503)
 *   DB_SOFT (serialization, deadlock, overlap)  TR_E_DB_CONFLICT (503)
 *   25006 (read-only transaction: a standby)    TR_E_DB_READ_ONLY (503)
 *   57014, 55P03 (statement or lock timeout)    TR_E_DB_TIMEOUT (503)
 *   class 22 (data exception: bad encoding,     TR_E_BAD_REQUEST (400, rule "data")
 *     a number out of range...)
 *   anything else                               TR_E_INTERNAL (500)
 * The server's message never goes into `err` (it may quote data or the schema); it is
 * logged with `request_id` (may be NULL or "") and the SQLSTATE instead.
 */
enum tr_code store_error(const struct store *st, enum db_status s, const char *request_id,
			 struct tr_error *err);

/*
 * Checks the server answers and accepts writes (not a standby in recovery, and
 * transaction_read_only off).  DB_ONE when writable, DB_NONE when read-only (the
 * reason in store_last_error), DB_DOWN when it does not answer (or not in time).
 */
enum db_status store_check_writable(struct store *st);

enum store_isolation {
	STORE_READ_COMMITTED,
	STORE_REPEATABLE_READ,
	STORE_SERIALIZABLE,
};

/*
 * Runs `fn` inside a transaction at `iso`.  When `fn` (or COMMIT) yields DB_SOFT the
 * transaction is rolled back and run again, up to `retries` more times.  Returns what
 * `fn` returned (after a successful COMMIT), or the error.  `fn` must not keep effects
 * outside the database between attempts.
 */
enum db_status store_tx(struct store *st, enum store_isolation iso, unsigned retries,
			enum db_status (*fn)(struct store *st, void *cls), void *cls);

/*
 * Whether a store_tx since the last call lost its connection with COMMIT in flight: that
 * transaction may or may not have committed, so it must not be run again as if it had
 * not.  Forgets it.
 */
bool store_commit_unknown(struct store *st);

/*
 * Applies the embedded migrations not yet recorded in `schema_version`, each in its own
 * transaction, under an advisory lock so replicas starting together do not race.
 * Writes one line per applied migration to the log.  Returns DB_NONE/DB_ONE on success
 * (DB_ONE if any were applied) or an error.
 */
enum db_status store_migrate(struct store *st);

/* The highest migration version recorded, or -1 on error. */
int store_schema_version(struct store *st);

/* How many migrations this build embeds: the schema version it expects. */
int store_schema_expected(void);

/*
 * Grants the serving role `role` what `transomd serve` needs and no more (migration
 * 0014's transom_grant_serving): run as the schema's owner, after migrating.  DB_NONE or
 * DB_ONE on success; DB_HARD when `role` does not exist, is the owner or is privileged
 * (store_last_error says which).
 */
enum db_status store_grant_serving(struct store *st, const char *role);

/* The database role `st` is logged in as into `out` ("" on error).  DB_ONE or an error. */
enum db_status store_current_role(struct store *st, char *out, size_t outlen);

#endif /* TRANSOM_STORE_H */
