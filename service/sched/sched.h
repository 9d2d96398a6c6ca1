/*
 * sched.h -- the scheduler core: the earliest slot for a change inside maintenance windows.
 *
 * Given window instances (already expanded from iCalendar elsewhere), freeze instances,
 * existing bookings and a relation between services (same service, or dependent either
 * way, transitively), finds the earliest [start, start + duration) that lies inside one
 * window instance per affected service, avoids hard freezes, overlaps no booking on a
 * related service and keeps every window instance under its capacity.  Also the next N
 * candidate slots, explanations when nothing fits, and a deterministic batch planner.
 *
 * Pure: no I/O, no clock (`now` is a parameter).  Times are milliseconds since the Unix
 * epoch, intervals half-open [start, end).  Plain structs and arrays in, plain structs out;
 * JSON only for explanations (sched_explain_to_json).
 *
 * Thread-safety: a `struct sched_index` is not shared between threads while booked into;
 * sched_find() and sched_next_slots() also update lazy caches, so give each thread its own.
 */
#ifndef TRANSOM_SCHED_SCHED_H
#define TRANSOM_SCHED_SCHED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default search horizon from `now`: 180 days. */
#define SCHED_HORIZON_DEFAULT_MS (180LL * 24 * 3600 * 1000)

/* Most explanations one failed search returns. */
#define SCHED_EXPLAIN_MAX 50

/* Longest reason text, NUL included. */
#define SCHED_REASON_MAX 160

/* Outcome of a scheduler call; negative values are errors. */
enum sched_status {
	SCHED_OK = 0,           /* a slot was found (or the batch was planned) */
	SCHED_NO_SLOT = 1,      /* nothing fits; explanations say why */
	SCHED_ERR_OOM = -1,     /* out of memory; nothing was changed */
	SCHED_ERR_INVALID = -2, /* bad argument: NULL, no services, duration <= 0 */
};

/* Kind of change; only emergency changes are scheduled differently. */
enum sched_change_type {
	SCHED_NORMAL = 0, /* inside windows, CAB approved */
	SCHED_STANDARD,   /* pre-approved; same placement rules as normal */
	SCHED_EMERGENCY,  /* ignores windows; still avoids bookings and hard freezes */
};

/* A change to place.  Every pointer is borrowed. */
struct sched_change {
	const char *id;              /* e.g. "CHG-12"; the tie-breaker in sched_plan */
	const char *const *services; /* affected services, n_services > 0 */
	size_t n_services;
	int64_t duration_ms;   /* > 0 */
	int64_t not_before_ms; /* 0: no bound (now still applies) */
	int64_t not_after_ms;  /* latest end; 0: no bound */
	enum sched_change_type type;
	int priority;        /* lower is planned first by sched_plan */
	int64_t approved_ms; /* approval time, second key of sched_plan */
	bool break_glass;    /* emergency only: may run inside a hard freeze */
};

/* One window instance.  Strings borrowed. */
struct sched_window {
	int64_t start_ms, end_ms;
	const char *uid;             /* the window (recurring event) it comes from */
	const char *const *services; /* services it applies to; n_services == 0: all services */
	size_t n_services;
	int capacity; /* concurrent bookings allowed; <= 0: unlimited */
};

/* One freeze instance.  Strings borrowed. */
struct sched_freeze {
	int64_t start_ms, end_ms;
	const char *name;
	bool hard;                   /* hard: no change inside; soft: allowed, flagged */
	const char *const *services; /* n_services == 0: all services */
	size_t n_services;
};

/* One existing booking.  Strings borrowed. */
struct sched_booking {
	const char *change_id;
	const char *const *services;
	size_t n_services;
	int64_t start_ms, end_ms;
	const char *window_uid; /* the window it was booked in; NULL: none (emergency) */
};

/* Whether two services conflict: the same, or dependent either way, transitively. */
typedef bool (*sched_related_fn)(void *ctx, const char *a, const char *b);

/* Everything the index is built from.  Arrays and strings are borrowed (see sched_index_new). */
struct sched_input {
	const struct sched_window *windows;
	size_t n_windows;
	const struct sched_freeze *freezes;
	size_t n_freezes;
	const struct sched_booking *bookings;
	size_t n_bookings;
	sched_related_fn related; /* NULL: only the same service conflicts */
	void *related_ctx;
	int64_t horizon_ms; /* search horizon from now; 0: SCHED_HORIZON_DEFAULT_MS */
};

/* A slot found.  Pointers borrowed from the input (or the change). */
struct sched_slot {
	int64_t start_ms, end_ms;
	const char *window_uid;  /* the first service's window; NULL for emergencies */
	int64_t window_start_ms; /* that instance's bounds (0 for emergencies) */
	int64_t window_end_ms;
	const char *soft_freeze;   /* a soft freeze the slot overlaps, or NULL */
	const char *broken_freeze; /* a hard freeze crossed by break_glass, or NULL */
};

/* Why one candidate window instance could not take the change. */
struct sched_explanation {
	const char *window_uid;        /* NULL: not about one instance (emergency, no windows) */
	int64_t start_ms, end_ms;      /* the instance, or the searched range */
	char reason[SCHED_REASON_MAX]; /* e.g. "payments booked by CHG-12" */
};

/* Explanations of a failed search, earliest instance first. */
struct sched_explain {
	size_t n;
	struct sched_explanation items[SCHED_EXPLAIN_MAX];
};

/* Result of one change in sched_plan. */
struct sched_plan_entry {
	enum sched_status status; /* SCHED_OK (booked at slot) or SCHED_NO_SLOT */
	struct sched_slot slot;
};

struct sched_index;

