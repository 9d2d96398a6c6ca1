/*
 * sched.c -- the scheduler core (sched.h): per-service indexes of window instances and
 * bookings, the earliest-slot sweep, explanations, and the batch planner.
 *
 * The sweep starts at the earliest allowed instant t and, while [t, t + duration) fails a
 * rule, jumps t forward to the next instant where that rule could hold: the next window
 * instance with room for the change, the end of a run of conflicting bookings, the next
 * instant a full instance has room, the end of a hard freeze.  Every jump is strictly
 * forward and skips only instants that fail a rule, so the first t that passes every rule
 * is the earliest slot.
 *
 * A crowded calendar means more obstacles per search; what keeps each one cheap:
 *  - services named by the same windows share one window list, with the bounds and prefix
 *    maxima in flat arrays;
 *  - each window instance with a capacity knows, at its start and at each booking end
 *    (the only instants where its count can drop), the longest change that fits there:
 *    so whether it fits at t is one binary search, its next free instant a scan of those,
 *    and instances too full for the change are skipped without a sweep step each;
 *  - the services of a change with different windows are stepped through together until
 *    their instances meet (windows_meet), rather than one sweep step per instance;
 *  - each service keeps its bookings merged into busy intervals, so a run of bookings
 *    closer together than the change is one jump;
 *  - a sweep only moves forward, so it keeps a cursor in each list it reads and gallops
 *    from there instead of searching from the start.
 * sched_plan reads the changes in plan order in chunks gathered first (so their cache
 * misses overlap), and its private index keeps only the merged busy time of a booking, not
 * the booking itself (which only explanations name).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	uint32_t *fz_ids; /* service ids of the freezes, flattened */
	size_t *fz_off;   /* freeze i: fz_ids[fz_off[i] .. fz_off[i + 1]) */
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

/* ---- small helpers ------------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 8;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/*
 * Number of the n sorted values at most x.  The binary searches here are branch-free (a
 * conditional move per step): the sweep's are unpredictable, and a mispredicted branch at
 * every step costs more than the search itself.
 */
static size_t count_upto(const int64_t *v, size_t n, int64_t x)
{
	if (n == 0)
		return 0;
	const int64_t *b = v;
	while (n > 1) {
		size_t half = n / 2;
		b += half & -(size_t)(b[half - 1] <= x);
		n -= half;
	}
	return (size_t)(b - v) + (*b <= x);
}

static void why_note(struct sched_why *w, enum sched_why_kind kind, const char *svc,
		     const char *name, int cap)
{
	if (w != NULL && w->kind == WHY_NONE)
		*w = (struct sched_why){kind, svc, name, cap};
}

/* ---- interning ----------------------------------------------------------------------- */

/* Looks `name` up; -1 when unknown. */
static int32_t svc_lookup(const struct sched_index *ix, const char *name)
{
	size_t mask = ix->table_size - 1;
	for (size_t i = hash_str(name) & mask;; i = (i + 1) & mask) {
		int32_t id = ix->table[i];
		if (id < 0 || strcmp(ix->svcs[id].name, name) == 0)
			return id;
	}
}

static int table_rehash(struct sched_index *ix, size_t size)
{
	int32_t *t = malloc(size * sizeof *t);
	if (t == NULL)
		return -1;
	for (size_t i = 0; i < size; i++)
		t[i] = -1;
	for (size_t id = 0; id < ix->n_svcs; id++) {
		size_t j = hash_str(ix->svcs[id].name) & (size - 1);
		while (t[j] >= 0)
			j = (j + 1) & (size - 1);
		t[j] = (int32_t)id;
	}
	free(ix->table);
	ix->table = t;
	ix->table_size = size;
	return 0;
}

/* The id of `name`, interning it; -1 on out of memory. */
static int32_t svc_intern(struct sched_index *ix, const char *name)
{
	int32_t id = svc_lookup(ix, name);
	if (id >= 0)
		return id;
	if ((ix->n_svcs + 1) * 2 > ix->table_size && table_rehash(ix, ix->table_size * 2) < 0)
		return -1;
	if (ix->n_svcs >= INT32_MAX ||
	    grow((void **)&ix->svcs, &ix->cap_svcs, ix->n_svcs + 1, sizeof *ix->svcs) < 0)
		return -1;
	char *copy = strdup(name);
	if (copy == NULL)
		return -1;
	id = (int32_t)ix->n_svcs++;
	ix->svcs[id] = (struct sched_svc){.name = copy, .wins = -1};
	size_t j = hash_str(name) & (ix->table_size - 1);
	while (ix->table[j] >= 0)
		j = (j + 1) & (ix->table_size - 1);
	ix->table[j] = id;
	return id;
}

/* ---- windows ------------------------------------------------------------------------- */

static const struct sched_window *win_at(const struct sched_index *ix, uint32_t i)
{
	return &ix->input.windows[i];
}

static uint64_t hash_ids(const uint32_t *v, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ v[i]) * 1099511628211ULL;
	return h;
}

/* Whether list `l` is the one for the specific windows spec[0..n). */
static bool wins_is(const struct sched_wins *l, const uint32_t *spec, size_t n, uint64_t h)
{
	return l->hash == h && l->n_spec == n &&
	       (n == 0 || memcmp(l->spec, spec, n * sizeof *spec) == 0);
}

static int wins_rehash(struct sched_index *ix, size_t size)
{
	int32_t *t = malloc(size * sizeof *t);
	if (t == NULL)
		return -1;
	for (size_t i = 0; i < size; i++)
		t[i] = -1;
	for (size_t id = 0; id < ix->n_wins; id++) {
		size_t j = ix->wins[id].hash & (size - 1);
		while (t[j] >= 0)
			j = (j + 1) & (size - 1);
		t[j] = (int32_t)id;
	}
	free(ix->wins_table);
	ix->wins_table = t;
	ix->wins_table_size = size;
	return 0;
}

/* Builds list `l` from the specific windows spec[0..n) and those for all services. */
static int wins_build(struct sched_index *ix, struct sched_wins *l, const uint32_t *spec,
		      size_t n_spec)
{
	size_t n = n_spec + ix->n_all, a = 0, b = 0, k = 0;
	l->ids = malloc((n ? n : 1) * sizeof *l->ids);
	l->start = malloc((n ? n : 1) * sizeof *l->start);
	l->end = malloc((n ? n : 1) * sizeof *l->end);
	l->pmax = malloc((n ? n : 1) * sizeof *l->pmax);
	if (l->ids == NULL || l->start == NULL || l->end == NULL || l->pmax == NULL)
		return -1;
	while (a < n_spec || b < ix->n_all) {
		bool take_spec =
			b == ix->n_all ||
			(a < n_spec &&
			 (win_at(ix, spec[a])->start_ms < win_at(ix, ix->all[b])->start_ms ||
			  (win_at(ix, spec[a])->start_ms == win_at(ix, ix->all[b])->start_ms &&
			   spec[a] < ix->all[b])));
		uint32_t i = take_spec ? spec[a++] : ix->all[b++];
		l->ids[k] = i;
		l->start[k] = win_at(ix, i)->start_ms;
		l->end[k] = win_at(ix, i)->end_ms;
		l->pmax[k] = k > 0 && l->pmax[k - 1] > l->end[k] ? l->pmax[k - 1] : l->end[k];
		k++;
	}
	l->n = k;
	return 0;
}

