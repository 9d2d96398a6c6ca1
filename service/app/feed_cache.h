/*
 * feed_cache.h -- the schedule calendar computed once and shared by every request: each
 * event of the schedule feed (bookings, windows, freezes) with its CalDAV name, ETag,
 * range and iCalendar text, for the ICS feeds (app/feeds.c) and the CalDAV schedule
 * collection (app/caldav.c).
 *
 * A snapshot is made for one definitions snapshot, one audit-log head (every write to a
 * change moves it: bookings, votes, reschedules) and one UTC day.  It holds the events
 * overlapping a window one day wider than any request of that day asks for (30 days back,
 * the scheduling horizon ahead); a request keeps the events overlapping its own window
 * (feed_obj_in), so what it serves is what computing it afresh would give.  The windows
 * and freezes (the costly part: recurrence expansion, one libical pass) depend on the
 * definitions and the day only, and pass from one snapshot to the next; after a write
 * only the bookings whose rows changed are read and rendered again: each booking's
 * fingerprint (the transactions that wrote its rows, store_booking_marks) says whether
 * the previous snapshot's event still holds, and the events that do are shared, not
 * copied.  An event keeps only what requests read (name, ETag, range, text); its JSON
 * item only when the snapshot has no texts.  Joined texts (a whole feed, a listing's
 * digest) are remembered per snapshot, keyed by a name and the exact selection of events
 * they were made from, within FEED_MEMO_BYTES.
 *
 * Snapshots are immutable and reference-counted: readers take a reference under a short
 * lock and never wait for each other; one thread at a time builds a new snapshot while
 * the others that need it wait for it.
 */
#ifndef TRANSOM_APP_FEED_CACHE_H
#define TRANSOM_APP_FEED_CACHE_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "calendar/feed.h"
#include "core/err.h"
#include "app/records.h"

/* What an event of the schedule is. */
enum feed_kind {
	FEED_BOOKING, /* a booked change */
	FEED_WINDOW,  /* a maintenance-window instance */
	FEED_FREEZE   /* a freeze instance */
};

/*
 * One event of a snapshot: what requests read of it, nothing more.  Immutable; a booking
 * passes from one snapshot to the next while its rows are unchanged.
 */
struct feed_obj {
	const char *name;           /* CalDAV object name (feed_object_name of the UID) */
	char etag[40];              /* quoted; a hash of the item's canonical JSON */
	long long start_ms, end_ms; /* the item's range */
	enum feed_kind kind;
	/* Its text and the VTIMEZONE it needs (zone NULL: none), when the snapshot has
	 * texts; else text is NULL. */
	const char *text;
	size_t len;
	const char *zone;
	size_t zone_len;
	json_t *item; /* the cal_feed item when the snapshot has no texts (a reference), else
			 NULL: only building a calendar afresh reads it */
	const char *services; /* a booking: the services it is booked on, each followed by a
				 NUL, then an empty string ("a\0b\0\0") */
	json_t *applies;      /* a window or freeze: its instance's "services" (a reference) */
};

struct feed_layer;

/* A remembered text: a joined calendar with its strong ETag, or any other string. */
struct feed_text {
	atomic_uint refs;
	size_t len;
	char etag[40]; /* quoted hash of text (calendars), else "" */
	char text[];   /* NUL-terminated */
};

/* A snapshot remembers at most this many texts, of at most FEED_MEMO_BYTES together
 * (texts and selections); the least recently used go first. */
#define FEED_MEMO_SLOTS 8
#define FEED_MEMO_BYTES (16u << 20)

/* One snapshot.  Everything but the memo is immutable once published. */
struct feed_snap {
	atomic_uint refs;
	struct defs *defs; /* the definitions it was made from (a reference) */
	/* the audit-log head it is known to be exact at: the head it was made at, moved on
	 * when a later head finds the same versions */
	atomic_llong seq;
	long long versions[2]; /* store_feed_version, read before its bookings */
	long long day;         /* UTC day number (ms / 86400000) of the requests it serves */
	long long stamp_ms;    /* DTSTAMP of instances: the definitions' load time */
	char base[1024];       /* public URL used in links */
	bool exact;        /* false: a request's window could hold events the wider window does not
			      show alike (very dense recurrences, a horizon near 400 days); callers
			      then compute their calendar afresh */
	bool texts;        /* the events' texts are valid (else callers use cal_feed_build on the
			      items, which reports what is wrong with them) */
	bool any_dup_name; /* two events have the same name (CalDAV lists the first only) */
	bool reusable;     /* its bookings may pass to the next snapshot (feed_cache.c) */
	size_t n;
	const struct feed_obj **objs; /* in feed order: bookings, then instances by start */
	size_t n_own;                 /* objs[0..n_own): the bookings (references) */
	struct feed_layer *instances; /* the windows' and freezes' (shared) */
	struct feed_obj *inst_own;    /* without texts: the instances with their items */
	json_t *inst_items;           /* ... those items, when the layer has dropped its own */
	char *obj_head;               /* cal_feed_head of one CalDAV object */
	size_t obj_head_len;
	pthread_mutex_t memo_lock;
	struct feed_memo {
		char key[160];
		unsigned char *sel; /* n bytes */
		struct feed_text *t;
		unsigned long long used; /* memo_clock at its last use */
	} memo[FEED_MEMO_SLOTS];
	size_t memo_bytes;
	unsigned long long memo_clock;
};

