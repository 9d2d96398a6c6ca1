/*
 * session.h -- one thread's (or one job's) hold on the application: its own database
 * connection and its snapshot of the definitions.
 *
 * A use case runs on a session; the HTTP side gets this thread's with app_worker_get(),
 * a background job makes its own with app_session_new().  A session is used by one
 * thread at a time.
 */
#ifndef TRANSOM_APP_SESSION_H
#define TRANSOM_APP_SESSION_H

#include "app/app.h"
#include "core/err.h"

struct store;
struct rec_ctx;

/* Who calls a use case (all borrowed). */
struct app_actor {
	const char *name;       /* the user name */
	unsigned roles;         /* ROLE_* bits of the credential */
	long long token_id;     /* the API token behind the credential (0: none) */
	const char *request_id; /* for the log; may be NULL */
};

struct app_session {
	struct app *app;
	struct store *store;    /* this session's connection (owned) */
	struct defs *defs;      /* its reference to the definitions (app_session_defs) */
	unsigned long defs_gen; /* the generation of `defs` */
};

/* What a new session's connection has (app_session_new). */
enum app_session_flags {
	APP_SESSION_PLAIN = 0,    /* no statement timeouts, no metrics hooks */
	APP_SESSION_TIMEOUTS = 1, /* cfg->statement_ms and cfg->lock_ms */
	APP_SESSION_HOOKS = 2,    /* database errors and reconnects counted in app->metrics */
	APP_SESSION_SHORT = 4     /* for a thread that must not wait: statements bounded by
				     APP_SHORT_STATEMENT_MS and APP_SHORT_LOCK_MS (instead of
				     the configured timeouts), and no connect but by
				     app_session_connect() */
};

/* The bounds of an APP_SESSION_SHORT session's statements, in ms. */
#define APP_SHORT_STATEMENT_MS 200
#define APP_SHORT_LOCK_MS      100

/*
 * A new session of `app` (borrowed; it must outlive the session) with `flags`
 * (enum app_session_flags).  The connection is made on first use.  NULL when out of
 * memory.  Release with app_session_free (NULL is a no-op).
 */
struct app_session *app_session_new(struct app *app, unsigned flags);
void app_session_free(struct app_session *s);

/* Connects `s` now if it is not connected (waits as long as connecting takes): whether
 * it is connected. */
bool app_session_connect(struct app_session *s);

/* Whether `s` is connected now (no round trip, never waits). */
bool app_session_connected(const struct app_session *s);

/* Whether a write of `s` since the last call lost its connection with COMMIT in flight,
 * so that it may have been made (store_commit_unknown): such a write is never run again.
 * Forgets it. */
bool app_session_commit_unknown(struct app_session *s);

/*
 * The per-thread sessions of `app` (app_init and app_destroy call these): 0, or -1 when
 * no thread key is left.  Destroying frees the calling thread's session; the others are
 * freed as their threads end.
 */
int app_sessions_init(struct app *app);
void app_sessions_destroy(struct app *app);

/*
 * This thread's session (created on first use, with timeouts and hooks; freed when the
 * thread ends or by app_destroy for the calling thread).  NULL only when out of memory.
 */
struct app_session *app_worker_get(struct app *app);

/* The current definitions (this session's reference, refreshed when they changed); NULL
 * when none are loaded. */
struct defs *app_session_defs(struct app_session *s);

/*
 * Query argument `name`, a time (RFC 3339) or a date (2026-12-05: its midnight UTC), into
 * *ms when given (`v` NULL leaves *ms); false with a 400 naming it otherwise.
 */
bool app_time_arg(const char *name, const char *v, long long *ms, struct tr_error *err);

/*
 * Maps `status`, a failed enum db_status of this session's connection, to an error in
 * `err` (503 when the database is down or timed out; no SQL text) and returns its code.
 */
enum tr_code app_session_error(struct app_session *s, int status, const char *request_id,
			       struct tr_error *err);

/* What the last failed statement of the session said (for logs only, never replies). */
const char *app_session_last_error(const struct app_session *s);

/*
 * Fills `c` for a use case run by `actor` (borrowed; "system" for a job) with `roles`
 * on session `s` at the current time: TR_OK, or TR_E_NOT_READY with `err` set when no
 * definitions are loaded.  `request_id` may be NULL.  No Idempotency-Key.
 */
enum tr_code app_session_context(struct app_session *s, const char *actor, unsigned roles,
				 const char *request_id, struct rec_ctx *c, struct tr_error *err);

#endif /* TRANSOM_APP_SESSION_H */