static void wins_free(struct sched_wins *l)
{
	free(l->ids);
	free(l->start);
	free(l->end);
	free(l->pmax);
}

/* Finds or builds sv's window list (spec + all, sorted), once. */
static int svc_windows(struct sched_index *ix, struct sched_svc *sv)
{
	if (sv->wins >= 0)
		return 0;
	uint64_t h = hash_ids(sv->spec, sv->n_spec);
	size_t mask = ix->wins_table_size - 1, j = h & mask;
	for (; ix->wins_table[j] >= 0; j = (j + 1) & mask)
		if (wins_is(&ix->wins[ix->wins_table[j]], sv->spec, sv->n_spec, h)) {
			sv->wins = ix->wins_table[j];
			return 0;
		}
	if ((ix->n_wins + 1) * 2 > ix->wins_table_size &&
	    wins_rehash(ix, ix->wins_table_size * 2) < 0)
		return -1;
	if (ix->n_wins >= INT32_MAX ||
	    grow((void **)&ix->wins, &ix->cap_wins, ix->n_wins + 1, sizeof *ix->wins) < 0)
		return -1;
	struct sched_wins *l = &ix->wins[ix->n_wins];
	*l = (struct sched_wins){.spec = sv->spec, .n_spec = sv->n_spec, .hash = h};
	if (wins_build(ix, l, sv->spec, sv->n_spec) < 0) {
		wins_free(l);
		return -1;
	}
	mask = ix->wins_table_size - 1;
	for (j = h & mask; ix->wins_table[j] >= 0; j = (j + 1) & mask)
		;
	sv->wins = (int32_t)ix->n_wins++;
	ix->wins_table[j] = sv->wins;
	return 0;
}

/* Number of the windows of list `l` starting at or before t. */
static size_t wins_upto(const struct sched_wins *l, int64_t t)
{
	return count_upto(l->start, l->n, t);
}

/*
 * The same, knowing that at least `from` start at or before t: a sweep only moves forward,
 * so it gallops from where it was rather than searching the whole list.
 */
static size_t wins_upto_from(const struct sched_wins *l, size_t from, int64_t t)
{
	if (from >= l->n || l->start[from] > t)
		return from;
	size_t lo = from, step = 1; /* start[lo] <= t */
	while (lo + step < l->n && l->start[lo + step] <= t) {
		lo += step;
		step *= 2;
	}
	size_t hi = lo + step < l->n ? lo + step : l->n; /* start[hi] > t, or the end */
	return lo + 1 + count_upto(l->start + lo + 1, hi - lo - 1, t);
}

static int64_t *inst_starts(const struct sched_inst *in)
{
	return in->buf;
}

static int64_t *inst_ends(const struct sched_inst *in)
{
	return in->buf + in->cap;
}

static int64_t *inst_rooms(const struct sched_inst *in)
{
	return in->buf + 2 * (size_t)in->cap;
}

/*
 * Recomputes the rooms of instance `in` of window `w` and returns the largest.  At x, with
 * a(x) uses active (started by x, not ended by x), [x, x + d) overlaps fewer than cap uses
 * iff fewer than cap - a(x) uses start in (x, x + d): iff d is at most the
 * (cap - a(x))-th start after x, less x.  O(n): the instants ascend, so the counts of
 * starts and ends up to x only move forward.
 */
static int64_t inst_refresh(struct sched_inst *in, const struct sched_window *w)
{
	if (w->capacity <= 0 || in->n == 0)
		return w->end_ms - w->start_ms; /* never full */
	const int64_t *starts = inst_starts(in), *ends = inst_ends(in);
	int64_t *rooms = inst_rooms(in), best = 0;
	size_t cap = (size_t)w->capacity, started = 0, ended = 0;
	for (size_t i = 0; i <= in->n; i++) {
		int64_t x = i == 0 ? w->start_ms : ends[i - 1], room = 0;
		while (started < in->n && starts[started] <= x)
			started++;
		while (ended < in->n && ends[ended] <= x)
			ended++;
		size_t active = started - ended;
		if (active < cap && x < w->end_ms) {
			size_t kth = started + (cap - active) - 1;
			room = (kth < in->n && starts[kth] < w->end_ms ? starts[kth] : w->end_ms) -
			       x;
		}
		rooms[i] = room;
		if (room > best)
			best = room;
	}
	return best;
}

/* Instance wi, its rooms (and ix->room[wi]) up to date. */
static const struct sched_inst *inst_ready(struct sched_index *ix, uint32_t wi)
{
	struct sched_inst *in = &ix->insts[wi];
	if (in->dirty) {
		ix->room[wi] = inst_refresh(in, win_at(ix, wi));
		in->dirty = false;
	}
	return in;
}

/*
 * Whether [t, t + dur), inside instance `in` (which starts at `start`), overlaps fewer uses
 * than its capacity.  With x the last instant up to t where a use ends (or the start), no
 * use ends in (x, t], so the uses overlapping [t, t + dur) are those active at x and those
 * starting in (x, t + dur): fewer than the capacity iff t + dur is at most x + its room.
 * O(log n).
 */
static bool inst_fits(const struct sched_inst *in, int64_t start, int64_t t, int64_t dur)
{
	const int64_t *ends = inst_ends(in);
	size_t j = count_upto(ends, in->n, t);
	int64_t x = j > 0 ? ends[j - 1] : start;
	return t + dur - x <= inst_rooms(in)[j];
}

/*
 * The earliest t' > t at which [t', t' + dur) ends within instance `in` and overlaps fewer
 * than its capacity of uses, or INT64_MAX: the first use end after t with room for dur.
 * A scan of the uses ending after t, as the refresh at each booking scans them all.
 */
static int64_t inst_free_from(const struct sched_inst *in, int64_t t, int64_t dur)
{
	const int64_t *ends = inst_ends(in), *rooms = inst_rooms(in);
	for (size_t i = count_upto(ends, in->n, t); i < in->n; i++)
		if (rooms[i + 1] >= dur)
			return ends[i];
	return INT64_MAX;
}

/*
 * An instance of list `l` (the windows of service `svc`) holding [t, t + dur) with
 * capacity left: 1 with its index in *chosen, or 0 with the next instant worth trying in
 * *adv (INT64_MAX: none).  Instances starting after t without room for dur are skipped.
 * `cursor`, when not NULL, is the number of l's windows starting at or before an earlier
 * t, updated for this one.
 */
static int find_instance(struct sched_index *ix, const struct sched_wins *l, const char *svc,
			 int64_t t, int64_t dur, size_t *cursor, uint32_t *chosen, int64_t *adv,
			 struct sched_why *why)
{
	size_t pos = cursor != NULL ? (*cursor = wins_upto_from(l, *cursor, t)) : wins_upto(l, t);
	bool has_t = false, fits = false;
	int64_t cap_adv = INT64_MAX;
	int cap = 0;