struct feed_cache;

/* A cache with no snapshot; NULL when out of memory. */
struct feed_cache *feed_cache_new(void);

/* Frees the cache and its snapshot (readers must be done); NULL is a no-op. */
void feed_cache_free(struct feed_cache *fc);

/* The window the feeds and CalDAV serve at `now_ms`: 30 days back, the horizon ahead. */
void feed_window(const struct defs *d, long long now_ms, long long *from_ms, long long *to_ms);

/*
 * The snapshot for request context `c` (its definitions, clock and database connection)
 * and public URL `base`, made when the current one is stale.  Sets *out (a reference:
 * feed_snap_release) and returns TR_OK, or returns an error set on `err` (database, out
 * of memory).  Thread-safe.
 */
enum tr_code feed_cache_get(struct feed_cache *fc, struct rec_ctx *c, const char *base,
			    struct feed_snap **out, struct tr_error *err);

/* Drops a reference taken by feed_cache_get; NULL is a no-op. */
void feed_snap_release(struct feed_snap *s);

/* Whether `o` belongs to a calendar over [from_ms, to_ms) (feed_items_list' overlap rule). */
bool feed_obj_in(const struct feed_obj *o, long long from_ms, long long to_ms);

/*
 * Whether `o` belongs to the calendar of `service` (not ""): a booking booked on it, a
 * window or freeze that applies to it (planner_applies, with the catalog of `d`).
 */
bool feed_obj_on_service(const struct defs *d, const struct feed_obj *o, const char *service);

/*
 * The text remembered under `key` for selection `sel` (s->n bytes, nonzero = selected),
 * as a reference (feed_text_release), or NULL.  Thread-safe.
 */
struct feed_text *feed_snap_memo_get(struct feed_snap *s, const char *key,
				     const unsigned char *sel);

/* Remembers `t` (a reference is taken) under `key` and `sel`, unless it alone is larger
 * than FEED_MEMO_BYTES; forgets the least recently used texts to keep within it.
 * Thread-safe. */
void feed_snap_memo_put(struct feed_snap *s, const char *key, const unsigned char *sel,
			struct feed_text *t);

/* A new text (refs = 1) holding a copy of text[0..len); NULL when out of memory. */
struct feed_text *feed_text_new(const char *text, size_t len);

/* Drops a reference; NULL is a no-op. */
void feed_text_release(struct feed_text *t);

/*
 * The calendar of the selected events (`sel` as above) with feed properties `f`, as
 * cal_feed_build(f, the selected items) makes it, with its ETag; remembered under `key`
 * (which must name `f`'s properties).  A reference, or NULL with `err` filled
 * (TR_E_INTERNAL naming the item at fault, TR_E_NOMEM).  Thread-safe.
 */
struct feed_text *feed_snap_calendar(struct feed_snap *s, const char *key, const unsigned char *sel,
				     const struct cal_feed *f, struct tr_error *err);

/*
 * The text of one calendar object made of feed item `item` (borrowed) named `name`:
 * cal_feed_build({.dtstamp_ms = stamp_ms}, [item]).  Owned (free()), length in *len;
 * NULL with `err` filled (TR_E_INTERNAL naming the object).
 */
char *feed_item_text(json_t *item, const char *name, long long stamp_ms, size_t *len,
		     struct tr_error *err);

/* feed_item_text of CalDAV object `o` of snapshot `s` (from the snapshot's texts when
 * it keeps them). */
char *feed_snap_object(const struct feed_snap *s, const struct feed_obj *o, size_t *len,
		       struct tr_error *err);

/* A quoted strong ETag of `len` bytes of `data`: '"' + 32 hex digits of SHA-256 + '"'. */
void feed_etag_of_text(const char *data, size_t len, char out[40]);

/* The ETag of a JSON value (a hash of its canonical text); false when out of memory. */
bool feed_etag_of_json(const json_t *v, char out[40]);

/* A CalDAV object name for a UID: "<uid>.ics" when made of safe characters, else a hash. */
void feed_object_name(const char *uid, char out[128]);

#endif /* TRANSOM_APP_FEED_CACHE_H */
