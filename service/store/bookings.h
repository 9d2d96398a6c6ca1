/*
 * bookings.h -- SQL of the bookings table (where scheduled changes run) and feed tokens.
 *
 * The table refuses two bookings overlapping on one service (an exclusion constraint),
 * whichever process writes them; scheduling transactions also take one advisory lock so
 * that bookings on dependent services are planned one after the other.
 */
#ifndef TRANSOM_STORE_BOOKINGS_H
#define TRANSOM_STORE_BOOKINGS_H

#include <jansson.h>

#include "store/store.h"

/*
 * Takes the scheduling lock until the end of the transaction: the next scheduler of any
 * replica waits, then sees these bookings.  Every writer of bookings takes it first (see
 * store_schedule_version).  DB_ONE on success.
 */
enum db_status store_schedule_lock(struct store *st);

/* One booking of a change (its rows over the same span, one per service). */
struct store_booking_row {
	char change[32];
	char *services; /* JSON array text, sorted (owned) */
	long long start_ms, end_ms;
	char *window_uid;                         /* or NULL (owned) */
	long long window_start_ms, window_end_ms; /* 0 without a window */
	char state[128];                          /* the change's */
	char *title;                              /* the change's (owned) */
	char *type;                               /* the change's, or NULL (owned) */
	int sequence;                             /* its schedule's iTIP sequence, 0 without */
	long long updated_ms;                     /* its last write */
	char *fp; /* its fingerprint (store_feed_bookings), else NULL (owned) */
};

struct store_booking_rows {
	size_t n;
	struct store_booking_row *v; /* (owned) */
};

/* Releases the rows of `rows`. */
void store_booking_rows_clear(struct store_booking_rows *rows);

/*
 * Bookings overlapping [from_ms, to_ms) (0, 0: all), optionally only those of changes
 * booked on `service` (NULL: all), earliest first, into `out`.  DB_ONE or an error.
 */
enum db_status store_booking_rows(struct store *st, long long from_ms, long long to_ms,
				  const char *service, struct store_booking_rows *out);

/*
 * store_booking_rows as an owned array in *out of
 *   {"change", "services": [..], "start_ms", "end_ms", "start", "end", "window_uid",
 *    "window_start_ms", "window_end_ms", "state", "title", "type", "sequence",
 *    "updated_ms" (the change's last write)}
 */
enum db_status store_bookings_list(struct store *st, long long from_ms, long long to_ms,
				   const char *service, json_t **out);

/*
 * What the schedule feeds' cache (app/feed_cache.c) reads: store_bookings_list over
 * [from_ms, to_ms) without a service, of the changes in `changes` only (a JSON array of
 * ids; NULL: all), each booking with one more member, "fp": its fingerprint, a string
 * that differs between two reads whenever anything the list shows of it differs (made
 * of the ids of the transactions that wrote its rows and its change's record).  Owned
 * array in *out.  DB_ONE, or an error.
 */
enum db_status store_feed_bookings(struct store *st, long long from_ms, long long to_ms,
				   const json_t *changes, json_t **out);

/* store_feed_bookings as rows (each with its fp), to be turned into JSON a few at a time. */
enum db_status store_feed_rows(struct store *st, long long from_ms, long long to_ms,
			       const json_t *changes, struct store_booking_rows *out);

/*
 * Rows [first, first + n) of `rows` (fewer at the end) as store_bookings_list's array,
 * each with "fp" when the row has one.  Owned; NULL when out of memory.
 */
json_t *store_booking_rows_json(const struct store_booking_rows *rows, size_t first, size_t n);

/* One booking of a change as store_feed_bookings lists it, but only its key and mark. */
struct store_booking_mark {
	const char *change;         /* the change's id (borrowed from the list) */
	long long start_ms, end_ms; /* its span */
	const char *fp;             /* its fingerprint, as store_feed_bookings gives it */
};

struct store_booking_marks {
	size_t n;
	struct store_booking_mark *v; /* in store_feed_bookings' order (owned) */
	char *text;                   /* the strings (owned) */
};

/*
 * The bookings store_feed_bookings(st, from_ms, to_ms, NULL) would list, in its order,
 * with their fingerprints only: no change's data is read, so this costs a fraction of
 * the list.  Into `out` (release with store_booking_marks_clear).  DB_ONE, or an error.
 */