	for (size_t k = pos; k-- > 0 && l->pmax[k] > t;) {
		if (l->end[k] <= t)
			continue;
		has_t = true;
		if (l->end[k] < t + dur)
			continue;
		fits = true;
		const struct sched_inst *in = &ix->insts[l->ids[k]];
		if (in->capacity <= 0 || in->n < (uint32_t)in->capacity ||
		    inst_fits(inst_ready(ix, l->ids[k]), l->start[k], t, dur)) {
			*chosen = l->ids[k];
			return 1;
		}
		/* Full at t: its rooms (and ix->room) are up to date (inst_ready above). */
		cap = in->capacity;
		int64_t free_at =
			ix->room[l->ids[k]] < dur ? INT64_MAX : inst_free_from(in, t, dur);
		if (free_at < cap_adv)
			cap_adv = free_at;
	}
	/* The next instance with room for the change. */
	while (pos < l->n && ix->room[l->ids[pos]] < dur)
		pos++;
	int64_t next = pos < l->n ? l->start[pos] : INT64_MAX;
	*adv = next < cap_adv ? next : cap_adv;
	why_note(why, fits ? WHY_CAPACITY : has_t ? WHY_SHORT : WHY_NO_WINDOW, svc, NULL, cap);
	return 0;
}

/*
 * The earliest t' >= t at which an instance of list `l` with room for dur holds
 * [t', t' + dur), or INT64_MAX; `cursor` as in find_instance.  An instance starting by t
 * that holds [t', t' + dur) for some t' > t holds [t, t + dur) too: so the answer is t or
 * the start of the next instance with room.
 */
static int64_t wins_fit(const struct sched_index *ix, const struct sched_wins *l, size_t *cursor,
			int64_t t, int64_t dur)
{
	size_t pos = *cursor = wins_upto_from(l, *cursor, t);
	for (size_t k = pos; k-- > 0 && l->pmax[k] > t;)
		if (l->end[k] >= t + dur && ix->room[l->ids[k]] >= dur)
			return t;
	while (pos < l->n && ix->room[l->ids[pos]] < dur)
		pos++;
	return pos < l->n ? l->start[pos] : INT64_MAX;
}

/* ---- bookings ------------------------------------------------------------------------ */

