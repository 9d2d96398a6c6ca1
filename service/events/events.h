/*
 * events.h -- live record events for Server-Sent Events subscribers.
 *
 * The store announces every record change with NOTIFY on the channel `transom_events`,
 * a JSON payload such as
 *   {"seq": 42, "type": "record.created", "kind": "change", "id": "CHG-12",
 *    "services": ["payments"], ...}
 * PostgreSQL delivers it on commit to every listening connection, i.e. to every
 * replica.  The hub is one thread per process that owns the LISTEN connection
 * (store/listen.h), keeps the recent events in a bounded ring and wakes the
 * subscribers; a subscriber is one SSE client with its filter and its place in the
 * ring, read by whoever serves the client (the HTTP layer, on its own threads).
 *
 * The stream a subscriber reads is SSE text (sse.c formats it):
 *   retry: 3000                       once, first
 *   id: 42 / event: record.created / data: {...}   one block per event
 *   event: resync / data: {"reason": ...}          events may have been missed
 *   : keep-alive                      a comment every keep-alive interval
 * Events keep the order PostgreSQL delivered them in (commit order), which is the same
 * on every replica; `seq` need not grow along it.
 *
 * Nothing here knows about HTTP: the reader of a subscriber passes a wake callback.
 */
#ifndef TRANSOM_EVENTS_H
#define TRANSOM_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define EVENTS_CHANNEL "transom_events"
/* The payload saying API tokens or their users changed (not streamed to subscribers). */
#define EVENTS_TOKENS_CHANGED      "{\"type\":\"token.changed\"}"
#define EVENTS_RETRY_MS            3000 /* the `retry:` hint sent to every client */
#define EVENTS_FILTER_MAX_SERVICES 16   /* services one filter may name */
#define EVENTS_SERVICE_MAX         64   /* longest service name + 1 */
#define EVENTS_TYPE_MAX            64   /* longest event type + 1 */
#define EVENTS_PAYLOAD_MAX         8000 /* NOTIFY's own limit is a little under 8000 */
#define EVENTS_USER_MAX            128  /* longest user name + 1 (http_user's) */

/* Record kinds, as bits of a filter. */
enum events_kind {
	EVENTS_KIND_CHANGE = 1u << 0,
	EVENTS_KIND_INCIDENT = 1u << 1,
	EVENTS_KIND_PROBLEM = 1u << 2,
};

/* ---- one event (sse.c, pure) ------------------------------------------------------------ */

struct events_event {
	long long seq; /* the audit sequence number; valid when has_seq */
	bool has_seq;
	char type[EVENTS_TYPE_MAX]; /* e.g. "record.transitioned" */
	unsigned kind;              /* one EVENTS_KIND_* bit, 0 for a kind we do not know */
	char *services;             /* owned: `nservices` NUL-terminated names, back to back */
	size_t nservices;
	char *frame; /* owned: the SSE block, "id: ...\nevent: ...\ndata: ...\n\n" */
	size_t frame_len;
};

/*
 * Parses a NOTIFY payload into `ev` (which the caller clears with events_event_clear).
 * The payload must be a JSON object with a string "type" of letters, digits, '.', '_'
 * or '-'; "seq" (integer), "kind" and "services" (array of strings; a string "service"
 * is taken as a list of one) are optional.  The SSE frame carries the payload as its
 * data line, re-encoded only if it spans lines.  Returns TR_OK, TR_E_BAD_REQUEST with
 * `err` (may be NULL) saying what is wrong, or TR_E_NOMEM.
 */
enum tr_code events_event_parse(const char *payload, struct events_event *ev, struct tr_error *err);

/* Frees what `ev` owns and empties it. */
void events_event_clear(struct events_event *ev);

/* ---- filters (sse.c, pure) -------------------------------------------------------------- */

/* What one subscriber wants.  Zeroed = everything. */
struct events_filter {
	unsigned kinds;     /* EVENTS_KIND_* bits; 0 = every kind */
	unsigned nservices; /* 0 = every service */
	char services[EVENTS_FILTER_MAX_SERVICES][EVENTS_SERVICE_MAX];
};

/*
 * Fills `f` from the query parameters `kinds` ("change,incident") and `services`
 * ("payments,web"); either may be NULL (no restriction).  Returns TR_OK, or
 * TR_E_BAD_PARAMETER with err->field "kind" or "service" naming the parameter: an
 * unknown kind, an empty list or item, more than EVENTS_FILTER_MAX_SERVICES services
 * or a name of EVENTS_SERVICE_MAX bytes or more.
 */
enum tr_code events_filter_parse(struct events_filter *f, const char *kinds, const char *services,
				 struct tr_error *err);

/*
 * True when `ev` passes `f`: its kind is one of the filter's kinds (if any are named)
 * and one of its services is one of the filter's services (if any are named).
 */
bool events_filter_match(const struct events_filter *f, const struct events_event *ev);

/* The SSE block telling a client it may have missed events, with `reason` (static). */
char *events_frame_resync(const char *reason, size_t *len);

/* ---- the hub (hub.c) -------------------------------------------------------------------- */

struct events_hub_opts {
	const char *conninfo;     /* database to LISTEN on; NULL = none (events only come
				     from events_hub_publish, for tests) */
	unsigned ring_size;       /* recent events kept for Last-Event-ID; 0 = 1024 */
	unsigned keepalive_ms;    /* keep-alive comment interval; 0 = 15000 */
	unsigned max_subscribers; /* concurrent subscribers; 0 = 256 */
	unsigned start_wait_ms;   /* how long start waits for LISTEN; 0 = 5000 */
	/* Called on the hub thread when tokens changed (EVENTS_TOKENS_CHANGED), and when
	 * the listener is lost or back, since changes may then go unseen; may be NULL. */
	void (*on_tokens_changed)(void *cls);
	void *cls;
};