/*
 * Builds an index of `in` for searches and bookings: windows and bookings per service,
 * sorted by start.  The index borrows `in`'s arrays and strings (and the strings of every
 * change later booked into it): they must outlive it; service names are copied.  Returns
 * SCHED_OK and an owned index in `*out`, SCHED_ERR_OOM, or SCHED_ERR_INVALID for a NULL
 * argument.  O((W + B) log(W + B)) for W window-service pairs and B booking-service pairs.
 */
enum sched_status sched_index_new(const struct sched_input *in, struct sched_index **out);

/* Frees `ix`; NULL is a no-op. */
void sched_index_free(struct sched_index *ix);

/*
 * Finds the earliest slot for `c` at or after max(not_before, now), ending by not_after
 * and by now + horizon.  Normal and standard changes need one window instance per service
 * (the slot lies in their intersection) with capacity left; emergencies ignore windows
 * and capacity.  Every change avoids bookings on related services and hard freezes (an
 * emergency with break_glass may cross one; slot->broken_freeze names it); soft freezes
 * are allowed and named in slot->soft_freeze.
 * Returns SCHED_OK with `*slot` filled; SCHED_NO_SLOT with `*why` (when not NULL) listing
 * up to SCHED_EXPLAIN_MAX candidate instances and their reasons; SCHED_ERR_INVALID;
 * SCHED_ERR_OOM.  Nothing is booked.
 */
enum sched_status sched_find(struct sched_index *ix, const struct sched_change *c, int64_t now_ms,
			     struct sched_slot *slot, struct sched_explain *why);

/*
 * Up to `count` candidate slots for `c`, earliest first and pairwise disjoint: each next
 * one is searched from the previous one's end.  Stores them in `slots` (room for `count`)
 * and their number in `*n`.  Returns SCHED_OK when at least one was found, SCHED_NO_SLOT
 * (with `*why` as in sched_find) when none, or an error.  Nothing is booked.
 */
enum sched_status sched_next_slots(struct sched_index *ix, const struct sched_change *c,
				   int64_t now_ms, struct sched_slot *slots, size_t count,
				   size_t *n, struct sched_explain *why);

/*
 * Why the search for `c` skipped what it skipped before `slot` (as sched_find returned it
 * for the same index and now_ms): one explanation per window instance of c's first
 * service that starts before slot's window instance, with its reason (a hard freeze, too
 * short, booked by CHG-n on a (related) service, capacity, ...), earliest first, at most
 * SCHED_EXPLAIN_MAX, into `*why`.  None for emergencies.  Pure; nothing is booked.
 * Returns SCHED_OK, SCHED_ERR_INVALID or SCHED_ERR_OOM.
 */
enum sched_status sched_explain_skipped(struct sched_index *ix, const struct sched_change *c,
					int64_t now_ms, const struct sched_slot *slot,
					struct sched_explain *why);

/*
 * Books `c` at `slot` (as found by sched_find for the same index): later searches see it
 * as a booking on each of c's services and as one use of each window instance holding
 * it.  Borrows c->id.  Returns SCHED_OK, SCHED_ERR_INVALID or SCHED_ERR_OOM (unchanged).
 */
enum sched_status sched_index_book(struct sched_index *ix, const struct sched_change *c,
				   const struct sched_slot *slot);

/*
 * Adds booking `b` to the index exactly as sched_index_new() counts a booking of its
 * input: on each of its services, and once in each instance of its window (b->window_uid)
 * holding it, on each service.  Borrows b->change_id (it must outlive the index); the
 * other strings are read now.  A booking with no service or an empty interval holds
 * nothing (SCHED_OK).  Returns SCHED_OK, SCHED_ERR_INVALID or SCHED_ERR_OOM (the index
 * is then unchanged but for service names it learnt).  O(B_s + U_w) for the bookings of
 * its services and the uses of its instances.
 */
enum sched_status sched_index_add(struct sched_index *ix, const struct sched_booking *b);

/*
 * Takes back every booking of change `change_id` that came from the input or from
 * sched_index_add() (not those of sched_index_book()): afterwards the index answers as
 * one built without them would.  *removed (may be NULL) receives how many were taken
 * back.  Only for indexes of sched_index_new() (not those inside sched_plan).  Returns
 * SCHED_OK, SCHED_ERR_INVALID or SCHED_ERR_OOM (the index must then be freed).
 */
enum sched_status sched_index_remove(struct sched_index *ix, const char *change_id,
				     size_t *removed);

/*
 * Plans `n` changes: orders them by (priority, approved_ms, id), finds each one's earliest
 * slot as sched_find does and books it, so each booking is visible to the next.  The
 * result is deterministic.  `out` (room for n) receives one entry per change, in the
 * order of `changes`.  Returns SCHED_OK (individual changes may be SCHED_NO_SLOT),
 * SCHED_ERR_INVALID or SCHED_ERR_OOM.  `in` is not modified.
 */
enum sched_status sched_plan(const struct sched_input *in, const struct sched_change *changes,
			     size_t n, int64_t now_ms, struct sched_plan_entry *out);

/*
 * The explanations as a JSON array of {"window", "start", "end", "reason"} (times RFC 3339
 * UTC; "window" null when not about one instance).  Owned; NULL on out of memory.
 */
json_t *sched_explain_to_json(const struct sched_explain *why);

/*
 * Writes `ms` as RFC 3339 UTC ("2026-03-01T10:00:00Z", with ".sss" when not whole seconds)
 * into `buf` (at least 32 bytes).  Returns buf.
 */
char *sched_rfc3339(int64_t ms, char *buf, size_t size);

/* Writes a duration as ISO 8601 ("PT2H", "PT1H30M", "P1DT4H") into `buf`.  Returns buf. */
char *sched_duration_iso(int64_t ms, char *buf, size_t size);

#endif /* TRANSOM_SCHED_SCHED_H */
