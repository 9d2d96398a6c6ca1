/*
 * windows.c -- the window side of the scheduler index: small helpers, interned service
 * names, the window lists services share, and the instances of each window with the room
 * left in them.
 */
#include <stdlib.h>
#include <string.h>

#include "sched/sched_int.h"

/* ---- small helpers ------------------------------------------------------------------- */

int sched_grow(void **p, size_t *cap, size_t need, size_t size)
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
size_t sched_count_upto(const int64_t *v, size_t n, int64_t x)
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

void sched_why_note(struct sched_why *w, enum sched_why_kind kind, const char *svc,
		    const char *name, int cap)
{
	if (w != NULL && w->kind == WHY_NONE)
		*w = (struct sched_why){kind, svc, name, cap};
}

/* ---- interning ----------------------------------------------------------------------- */

/* Looks `name` up; -1 when unknown. */
int32_t sched_svc_lookup(const struct sched_index *ix, const char *name)
{
	size_t mask = ix->table_size - 1;
	for (size_t i = hash_str(name) & mask;; i = (i + 1) & mask) {
		int32_t id = ix->table[i];
		if (id < 0 || strcmp(ix->svcs[id].name, name) == 0)
			return id;
	}
}

int sched_table_rehash(struct sched_index *ix, size_t size)
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
int32_t sched_svc_intern(struct sched_index *ix, const char *name)
{
	int32_t id = sched_svc_lookup(ix, name);
	if (id >= 0)
		return id;
	if ((ix->n_svcs + 1) * 2 > ix->table_size && sched_table_rehash(ix, ix->table_size * 2) < 0)
		return -1;
	if (ix->n_svcs >= INT32_MAX ||
	    sched_grow((void **)&ix->svcs, &ix->cap_svcs, ix->n_svcs + 1, sizeof *ix->svcs) < 0)
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

const struct sched_window *sched_win_at(const struct sched_index *ix, uint32_t i)
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

int sched_wins_rehash(struct sched_index *ix, size_t size)
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
		bool take_spec = b == ix->n_all ||
				 (a < n_spec && (sched_win_at(ix, spec[a])->start_ms <
							 sched_win_at(ix, ix->all[b])->start_ms ||
						 (sched_win_at(ix, spec[a])->start_ms ==
							  sched_win_at(ix, ix->all[b])->start_ms &&
						  spec[a] < ix->all[b])));
		uint32_t i = take_spec ? spec[a++] : ix->all[b++];
		l->ids[k] = i;
		l->start[k] = sched_win_at(ix, i)->start_ms;
		l->end[k] = sched_win_at(ix, i)->end_ms;
		l->pmax[k] = k > 0 && l->pmax[k - 1] > l->end[k] ? l->pmax[k - 1] : l->end[k];
		k++;
	}
	l->n = k;
	return 0;
}

void sched_wins_free(struct sched_wins *l)
{
	free(l->ids);
	free(l->start);
	free(l->end);
	free(l->pmax);
}

/* Finds or builds sv's window list (spec + all, sorted), once. */
int sched_svc_windows(struct sched_index *ix, struct sched_svc *sv)
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
	    sched_wins_rehash(ix, ix->wins_table_size * 2) < 0)
		return -1;
	if (ix->n_wins >= INT32_MAX ||
	    sched_grow((void **)&ix->wins, &ix->cap_wins, ix->n_wins + 1, sizeof *ix->wins) < 0)
		return -1;
	struct sched_wins *l = &ix->wins[ix->n_wins];
	*l = (struct sched_wins){.spec = sv->spec, .n_spec = sv->n_spec, .hash = h};
	if (wins_build(ix, l, sv->spec, sv->n_spec) < 0) {
		sched_wins_free(l);
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
size_t sched_wins_upto(const struct sched_wins *l, int64_t t)
{
	return sched_count_upto(l->start, l->n, t);
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
	return lo + 1 + sched_count_upto(l->start + lo + 1, hi - lo - 1, t);
}

int64_t *sched_inst_starts(const struct sched_inst *in)
{
	return in->buf;
}

int64_t *sched_inst_ends(const struct sched_inst *in)
{
	return in->buf + in->cap;
}

int64_t *sched_inst_rooms(const struct sched_inst *in)
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
	const int64_t *starts = sched_inst_starts(in), *ends = sched_inst_ends(in);
	int64_t *rooms = sched_inst_rooms(in), best = 0;
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
		ix->room[wi] = inst_refresh(in, sched_win_at(ix, wi));
		in->dirty = false;
	}
	return in;
}

/* Recomputes instance wi's rooms and ix->room[wi] now (after a use was taken back). */
void sched_inst_refresh(struct sched_index *ix, uint32_t wi)
{
	ix->insts[wi].dirty = true;
	(void)inst_ready(ix, wi);
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
	const int64_t *ends = sched_inst_ends(in);
	size_t j = sched_count_upto(ends, in->n, t);
	int64_t x = j > 0 ? ends[j - 1] : start;
	return t + dur - x <= sched_inst_rooms(in)[j];
}

/*
 * The earliest t' > t at which [t', t' + dur) ends within instance `in` and overlaps fewer
 * than its capacity of uses, or INT64_MAX: the first use end after t with room for dur.
 * A scan of the uses ending after t, as the refresh at each booking scans them all.
 */
static int64_t inst_free_from(const struct sched_inst *in, int64_t t, int64_t dur)
{
	const int64_t *ends = sched_inst_ends(in), *rooms = sched_inst_rooms(in);
	for (size_t i = sched_count_upto(ends, in->n, t); i < in->n; i++)
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
int sched_find_instance(struct sched_index *ix, const struct sched_wins *l, const char *svc,
			int64_t t, int64_t dur, size_t *cursor, uint32_t *chosen, int64_t *adv,
			struct sched_why *why)
{
	size_t pos =
		cursor != NULL ? (*cursor = wins_upto_from(l, *cursor, t)) : sched_wins_upto(l, t);
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
	sched_why_note(why,
		       fits    ? WHY_CAPACITY
		       : has_t ? WHY_SHORT
			       : WHY_NO_WINDOW,
		       svc, NULL, cap);
	return 0;
}

/*
 * The earliest t' >= t at which an instance of list `l` with room for dur holds
 * [t', t' + dur), or INT64_MAX; `cursor` as in sched_find_instance().  An instance starting by t
 * that holds [t', t' + dur) for some t' > t holds [t, t + dur) too: so the answer is t or
 * the start of the next instance with room.
 */
int64_t sched_wins_fit(const struct sched_index *ix, const struct sched_wins *l, size_t *cursor,
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