static int cmp_bk(const void *a, const void *b)
{
	const struct sched_bk *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

/* Index of the first booking of sv starting after t. */
static size_t bks_after(const struct sched_svc *sv, int64_t t)
{
	size_t n = sv->n_bks;
	if (n == 0)
		return 0;
	const struct sched_bk *b = sv->bks;
	while (n > 1) {
		size_t half = n / 2;
		b += half & -(size_t)(b[half - 1].start <= t);
		n -= half;
	}
	return (size_t)(b - sv->bks) + (b->start <= t);
}

/*
 * The first booking of sv (by start, then arrival) overlapping [t, t + dur), or NULL.
 * Only explanations need the bookings themselves, so they are kept in order of arrival
 * and sorted here when first needed.
 */
static const struct sched_bk *bks_overlap(struct sched_svc *sv, int64_t t, int64_t dur)
{
	if (!sv->bks_sorted) {
		qsort(sv->bks, sv->n_bks, sizeof *sv->bks, cmp_bk);
		sv->bks_sorted = true;
	}
	for (size_t b = bks_after(sv, t - sv->max_dur); b < sv->n_bks && sv->bks[b].start < t + dur;
	     b++)
		if (sv->bks[b].end > t)
			return &sv->bks[b];
	return NULL;
}

/* Index of the first busy interval of sv ending after t. */
static size_t busy_after(const struct sched_svc *sv, int64_t t)
{
	size_t n = sv->n_busy;
	if (n == 0)
		return 0;
	const struct sched_busy *b = sv->busy;
	while (n > 1) {
		size_t half = n / 2;
		b += half & -(size_t)(b[half - 1].end <= t);
		n -= half;
	}
	return (size_t)(b - sv->busy) + (b->end <= t);
}

/* The same, knowing that at least `from` end by t (galloping, as wins_upto_from). */
static size_t busy_after_from(const struct sched_svc *sv, size_t from, int64_t t)
{
	const struct sched_busy *b = sv->busy;
	size_t n = sv->n_busy;
	if (from >= n || b[from].end > t)
		return from;
	size_t lo = from, step = 1; /* b[lo].end <= t */
	while (lo + step < n && b[lo + step].end <= t) {
		lo += step;
		step *= 2;
	}
	size_t hi = lo + step < n ? lo + step : n;
	while (hi - lo > 1) { /* b[lo].end <= t, b[hi].end > t or hi == n */
		size_t mid = lo + (hi - lo) / 2;
		if (b[mid].end <= t)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/*
 * Where a sweep is in one service's busy intervals: the first ending after its t, and a
 * copy of it (INT64_MAX: none), so that the usual answer, free until then, needs no look
 * at the service.
 */
struct busy_cursor {
	size_t i;
	int64_t start, end;
};

/*
 * The earliest t' >= t such that [t', t' + dur) overlaps no booking of sv: t, or the end
 * of the run of busy intervals less than dur apart that starts with one overlapping
 * [t, t + dur).  `c` is the cursor of an earlier t, updated.
 */
static int64_t busy_free_from(const struct sched_svc *sv, int64_t t, int64_t dur,
			      struct busy_cursor *c)
{
	if (c->end <= t) {
		c->i = busy_after_from(sv, c->i, t);
		c->start = c->i < sv->n_busy ? sv->busy[c->i].start : INT64_MAX;
		c->end = c->i < sv->n_busy ? sv->busy[c->i].end : INT64_MAX;
	}
	if (c->start >= t + dur)
		return t;
	size_t i = c->i;
	int64_t e = sv->busy[i].end;
	while (++i < sv->n_busy && sv->busy[i].start < e + dur)
		e = sv->busy[i].end;
	return e;
}

/*
 * Merges [start, end) into sv's busy intervals (room reserved with svc_reserve).  Moves the
 * intervals after it: O(n), a memmove of 16 bytes an interval.
 */
static void busy_add(struct sched_svc *sv, int64_t start, int64_t end)
{
	size_t i = busy_after(sv, start - 1), j = i; /* the first ending at or after start */
	while (j < sv->n_busy && sv->busy[j].start <= end)
		j++;
	if (j > i) { /* [i, j) overlap or touch [start, end) */
		if (sv->busy[i].start < start)
			start = sv->busy[i].start;
		if (sv->busy[j - 1].end > end)
			end = sv->busy[j - 1].end;
	}
	memmove(&sv->busy[i + 1], &sv->busy[j], (sv->n_busy - j) * sizeof *sv->busy);
	sv->busy[i] = (struct sched_busy){start, end};
	sv->n_busy = sv->n_busy - (j - i) + 1;
}

/* Makes room for `more` bookings of sv. */
static int svc_reserve(const struct sched_index *ix, struct sched_svc *sv, size_t more)
{
	if ((ix->explains &&
	     grow((void **)&sv->bks, &sv->cap_bks, sv->n_bks + more, sizeof *sv->bks) < 0) ||
	    grow((void **)&sv->busy, &sv->cap_busy, sv->n_busy + more, sizeof *sv->busy) < 0)
		return -1;
	return 0;
}

/* Books [start, end) on sv (room reserved with svc_reserve). */
static void svc_book(const struct sched_index *ix, struct sched_svc *sv, int64_t start, int64_t end,
		     const char *id)
{
	if (ix->explains) {
		sv->bks_sorted =
			sv->n_bks == 0 || (sv->bks_sorted && sv->bks[sv->n_bks - 1].start <= start);
		sv->bks[sv->n_bks] = (struct sched_bk){start, end, id, sv->n_bks};
		sv->n_bks++;
		if (end - start > sv->max_dur)
			sv->max_dur = end - start;
	}
	busy_add(sv, start, end);
}

/* Makes room for `need` uses in `in` (the rooms stay valid). */
static int inst_reserve(struct sched_inst *in, size_t need)
{
	if (need <= in->cap)
		return 0;
	size_t cap = in->cap ? in->cap : 1;
	while (cap < need)
		cap *= 2;
	if (cap > UINT32_MAX)
		return -1;
	int64_t *buf = malloc((3 * cap + 1) * sizeof *buf);
	if (buf == NULL)
		return -1;
	if (in->n > 0) {
		memcpy(buf, inst_starts(in), in->n * sizeof *buf);
		memcpy(buf + cap, inst_ends(in), in->n * sizeof *buf);
		memcpy(buf + 2 * cap, inst_rooms(in), (in->n + 1) * sizeof *buf);
	}
	free(in->buf);
	in->buf = buf;
	in->cap = (uint32_t)cap;
	return 0;
}

/* Inserts x into the n sorted values of v (room for n + 1). */
static void insert_sorted(int64_t *v, size_t n, int64_t x)
{
	size_t at = count_upto(v, n, x);
	memmove(&v[at + 1], &v[at], (n - at) * sizeof *v);
	v[at] = x;
}

static int inst_use(struct sched_index *ix, uint32_t wi, int64_t start, int64_t end)
{
	struct sched_inst *in = &ix->insts[wi];
	if (inst_reserve(in, in->n + 1) < 0)
		return -1;
	insert_sorted(inst_starts(in), in->n, start);
	insert_sorted(inst_ends(in), in->n, end);
	in->n++;
	in->dirty = true;
	return 0;
}

/* The instance of list `l` with `uid` holding [start, end), or -1. */
static int64_t find_uid_instance(const struct sched_index *ix, const struct sched_wins *l,
				 const char *uid, int64_t start, int64_t end)
{
	for (size_t k = wins_upto(l, start); k-- > 0 && l->pmax[k] > start;) {
		const struct sched_window *w = win_at(ix, l->ids[k]);
		if (w->end_ms >= end && w->uid != NULL && strcmp(w->uid, uid) == 0)
			return l->ids[k];
	}
	return -1;
}

/* Counts [start, end) against each distinct instance in `wi` (n entries, -1 skipped). */
static int use_instances(struct sched_index *ix, const int64_t *wi, size_t n, int64_t start,
			 int64_t end)
{
	for (size_t i = 0; i < n; i++) {
		bool seen = wi[i] < 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = wi[j] == wi[i];
		if (!seen && inst_use(ix, (uint32_t)wi[i], start, end) < 0)
			return -1;
	}
	return 0;
}

/* ---- the index ----------------------------------------------------------------------- */

/* A window's sort key: start, then position in the input (stable, deterministic). */
struct win_key {
	int64_t start;
	uint32_t i;
};

static int cmp_win_key(const void *a, const void *b)
{
	const struct win_key *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i ? 1 : 0;
}

static int index_windows(struct sched_index *ix)
{
	const struct sched_input *in = &ix->input;
	struct win_key *keys = malloc((in->n_windows ? in->n_windows : 1) * sizeof *keys);
	size_t n = 0;
	if (keys == NULL)
		return -1;
	for (size_t i = 0; i < in->n_windows; i++)
		if (in->windows[i].end_ms > in->windows[i].start_ms)
			keys[n++] = (struct win_key){in->windows[i].start_ms, (uint32_t)i};
	qsort(keys, n, sizeof *keys, cmp_win_key);
	ix->all = malloc((n ? n : 1) * sizeof *ix->all);
	if (ix->all == NULL)
		goto oom;
	for (size_t k = 0; k < n; k++) {
		const struct sched_window *w = &in->windows[keys[k].i];
		if (w->n_services == 0) {
			ix->all[ix->n_all++] = keys[k].i;
			continue;
		}
		for (size_t s = 0; s < w->n_services; s++) {
			int32_t id = svc_intern(ix, w->services[s]);
			if (id < 0)
				goto oom;
			struct sched_svc *sv = &ix->svcs[id];
			if (sv->n_spec > 0 && sv->spec[sv->n_spec - 1] == keys[k].i)
				continue; /* the same service named twice */
			if (grow((void **)&sv->spec, &sv->cap_spec, sv->n_spec + 1,
				 sizeof *sv->spec) < 0)
				goto oom;
			sv->spec[sv->n_spec++] = keys[k].i;
		}
	}
	free(keys);
	return 0;
oom:
	free(keys);
	return -1;
}

static int index_bookings(struct sched_index *ix)
{
	const struct sched_input *in = &ix->input;
	for (size_t i = 0; i < in->n_bookings; i++) {
		const struct sched_booking *b = &in->bookings[i];
		if (b->end_ms <= b->start_ms)
			continue;
		for (size_t s = 0; s < b->n_services; s++) {
			int32_t id = svc_intern(ix, b->services[s]);
			if (id < 0)
				return -1;
			struct sched_svc *sv = &ix->svcs[id];
			if (grow((void **)&sv->bks, &sv->cap_bks, sv->n_bks + 1, sizeof *sv->bks) <
			    0)
				return -1;
			sv->bks[sv->n_bks] =
				(struct sched_bk){b->start_ms, b->end_ms, b->change_id, sv->n_bks};
			sv->n_bks++;
			if (b->end_ms - b->start_ms > sv->max_dur)
				sv->max_dur = b->end_ms - b->start_ms;
		}
	}
	for (size_t id = 0; id < ix->n_svcs; id++) {
		struct sched_svc *sv = &ix->svcs[id];
		if (sv->n_bks > 1)
			qsort(sv->bks, sv->n_bks, sizeof(struct sched_bk), cmp_bk);
		sv->bks_sorted = true;
		if (sv->n_bks > 0 &&
		    grow((void **)&sv->busy, &sv->cap_busy, sv->n_bks, sizeof *sv->busy) < 0)
			return -1;
		for (size_t b = 0; b < sv->n_bks; b++) { /* by start: merge into the last */
			struct sched_busy *last = sv->n_busy ? &sv->busy[sv->n_busy - 1] : NULL;
			if (last != NULL && sv->bks[b].start <= last->end) {
				if (sv->bks[b].end > last->end)
					last->end = sv->bks[b].end;
			} else {
				sv->busy[sv->n_busy++] =
					(struct sched_busy){sv->bks[b].start, sv->bks[b].end};
			}
		}
	}
	/* Capacity: each booking counts once in every instance of its window holding it. */
	for (size_t i = 0; i < in->n_bookings; i++) {
		const struct sched_booking *b = &in->bookings[i];
		if (b->end_ms <= b->start_ms || b->window_uid == NULL || b->n_services == 0)
			continue;
		int64_t *wi = malloc(b->n_services * sizeof *wi);
		if (wi == NULL)
			return -1;
		for (size_t s = 0; s < b->n_services; s++) {
			struct sched_svc *sv = &ix->svcs[svc_lookup(ix, b->services[s])];
			if (svc_windows(ix, sv) < 0) {
				free(wi);
				return -1;
			}
			wi[s] = find_uid_instance(ix, &ix->wins[sv->wins], b->window_uid,
						  b->start_ms, b->end_ms);
		}
		int rc = use_instances(ix, wi, b->n_services, b->start_ms, b->end_ms);
		free(wi);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int index_freezes(struct sched_index *ix)
{
	const struct sched_input *in = &ix->input;
	size_t total = 0;
	for (size_t i = 0; i < in->n_freezes; i++)
		total += in->freezes[i].n_services;
	ix->fz_off = malloc((in->n_freezes + 1) * sizeof *ix->fz_off);
	ix->fz_ids = malloc((total ? total : 1) * sizeof *ix->fz_ids);
	if (ix->fz_off == NULL || ix->fz_ids == NULL)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < in->n_freezes; i++) {
		ix->fz_off[i] = k;
		for (size_t s = 0; s < in->freezes[i].n_services; s++) {
			int32_t id = svc_intern(ix, in->freezes[i].services[s]);
			if (id < 0)
				return -1;
			ix->fz_ids[k++] = (uint32_t)id;
		}
	}
	ix->fz_off[in->n_freezes] = k;
	return 0;
}

enum sched_status sched_index_new(const struct sched_input *in, struct sched_index **out)
{
	if (in == NULL || out == NULL)
		return SCHED_ERR_INVALID;
	*out = NULL;
	if ((in->n_windows && in->windows == NULL) || (in->n_freezes && in->freezes == NULL) ||
	    (in->n_bookings && in->bookings == NULL) || in->n_windows > UINT32_MAX)
		return SCHED_ERR_INVALID;
	struct sched_index *ix = calloc(1, sizeof *ix);
	if (ix == NULL)
		return SCHED_ERR_OOM;
	ix->input = *in;
	ix->explains = true;
	if (ix->input.horizon_ms <= 0)
		ix->input.horizon_ms = SCHED_HORIZON_DEFAULT_MS;
	ix->insts = calloc(in->n_windows ? in->n_windows : 1, sizeof *ix->insts);
	ix->room = malloc((in->n_windows ? in->n_windows : 1) * sizeof *ix->room);
	if (ix->insts == NULL || ix->room == NULL || table_rehash(ix, 64) < 0 ||
	    wins_rehash(ix, 16) < 0 || index_windows(ix) < 0 || index_freezes(ix) < 0 ||
	    index_bookings(ix) < 0) {
		sched_index_free(ix);
		return SCHED_ERR_OOM;
	}
	for (size_t i = 0; i < in->n_windows; i++) {
		ix->insts[i].capacity = in->windows[i].capacity;
		ix->room[i] = in->windows[i].end_ms - in->windows[i].start_ms;
	}
	*out = ix;
	return SCHED_OK;
}

void sched_index_free(struct sched_index *ix)
{
	if (ix == NULL)
		return;
	for (size_t i = 0; i < ix->n_svcs; i++) {
		struct sched_svc *sv = &ix->svcs[i];
		free(sv->name);
		free(sv->spec);
		free(sv->bks);
		free(sv->busy);
		free(sv->rel);
	}
	if (ix->insts != NULL)
		for (size_t i = 0; i < ix->input.n_windows; i++) {
			free(ix->insts[i].buf);
		}
	free(ix->insts);
	free(ix->room);
	for (size_t i = 0; i < ix->n_wins; i++)
		wins_free(&ix->wins[i]);
	free(ix->wins);
	free(ix->wins_table);
	free(ix->svcs);
	free(ix->table);
	free(ix->all);
	free(ix->fz_ids);
	free(ix->fz_off);
	for (int k = 0; k < 3; k++)
		free(ix->scratch[k]);
	free(ix);
}

/* ---- queries ------------------------------------------------------------------------- */

/* Extends sv's related list to every interned service. */
static int svc_related(struct sched_index *ix, uint32_t id)
{
	struct sched_svc *sv = &ix->svcs[id];
	for (; sv->rel_checked < ix->n_svcs; sv->rel_checked++) {
		uint32_t r = (uint32_t)sv->rel_checked;
		bool rel = r == id ||
			   (ix->input.related != NULL &&
			    ix->input.related(ix->input.related_ctx, sv->name, ix->svcs[r].name));
		if (!rel)
			continue;
		if (grow((void **)&sv->rel, &sv->cap_rel, sv->n_rel + 1, sizeof *sv->rel) < 0)
			return -1;
		sv->rel[sv->n_rel++] = r;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* Scratch buffer k of ix, at least `size` bytes (its contents are not kept); NULL: OOM. */
static void *scratch(struct sched_index *ix, int k, size_t size)
{
	if (size > ix->scratch_size[k]) {
		void *p = malloc(size);
		if (p == NULL)
			return NULL;
		free(ix->scratch[k]);
		ix->scratch[k] = p;
		ix->scratch_size[k] = size;
	}
	return ix->scratch[k];
}

/* Takes n elements of `size` bytes from *p, keeping 8-byte alignment. */
static void *carve(char **p, size_t n, size_t size)
{
	void *r = *p;
	*p += (n * size + 7) / 8 * 8;
	return r;
}

static bool valid_change(const struct sched_change *c)
{
	if (c == NULL || c->services == NULL || c->n_services == 0 || c->duration_ms <= 0)
		return false;
	for (size_t i = 0; i < c->n_services; i++)
		if (c->services[i] == NULL)
			return false;
	return true;
}

/*
 * Resolves `c` against the index.  q's arrays are the index's scratch buffers: valid until
 * the next query_init.  The index must not gain services while q is used.
 */
static enum sched_status query_init(struct sched_index *ix, const struct sched_change *c,
				    int64_t now, struct sched_query *q)
{
	*q = (struct sched_query){.c = c};
	if (!valid_change(c))
		return SCHED_ERR_INVALID;
	size_t n = c->n_services;
	char *p = scratch(ix, 0, n * (sizeof *q->list_svc + sizeof *q->cursor + 8 + 8));
	if (p == NULL)
		return SCHED_ERR_OOM;
	q->list_svc = carve(&p, n, sizeof *q->list_svc);
	q->cursor = carve(&p, n, sizeof *q->cursor);
	q->ids = carve(&p, n, sizeof *q->ids);
	q->lists = carve(&p, n, sizeof *q->lists);
	for (size_t i = 0; i < c->n_services; i++) {
		int32_t id = svc_intern(ix, c->services[i]);
		if (id < 0)
			return SCHED_ERR_OOM;
		q->ids[q->n_ids++] = (uint32_t)id;
	}
	size_t total = 0;
	for (size_t i = 0; i < q->n_ids; i++) {
		if (svc_related(ix, q->ids[i]) < 0 || svc_windows(ix, &ix->svcs[q->ids[i]]) < 0)
			return SCHED_ERR_OOM;
		total += ix->svcs[q->ids[i]].n_rel;
	}
	/* Services with the same windows pass or fail the window rule together. */
	for (size_t i = 0; i < q->n_ids; i++) {
		uint32_t l = (uint32_t)ix->svcs[q->ids[i]].wins;
		bool seen = false;
		for (size_t k = 0; k < q->n_lists && !seen; k++)
			seen = q->lists[k] == l;
		if (!seen) {
			q->list_svc[q->n_lists] = ix->svcs[q->ids[i]].name;
			q->lists[q->n_lists++] = l;
		}
	}
	const struct sched_input *in = &ix->input;
	p = scratch(ix, 1, total * (sizeof *q->rel_cursor + 8) + in->n_freezes * 4 + 8);
	if (p == NULL)
		return SCHED_ERR_OOM;
	q->rel_cursor = carve(&p, total, sizeof *q->rel_cursor);
	q->rel = carve(&p, total, sizeof *q->rel);
	q->freezes = carve(&p, in->n_freezes, sizeof *q->freezes);
	for (size_t i = 0; i < q->n_ids; i++) {
		const struct sched_svc *sv = &ix->svcs[q->ids[i]];
		for (size_t k = 0; k < sv->n_rel; k++)
			if (ix->svcs[sv->rel[k]].n_busy > 0)
				q->rel[q->n_rel++] = sv->rel[k];
	}
	qsort(q->rel, q->n_rel, sizeof *q->rel, cmp_u32);
	size_t u = 0;
	for (size_t k = 0; k < q->n_rel; k++)
		if (u == 0 || q->rel[u - 1] != q->rel[k])
			q->rel[u++] = q->rel[k];
	q->n_rel = u;
	for (size_t f = 0; f < in->n_freezes; f++) {
		bool applies = in->freezes[f].n_services == 0;
		for (size_t k = ix->fz_off[f]; k < ix->fz_off[f + 1] && !applies; k++)
			for (size_t i = 0; i < q->n_ids && !applies; i++)
				applies = ix->fz_ids[k] == q->ids[i];
		if (applies && in->freezes[f].end_ms > in->freezes[f].start_ms)
			q->freezes[q->n_freezes++] = (uint32_t)f;
	}
	q->lo = c->not_before_ms > now ? c->not_before_ms : now;
	q->hi = now + in->horizon_ms;
	if (c->not_after_ms != 0 && c->not_after_ms < q->hi) {
		q->hi = c->not_after_ms;
		q->bounded = true;
	}
	return SCHED_OK;
}

/*
 * The earliest t' >= t at which every window list of q has an instance with room for dur
 * holding [t', t' + dur) (capacity at t' aside), or INT64_MAX.  No earlier instant passes
 * the window rule: each step moves t to the first instant one list allows, and an instant
 * that passes the rule is allowed by every list.  For services with different windows
 * (different teams, say, whose windows meet only at weekends) this steps through their
 * instances in one tight loop instead of one sweep step per instance.
 */
static int64_t windows_meet(const struct sched_index *ix, struct sched_query *q, int64_t t,
			    int64_t dur)
{
	for (size_t i = 0, agree = 0; agree < q->n_lists; i = (i + 1) % q->n_lists) {
		int64_t ti = wins_fit(ix, &ix->wins[q->lists[i]], &q->cursor[i], t, dur);
		if (ti == INT64_MAX)
			return INT64_MAX;
		agree = ti > t ? 1 : agree + 1;
		t = ti;
	}
	return t;
}

static bool is_emergency(const struct sched_query *q)
{
	return q->c->type == SCHED_EMERGENCY;
}

/* Whether the change may cross hard freezes. */
static bool may_break(const struct sched_query *q)
{
	return is_emergency(q) && q->c->break_glass;
}

/*
 * The earliest slot starting in [lo, hi - duration]: 1 with *out filled, or 0 with the
 * first obstacle met in *why (when not NULL).
 */
static int sweep(struct sched_index *ix, struct sched_query *q, int64_t lo, int64_t hi,
		 struct sched_slot *out, struct sched_why *why)
{
	const struct sched_input *in = &ix->input;
	int64_t dur = q->c->duration_ms;
	int64_t t = lo;

	for (size_t i = 0; i < q->n_lists; i++)
		q->cursor[i] = 0;
	for (size_t k = 0; k < q->n_rel; k++)
		q->rel_cursor[k] = (struct busy_cursor){0, INT64_MIN, INT64_MIN};
	for (;;) {
		if (t > hi - dur) {
			why_note(why, WHY_BOUND, NULL, NULL, 0);
			return 0;
		}
		int64_t nt = t;
		if (!is_emergency(q)) {
			/* Not before the first step has said why the first instant fails. */
			if (q->n_lists > 1 && (why == NULL || why->kind != WHY_NONE)) {
				nt = windows_meet(ix, q, t, dur);
				if (nt > t) {
					t = nt;
					continue;
				}
			}
			for (size_t i = 0; i < q->n_lists && nt == t; i++) {
				int64_t adv;
				uint32_t chosen;
				if (!find_instance(ix, &ix->wins[q->lists[i]], q->list_svc[i], t,
						   dur, &q->cursor[i], &chosen, &adv, why))
					nt = adv;
				else if (i == 0)
					q->chosen = chosen;
			}
			if (nt == INT64_MAX)
				return 0;
			if (nt > t) {
				t = nt;
				continue;
			}
		}
		if (!may_break(q)) {
			for (size_t k = 0; k < q->n_freezes; k++) {
				const struct sched_freeze *f = &in->freezes[q->freezes[k]];
				if (f->hard && f->start_ms < t + dur && f->end_ms > t &&
				    f->end_ms > nt) {
					nt = f->end_ms;
					why_note(why, WHY_FREEZE, NULL, f->name, 0);
				}
			}
			if (nt > t) {
				t = nt;
				continue;
			}
		}
		for (size_t k = 0; k < q->n_rel; k++) {
			int64_t e = busy_free_from(&ix->svcs[q->rel[k]], t, dur, &q->rel_cursor[k]);
			if (e > nt)
				nt = e;
		}
		for (size_t k = 0; k < q->n_rel && nt > t && why != NULL && why->kind == WHY_NONE;
		     k++) {
			struct sched_svc *sv = &ix->svcs[q->rel[k]];
			const struct sched_bk *b = bks_overlap(sv, t, dur);
			if (b != NULL)
				why_note(why, WHY_BOOKED, sv->name, b->change_id, 0);
		}
		if (nt > t) {
			t = nt;
			continue;
		}
		break;
	}
	*out = (struct sched_slot){.start_ms = t, .end_ms = t + dur};
	if (!is_emergency(q)) {
		const struct sched_window *w = win_at(ix, q->chosen);
		out->window_uid = w->uid;
		out->window_start_ms = w->start_ms;
		out->window_end_ms = w->end_ms;
	}
	for (size_t k = 0; k < q->n_freezes; k++) {
		const struct sched_freeze *f = &in->freezes[q->freezes[k]];
		if (f->start_ms >= t + dur || f->end_ms <= t)
			continue;
		if (!f->hard && out->soft_freeze == NULL)
			out->soft_freeze = f->name;
		if (f->hard && out->broken_freeze == NULL)
			out->broken_freeze = f->name;
	}
	return 1;
}

/* ---- explanations -------------------------------------------------------------------- */

char *sched_rfc3339(int64_t ms, char *buf, size_t size)
{
	int64_t sec = ms / 1000, frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	time_t tt = (time_t)sec;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, size, "invalid");
		return buf;
	}
	if (frac != 0)
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
	else
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

char *sched_duration_iso(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms / 1000, d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
	size_t k = (size_t)snprintf(buf, size, "P");
	if (d > 0 && k < size)
		k += (size_t)snprintf(buf + k, size - k, "%" PRId64 "D", d);
	if ((h || m || sec || d == 0) && k < size)
		k += (size_t)snprintf(buf + k, size - k, "T");
	if (h && k < size)
		k += (size_t)snprintf(buf + k, size - k, "%" PRId64 "H", h);
	if (m && k < size)
		k += (size_t)snprintf(buf + k, size - k, "%" PRId64 "M", m);
	if ((sec || (d == 0 && h == 0 && m == 0)) && k < size)
		snprintf(buf + k, size - k, "%" PRId64 "S", sec);
	return buf;
}

static void why_text(const struct sched_query *q, const struct sched_why *w, char *buf, size_t size)
{
	char d[32];
	sched_duration_iso(q->c->duration_ms, d, sizeof d);
	switch (w->kind) {
	case WHY_NO_WINDOW:
		snprintf(buf, size, "no window of %s at the same time", w->svc);
		break;
	case WHY_SHORT:
		snprintf(buf, size, "overlap with a window of %s shorter than the change (%s)",
			 w->svc, d);
		break;
	case WHY_CAPACITY:
		snprintf(buf, size, "window full for %s (capacity %d)", w->svc, w->cap);
		break;
	case WHY_FREEZE:
		snprintf(buf, size, "inside hard freeze '%s'", w->name);
		break;
	case WHY_BOOKED:
		snprintf(buf, size, "%s booked by %s", w->svc, w->name ? w->name : "(unnamed)");
		break;
	case WHY_BOUND:
	case WHY_NONE:
		snprintf(buf, size, "%s", q->bounded ? "after not_after" : "beyond the horizon");
		break;
	}
}

static struct sched_explanation *explain_add(struct sched_explain *why, const char *uid,
					     int64_t start, int64_t end)
{
	if (why->n >= SCHED_EXPLAIN_MAX)
		return NULL;
	struct sched_explanation *e = &why->items[why->n++];
	*e = (struct sched_explanation){uid, start, end, ""};
	return e;
}

/*
 * One explanation per candidate instance of the change's first service; with `before`
 * (a slot was found), only the instances that start before that slot's window: the
 * ones the search skipped, each with why it could not take the change.
 */
static void explain_until(struct sched_index *ix, struct sched_query *q,
			  const struct sched_slot *before, struct sched_explain *why);

static void explain(struct sched_index *ix, struct sched_query *q, struct sched_explain *why)
{
	explain_until(ix, q, NULL, why);
}

static void explain_until(struct sched_index *ix, struct sched_query *q,
			  const struct sched_slot *before, struct sched_explain *why)
{
	int64_t dur = q->c->duration_ms;
	char d[32];
	struct sched_slot unused;

	why->n = 0;
	sched_duration_iso(dur, d, sizeof d);
	if (before != NULL && (is_emergency(q) || before->window_uid == NULL))
		return; /* no windows to skip */
	if (is_emergency(q)) {
		struct sched_why w = {0};
		struct sched_explanation *e = explain_add(why, NULL, q->lo, q->hi);
		if (q->lo > q->hi - dur)
			why_note(&w, WHY_BOUND, NULL, NULL, 0);
		else
			sweep(ix, q, q->lo, q->hi, &unused, &w);
		why_text(q, &w, e->reason, sizeof e->reason);
		return;
	}
	const struct sched_svc *sv = &ix->svcs[q->ids[0]];
	const struct sched_wins *l = &ix->wins[sv->wins];
	size_t lo = 0, hi = l->n;
	while (lo < hi) { /* first instance ending after q->lo: pmax is non-decreasing */
		size_t mid = lo + (hi - lo) / 2;
		if (l->pmax[mid] <= q->lo)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k < l->n && why->n < SCHED_EXPLAIN_MAX; k++) {
		const struct sched_window *w = win_at(ix, l->ids[k]);
		if (w->end_ms <= q->lo)
			continue;
		if (before != NULL && w->start_ms >= before->window_start_ms)
			break; /* the chosen instance and later ones */
		int64_t s = w->start_ms > q->lo ? w->start_ms : q->lo;
		int64_t e = w->end_ms < q->hi ? w->end_ms : q->hi;
		struct sched_explanation *x = explain_add(why, w->uid, w->start_ms, w->end_ms);
		if (s > q->hi - dur) {
			snprintf(x->reason, sizeof x->reason, "%s",
				 q->bounded ? "after not_after" : "beyond the horizon");
			break;
		}
		if (w->end_ms - w->start_ms < dur) {
			snprintf(x->reason, sizeof x->reason, "shorter than the change (%s)", d);
		} else if (w->end_ms - s < dur) {
			char t[40];
			snprintf(x->reason, sizeof x->reason, "less than %s left after %s", d,
				 sched_rfc3339(q->lo, t, sizeof t));
		} else if (e - s < dur) {
			snprintf(x->reason, sizeof x->reason, "%s",
				 q->bounded ? "after not_after" : "beyond the horizon");
		} else {
			struct sched_why wy = {0};
			if (sweep(ix, q, s, e, &unused, &wy)) {
				why->n--; /* cannot happen after a failed search; say nothing */
				continue;
			}
			why_text(q, &wy, x->reason, sizeof x->reason);
		}
	}
	if (why->n == 0 && before == NULL) {
		struct sched_explanation *x = explain_add(why, NULL, q->lo, q->hi);
		snprintf(x->reason, sizeof x->reason, "no window of %s before %s", sv->name,
			 q->bounded ? "not_after" : "the horizon");
	}
}

json_t *sched_explain_to_json(const struct sched_explain *why)
{
	json_t *arr = json_array();
	if (arr == NULL)
		return NULL;
	for (size_t i = 0; why != NULL && i < why->n; i++) {
		const struct sched_explanation *e = &why->items[i];
		char s[40], t[40];
		json_t *o = json_pack("{s:s?, s:s, s:s, s:s}", "window", e->window_uid, "start",
				      sched_rfc3339(e->start_ms, s, sizeof s), "end",
				      sched_rfc3339(e->end_ms, t, sizeof t), "reason", e->reason);
		if (o == NULL || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- public searches ----------------------------------------------------------------- */

enum sched_status sched_next_slots(struct sched_index *ix, const struct sched_change *c,
				   int64_t now_ms, struct sched_slot *slots, size_t count,
				   size_t *n, struct sched_explain *why)
{
	if (ix == NULL || n == NULL || (count > 0 && slots == NULL))
		return SCHED_ERR_INVALID;
	*n = 0;
	if (why != NULL)
		why->n = 0;
	struct sched_query q;
	enum sched_status st = query_init(ix, c, now_ms, &q);
	if (st != SCHED_OK)
		return st;
	int64_t from = q.lo;
	while (*n < count && sweep(ix, &q, from, q.hi, &slots[*n], NULL))
		from = slots[(*n)++].end_ms;
	if (*n == 0 && why != NULL)
		explain(ix, &q, why);
	return *n > 0 || count == 0 ? SCHED_OK : SCHED_NO_SLOT;
}

enum sched_status sched_explain_skipped(struct sched_index *ix, const struct sched_change *c,
					int64_t now_ms, const struct sched_slot *slot,
					struct sched_explain *why)
{
	if (ix == NULL || c == NULL || slot == NULL || why == NULL)
		return SCHED_ERR_INVALID;
	why->n = 0;
	struct sched_query q;
	enum sched_status st = query_init(ix, c, now_ms, &q);
	if (st != SCHED_OK)
		return st;
	explain_until(ix, &q, slot, why);
	return SCHED_OK;
}

enum sched_status sched_find(struct sched_index *ix, const struct sched_change *c, int64_t now_ms,
			     struct sched_slot *slot, struct sched_explain *why)
{
	size_t n;
	if (slot == NULL)
		return SCHED_ERR_INVALID;
	return sched_next_slots(ix, c, now_ms, slot, 1, &n, why);
}

enum sched_status sched_index_book(struct sched_index *ix, const struct sched_change *c,
				   const struct sched_slot *slot)
{
	if (ix == NULL || slot == NULL || !valid_change(c) || slot->end_ms <= slot->start_ms)
		return SCHED_ERR_INVALID;
	char *p = scratch(ix, 2, c->n_services * (sizeof(int64_t) + 8));
	if (p == NULL)
		return SCHED_ERR_OOM;
	int64_t *wi = carve(&p, c->n_services, sizeof *wi);
	uint32_t *ids = carve(&p, c->n_services, sizeof *ids);
	/* Find every instance first so that an error leaves the index unchanged. */
	for (size_t i = 0; i < c->n_services; i++) {
		int32_t id = svc_intern(ix, c->services[i]);
		if (id < 0 || svc_windows(ix, &ix->svcs[id]) < 0 ||
		    svc_reserve(ix, &ix->svcs[id], c->n_services) < 0)
			return SCHED_ERR_OOM;
		ids[i] = (uint32_t)id;
		wi[i] = -1;
		uint32_t chosen;
		int64_t adv;
		if (slot->window_uid != NULL &&
		    find_instance(ix, &ix->wins[ix->svcs[id].wins], ix->svcs[id].name,
				  slot->start_ms, slot->end_ms - slot->start_ms, NULL, &chosen,
				  &adv, NULL))
			wi[i] = chosen;
	}
	for (size_t i = 0; i < c->n_services; i++)
		if (wi[i] >= 0 && inst_reserve(&ix->insts[wi[i]], ix->insts[wi[i]].n + 1) < 0)
			return SCHED_ERR_OOM;
	/* Room is reserved: nothing below fails. */
	for (size_t i = 0; i < c->n_services; i++) {
		bool dup = false; /* the same service named twice */
		for (size_t j = 0; j < i && !dup; j++)
			dup = ids[j] == ids[i];
		if (!dup)
			svc_book(ix, &ix->svcs[ids[i]], slot->start_ms, slot->end_ms, c->id);
	}
	(void)use_instances(ix, wi, c->n_services, slot->start_ms, slot->end_ms);
	return SCHED_OK;
}

/* ---- the batch planner --------------------------------------------------------------- */

/* A change to plan: its sort key, and its position in the input. */
struct plan_key {
	int priority;
	int64_t approved_ms;
	const char *id;
	size_t i;
};

static int cmp_plan(const void *a, const void *b)
{
	const struct plan_key *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->approved_ms != y->approved_ms)
		return x->approved_ms < y->approved_ms ? -1 : 1;
	int r = strcmp(x->id ? x->id : "", y->id ? y->id : "");
	if (r != 0)
		return r;
	return x->i < y->i ? -1 : x->i > y->i ? 1 : 0;
}

/* Changes gathered at a time by sched_plan. */
#define PLAN_CHUNK 256

/*
 * Copies the changes keys[0..n) (n <= PLAN_CHUNK), in that order, into `ordered`, with
 * their service lists in *names (grown as needed, *cap entries).  Read in plan order from
 * the caller's arrays, the changes are all over memory, and with thousands of them the
 * misses in the middle of each search cost as much as the search; gathered in a loop with
 * nothing else to wait for, the misses overlap, and the planning loop reads in order.
 */
static int plan_gather(const struct sched_change *changes, const struct plan_key *keys, size_t n,
		       struct sched_change *ordered, const char ***names, size_t *cap)
{
	size_t total = 0;
	for (size_t k = 0; k < n; k++)
		total += changes[keys[k].i].n_services;
	if (grow((void **)names, cap, total, sizeof **names) < 0)
		return -1;
	for (size_t k = 0, off = 0; k < n; k++) {
		const struct sched_change *c = &changes[keys[k].i];
		ordered[k] = *c;
		memcpy(*names + off, c->services, c->n_services * sizeof **names);
		ordered[k].services = *names + off;
		off += c->n_services;
	}
	return 0;
}

/* Plans the changes in the order of keys[0..n) into `ix`, gathering them a chunk at a time. */
static enum sched_status plan_all(struct sched_index *ix, const struct sched_change *changes,
				  const struct plan_key *keys, size_t n, int64_t now_ms,
				  struct sched_plan_entry *out)
{
	struct sched_change *ordered = malloc(PLAN_CHUNK * sizeof *ordered);
	const char **names = NULL;
	size_t cap_names = 0;
	enum sched_status st = ordered != NULL ? SCHED_OK : SCHED_ERR_OOM;
	for (size_t k0 = 0; k0 < n && st == SCHED_OK; k0 += PLAN_CHUNK) {
		size_t m = n - k0 < PLAN_CHUNK ? n - k0 : PLAN_CHUNK;
		if (plan_gather(changes, keys + k0, m, ordered, &names, &cap_names) < 0)
			st = SCHED_ERR_OOM;
		for (size_t k = 0; k < m && st == SCHED_OK; k++) {
			struct sched_plan_entry *e = &out[keys[k0 + k].i];
			*e = (struct sched_plan_entry){0};
			enum sched_status r = sched_find(ix, &ordered[k], now_ms, &e->slot, NULL);
			if (r == SCHED_OK)
				st = sched_index_book(ix, &ordered[k], &e->slot);
			else if (r == SCHED_NO_SLOT)
				e->status = SCHED_NO_SLOT;
			else
				st = r;
		}
	}
	free(ordered);
	free(names);
	return st;
}

enum sched_status sched_plan(const struct sched_input *in, const struct sched_change *changes,
			     size_t n, int64_t now_ms, struct sched_plan_entry *out)
{
	if (in == NULL || (n > 0 && (changes == NULL || out == NULL)))
		return SCHED_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (!valid_change(&changes[i]))
			return SCHED_ERR_INVALID;
	struct sched_index *ix;
	enum sched_status st = sched_index_new(in, &ix);
	if (st != SCHED_OK)
		return st;
	ix->explains = false; /* nothing here asks why */
	struct plan_key *keys = malloc((n ? n : 1) * sizeof *keys);
	if (keys == NULL) {
		sched_index_free(ix);
		return SCHED_ERR_OOM;
	}
	for (size_t i = 0; i < n; i++)
		keys[i] = (struct plan_key){changes[i].priority, changes[i].approved_ms,
					    changes[i].id, i};
	qsort(keys, n, sizeof *keys, cmp_plan);
	st = plan_all(ix, changes, keys, n, now_ms, out);
	free(keys);
	sched_index_free(ix);
	return st;
}