enum db_status store_booking_marks(struct store *st, long long from_ms, long long to_ms,
				   struct store_booking_marks *out);

/* Releases what store_booking_marks put into `m`, and empties it. */
void store_booking_marks_clear(struct store_booking_marks *m);

/*
 * Replaces the booking of `change` by one row per service of `services` (a JSON array)
 * over [start_ms, end_ms), in window `window_uid` (may be NULL) whose instance spans
 * [window_start_ms, window_end_ms).  Queued: an overlap on a service fails the COMMIT
 * (SQLSTATE 23P01, retried as a conflict).
 */
enum db_status store_booking_set(struct store *st, const char *change, json_t *services,
				 long long start_ms, long long end_ms, const char *window_uid,
				 long long window_start_ms, long long window_end_ms);

/* Drops the booking of `change`, if any.  Queued. */
enum db_status store_booking_drop(struct store *st, const char *change);

/*
 * The two versions that move whenever store_bookings_list would answer otherwise: the
 * bookings' (schedule_version, migration 0021) and that of what the list reads of the
 * booked changes (feed_version, migration 0024).  Both raised in the writers'
 * transactions, so equal pairs read at two times mean equal lists.  DB_ONE, or an error.
 */
enum db_status store_feed_version(struct store *st, long long *bookings, long long *records);

/*
 * The version of the bookings (migration 0021): raised by every booking row inserted,
 * deleted or moved, in the writer's transaction.  Read under the scheduling lock, it says whether
 * anything was booked, moved or released since an earlier read; read after a
 * transaction's own writes, it is the version they made.  DB_ONE and *version, or an
 * error.
 */
enum db_status store_schedule_version(struct store *st, long long *version);

/*
 * store_schedule_version, and *mine: whether the running transaction has itself written
 * bookings (so the version and the bookings it reads include writes that may yet roll
 * back).  DB_ONE, or an error.
 */
enum db_status store_schedule_version_mine(struct store *st, long long *version, bool *mine);

/*
 * The bookings overlapping [from_ms, to_ms) as a planner reads them (planner_new):
 * owned array of {"change", "services" (sorted), "start_ms", "end_ms", "window_uid"},
 * the same bookings in the same order as store_bookings_list without a service filter.
 */
enum db_status store_bookings_placed(struct store *st, long long from_ms, long long to_ms,
				     json_t **out);

/*
 * The earliest end of a booking after `after_ms` (*end_ms; 0 when none): when a change
 * still waiting at the end of its slot has missed it.  DB_ONE, or an error.
 */
enum db_status store_bookings_next_end(struct store *st, long long after_ms, long long *end_ms);

/*
 * The changes that hold a slot or wait for one (data.schedule set, still in the state
 * that scheduled them), in planning order (approval time, then id): an owned array of
 * {"id", "workflow", "state", "data"}, data holding only what placing them reads:
 * schedule.{status, start, end, soft_freeze, respect_window (only when false)},
 * services, and duration, not_before, not_after, environment when strings, and
 * approvals.break_glass (true) when the approvals have that key.
 */
enum db_status store_schedule_candidates(struct store *st, json_t **out);

/* ---- feed tokens -------------------------------------------------------------------- */

/*
 * Stores a feed token (its SHA-256 hex) for `user`, made with API token `token_id`
 * (revoking that token revokes the feed); *id receives its id.  DB_ONE.
 */
enum db_status store_feed_token_insert(struct store *st, const char *user, const char *hash_hex,
				       const char *label, long long token_id, long long *id);

/*
 * The user of an unrevoked feed token, by hash, into `user` (129 bytes), when that user
 * is active and the token that made the feed unrevoked.  DB_ONE or DB_NONE.
 */
enum db_status store_feed_token_user(struct store *st, const char *hash_hex, char user[129]);

/* Revokes feed token `id` of `user` (any user's when `user` is NULL).  DB_ONE or DB_NONE. */
enum db_status store_feed_token_revoke(struct store *st, long long id, const char *user);

/* The feed tokens of `user` (all when NULL): owned array of {"id", "user", "label", "created_at"}.
 */
enum db_status store_feed_tokens_list(struct store *st, const char *user, json_t **out);

#endif /* TRANSOM_STORE_BOOKINGS_H */
