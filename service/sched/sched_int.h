/*
 * sched_int.h -- internals of the scheduler core shared by its files; not for other modules.
 *
 * The index (index.c, windows.c) and the searches over it (sched.c) share these structs.
 */
#ifndef TRANSOM_SCHED_INT_H
#define TRANSOM_SCHED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"

/* A booking as seen from one service. */
struct sched_bk {
	int64_t start, end;
	const char *change_id;
	size_t seq; /* order of arrival: breaks ties between equal starts */
};

/*
 * Bookings held by one window instance ("uses"), in one buffer: their starts and their
 * ends, each sorted, and with a capacity, where changes may still start.  The count of
 * uses overlapping [x, x + d) only drops where a use ends, so a change fits first at the
 * instance's start or at a use end: rooms[0] is the longest change that may start at the
 * instance's start, rooms[i + 1] the longest that may start at ends[i].  Their maximum,
 * the longest change the instance can still take, is kept in ix->room.  The rooms are
 * recomputed when next needed after a booking (`dirty`); until then ix->room may be too
 * large, which only makes a search skip fewer full instances.
 */
struct sched_inst {
	int64_t *buf;    /* starts[cap], ends[cap], rooms[cap + 1] */
	uint32_t n, cap; /* uses, room for uses */
	int capacity;    /* the window's; <= 0: unlimited */
	bool dirty;      /* uses added since the rooms were computed */
};

/*
 * The windows applying to a service (its own and those for all services), sorted by
 * (start, input position); shared by every service named by the same windows.
 */
struct sched_wins {
	const uint32_t *spec; /* the services' own windows (the first one's array, borrowed) */
	size_t n_spec;
	uint64_t hash; /* of spec */
	uint32_t *ids; /* window indexes */
	int64_t *start, *end;
	int64_t *pmax; /* pmax[k]: latest end among [0..k] */
	size_t n;
};

/* Time a service is booked: bookings merged, disjoint and not touching, sorted. */
struct sched_busy {
	int64_t start, end;
};

/* One interned service. */
struct sched_svc {
	char *name;
	uint32_t *spec; /* windows naming it, sorted by start */
	size_t n_spec, cap_spec;
	int32_t wins;         /* its window list in ix->wins, -1 until needed */
	struct sched_bk *bks; /* bookings, by arrival; sorted by (start, seq) when needed */
	size_t n_bks, cap_bks;
	bool bks_sorted;         /* bks is sorted */
	int64_t max_dur;         /* longest booking, bounds the overlap search */
	struct sched_busy *busy; /* the bookings merged */
	size_t n_busy, cap_busy;
	uint32_t *rel; /* related service ids among [0, rel_checked) */
	size_t n_rel, cap_rel, rel_checked;
};

/*
 * A booking as added (the input's, or sched_index_add()), so that sched_index_remove()
 * takes back exactly what it counted: the services it is on and the instances it uses.
 */
struct sched_held {
	const char *change_id; /* borrowed */
	int64_t start, end;
	uint32_t *svc; /* distinct service ids */
	size_t n_svc;
	int64_t *inst; /* distinct instances it counts against */
	size_t n_inst;
	bool live; /* false once removed */
};

struct sched_index {
	struct sched_input input; /* copy of *in (the arrays stay borrowed) */
	bool explains; /* keeps every booking, to name it in explanations (not sched_plan's) */
	struct sched_svc *svcs;
	size_t n_svcs, cap_svcs;
	int32_t *table; /* open addressing: service id or -1 */
	size_t table_size;
	uint32_t *all; /* windows for all services, sorted by start */
	size_t n_all;
	struct sched_inst *insts; /* one per window */
	int64_t *room;            /* per window: the longest change its instance can still take */
	struct sched_wins *wins;  /* window lists, shared between services */
	size_t n_wins, cap_wins;
	int32_t *wins_table; /* open addressing on wins[].hash: list id or -1 */
	size_t wins_table_size;
	void *scratch[3]; /* arrays of a search (0, 1) or a booking (2), reused */
	size_t scratch_size[3];
	uint32_t *fz_ids;        /* service ids of the freezes, flattened */
	size_t *fz_off;          /* freeze i: fz_ids[fz_off[i] .. fz_off[i + 1]) */
	size_t next_seq;         /* the next booking's arrival number (struct sched_bk) */
	struct sched_held *held; /* bookings by change, for sched_index_remove() */
	size_t n_held, cap_held;
	int32_t *held_table; /* open addressing on change ids: held index or -1 */
	size_t held_table_size, held_table_used;
};