struct events_hub;

/*
 * Starts the hub thread.  With a database it connects and LISTENs on EVENTS_CHANNEL,
 * waiting up to opts->start_wait_ms for LISTEN to be in force (after that it goes on
 * trying in the background and logs).  Returns an owned hub, or NULL with `err` set
 * (out of memory, no thread).
 */
struct events_hub *events_hub_start(const struct events_hub_opts *opts, struct tr_error *err);

/*
 * Stops the thread, closes the connection, frees `hub`; NULL is a no-op.  Every
 * subscriber must have been freed first (stop the HTTP server first); if some remain,
 * the hub is left allocated (and an error logged) rather than freed under them.
 */
void events_hub_stop(struct events_hub *hub);

/*
 * Adds one event as if it had been NOTIFYed (the hub thread does this for every
 * notification).  A payload events_event_parse refuses is logged and dropped.
 * Thread-safe.  Returns TR_OK or the parse error.
 */
enum tr_code events_hub_publish(struct events_hub *hub, const char *payload);

/* Records that events may have been lost (as after the LISTEN connection came back). */
void events_hub_resync(struct events_hub *hub, const char *reason);

/* ---- subscribers (hub.c) ---------------------------------------------------------------- */

struct events_sub;

/*
 * Creates a subscriber of `hub` with filter `f` (copied).  With `has_last`, the stream
 * resumes after the event whose seq is `last_seq` when the ring still holds it;
 * otherwise it starts with a resync block.  Without, it starts at the next event.
 * Nothing is delivered (no wake) until events_sub_start.  Returns TR_OK and *out
 * (owned: events_sub_free), or TR_E_NOT_READY (at max_subscribers, or stopping) or
 * TR_E_NOMEM with `err` set.  Thread-safe.
 */
enum tr_code events_sub_new(struct events_hub *hub, const struct events_filter *f, bool has_last,
			    long long last_seq, struct events_sub **out, struct tr_error *err);

/*
 * Whether `s` was asked to resume after a Last-Event-ID its hub no longer holds (it
 * would start with a resync block).  Thread-safe.
 */
bool events_sub_wants_history(struct events_sub *s);

/*
 * Gives `s` the events after its Last-Event-ID from elsewhere (the events table):
 * `payloads` (n NOTIFY payloads, oldest first, borrowed) are sent first, through the
 * subscriber's filter, instead of the resync block; events the ring delivers later with
 * a seq not above the last of them are skipped.  Call before events_sub_start.  TR_OK
 * or TR_E_NOMEM.
 */
enum tr_code events_sub_history(struct events_sub *s, const char *const *payloads, size_t n);

/*
 * From now on the hub calls `wake(cls)` whenever `s` may have something new to read
 * (an event, a resync, a keep-alive, or the end).  `wake` runs on the hub's thread or
 * the publisher's, with the hub locked: it must be quick, must not block and must not
 * call back into the hub.
 */
void events_sub_start(struct events_sub *s, void (*wake)(void *cls), void *cls);

/* Return value of events_sub_read() at the end of the stream. */
#define EVENTS_SUB_END (-1L)

/*
 * Copies up to `max` bytes of the subscriber's SSE stream that are ready now into
 * `buf`.  Returns their count; 0 when nothing is ready (wait for the wake); or
 * EVENTS_SUB_END when the stream is over: the hub is stopping, or the subscriber fell
 * more than ring_size events behind (it should reconnect with Last-Event-ID and will
 * get a resync).  Never blocks for long.  Per subscriber, one reader at a time.
 */
long events_sub_read(struct events_sub *s, char *buf, size_t max);

/* Unsubscribes and frees `s`; after it returns, wake is not called again.  NULL: no-op. */
void events_sub_free(struct events_sub *s);

/*
 * Tags `s` with the credential it was opened with: `owner` (an API token id, a web
 * session's id negated; 0 = none), so that events_hub_end_owner() can end the stream when
 * that credential dies; `user`, whose it is, so that events_hub_end_user() can end it
 * when the user is disabled (whatever the credential: a JWT has no id of ours); and
 * `ends_mono` (clock_mono_ms; 0 = never), when the credential expires by itself (a JWT's
 * exp): the hub ends the stream when that time comes.  Thread-safe.
 */
void events_sub_set_owner(struct events_sub *s, long long owner, const char *user,
			  long long ends_mono);

/*
 * The distinct nonzero owners of the open subscribers of `hub`, at most `max` of them into
 * `out`; returns how many.  Thread-safe.
 */
size_t events_hub_owners(struct events_hub *hub, long long *out, size_t max);

/* Ends every stream of `owner` once what it holds is read.  Thread-safe. */
void events_hub_end_owner(struct events_hub *hub, long long owner);

/*
 * The distinct users of the open subscribers of `hub` (those tagged with one), at most
 * `max` into `out`; returns how many.  Thread-safe.
 */
size_t events_hub_users(struct events_hub *hub, char (*out)[EVENTS_USER_MAX], size_t max);

/* Ends every stream of `user` once what it holds is read.  Thread-safe. */
void events_hub_end_user(struct events_hub *hub, const char *user);

/* Whether the hub's LISTEN connection is up (the database answered lately). */
bool events_hub_listening(struct events_hub *hub);

#endif /* TRANSOM_EVENTS_H */