/* Why the sweep moved on, for explanations. */
enum sched_why_kind {
	WHY_NONE = 0,  /* nothing recorded */
	WHY_NO_WINDOW, /* svc has no window at t */
	WHY_SHORT,     /* svc's window at t ends too early */
	WHY_CAPACITY,  /* svc's window at t is full */
	WHY_FREEZE,    /* inside hard freeze `name` */
	WHY_BOOKED,    /* svc booked by `name` */
	WHY_BOUND,     /* ran past not_after or the horizon */
};

struct sched_why {
	enum sched_why_kind kind;
	const char *svc;
	const char *name;
	int cap;
};

/* One search: the change resolved against the index. */
struct sched_query {
	const struct sched_change *c;
	uint32_t *ids; /* the change's service ids */
	size_t n_ids;
	uint32_t *rel; /* union of services related to them, sorted, unique */
	size_t n_rel;
	struct busy_cursor *rel_cursor; /* per related service, in a sweep */
	uint32_t *freezes;              /* freezes applying to the change */
	size_t n_freezes;
	uint32_t *lists;       /* the distinct window lists of the services, in order */
	const char **list_svc; /* the first service with each (for explanations) */
	size_t *cursor;        /* per list, in a sweep: its windows starting by t */
	size_t n_lists;
	uint32_t chosen; /* the instance of the first service's windows holding the slot */
	int64_t lo, hi;  /* earliest start, latest end */
	bool bounded;    /* hi comes from not_after */
};

/*
 * Where a sweep is in one service's busy intervals: the first ending after its t, and a
 * copy of it (INT64_MAX: none), so that the usual answer, free until then, needs no look
 * at the service.
 */
struct busy_cursor {
	size_t i;
	int64_t start, end;
};

/* ---- windows.c ---- */

int sched_grow(void **p, size_t *cap, size_t need, size_t size);
size_t sched_count_upto(const int64_t *v, size_t n, int64_t x);
int32_t sched_svc_lookup(const struct sched_index *ix, const char *name);
int sched_table_rehash(struct sched_index *ix, size_t size);
int32_t sched_svc_intern(struct sched_index *ix, const char *name);
const struct sched_window *sched_win_at(const struct sched_index *ix, uint32_t i);
int sched_wins_rehash(struct sched_index *ix, size_t size);
void sched_wins_free(struct sched_wins *l);
int sched_svc_windows(struct sched_index *ix, struct sched_svc *sv);
size_t sched_wins_upto(const struct sched_wins *l, int64_t t);
int64_t *sched_inst_starts(const struct sched_inst *in);
int64_t *sched_inst_ends(const struct sched_inst *in);
int64_t *sched_inst_rooms(const struct sched_inst *in);
void sched_why_note(struct sched_why *w, enum sched_why_kind kind, const char *svc,
		    const char *name, int cap);
int sched_find_instance(struct sched_index *ix, const struct sched_wins *l, const char *svc,
			int64_t t, int64_t dur, size_t *cursor, uint32_t *chosen, int64_t *adv,
			struct sched_why *why);
int64_t sched_wins_fit(const struct sched_index *ix, const struct sched_wins *l, size_t *cursor,
		       int64_t t, int64_t dur);
void sched_inst_refresh(struct sched_index *ix, uint32_t wi);

/* ---- index.c ---- */

const struct sched_bk *sched_bks_overlap(struct sched_svc *sv, int64_t t, int64_t dur);
int64_t sched_busy_free_from(const struct sched_svc *sv, int64_t t, int64_t dur,
			     struct busy_cursor *c);
int sched_svc_reserve(const struct sched_index *ix, struct sched_svc *sv, size_t more);
void sched_svc_book(struct sched_index *ix, struct sched_svc *sv, int64_t start, int64_t end,
		    const char *id);
int sched_inst_reserve(struct sched_inst *in, size_t need);
int sched_use_instances(struct sched_index *ix, const int64_t *wi, size_t n, int64_t start,
			int64_t end);

#endif /* TRANSOM_SCHED_INT_H */
