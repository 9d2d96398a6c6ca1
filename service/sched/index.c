/*
 * index.c -- the scheduler index (sched.h): bookings per service, merged into busy time, and
 * building and freeing the index from a struct sched_input.
 */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "sched/sched_int.h"

/* ---- bookings ------------------------------------------------------------------------ */

/* By start, then change id (an explanation names the same booking whatever order the
 * index learnt them in), then arrival. */
static int cmp_bk(const void *a, const void *b)
{
	const struct sched_bk *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	int r = strcmp(x->change_id ? x->change_id : "", y->change_id ? y->change_id : "");
	if (r != 0)
		return r;
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
const struct sched_bk *sched_bks_overlap(struct sched_svc *sv, int64_t t, int64_t dur)
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
 * The earliest t' >= t such that [t', t' + dur) overlaps no booking of sv: t, or the end
 * of the run of busy intervals less than dur apart that starts with one overlapping
 * [t, t + dur).  `c` is the cursor of an earlier t, updated.
 */
int64_t sched_busy_free_from(const struct sched_svc *sv, int64_t t, int64_t dur,
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
 * Merges [start, end) into sv's busy intervals (room reserved with sched_svc_reserve()).  Moves the
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
int sched_svc_reserve(const struct sched_index *ix, struct sched_svc *sv, size_t more)
{
	if ((ix->explains &&
	     sched_grow((void **)&sv->bks, &sv->cap_bks, sv->n_bks + more, sizeof *sv->bks) < 0) ||
	    sched_grow((void **)&sv->busy, &sv->cap_busy, sv->n_busy + more, sizeof *sv->busy) < 0)
		return -1;
	return 0;
}

/* Books [start, end) on sv (room reserved with sched_svc_reserve()). */
void sched_svc_book(struct sched_index *ix, struct sched_svc *sv, int64_t start, int64_t end,
		    const char *id)
{
	if (ix->explains) {
		struct sched_bk bk = {start, end, id, ix->next_seq++};
		size_t at = sv->n_bks;
		if (sv->bks_sorted) {
			/* In its place, so that the bookings stay sorted: a re-plan pass takes
			 * a change out and puts it back in the middle, once per change. */
			at = bks_after(sv, start - 1);
			while (at < sv->n_bks && cmp_bk(&sv->bks[at], &bk) < 0)
				at++;
			memmove(&sv->bks[at + 1], &sv->bks[at], (sv->n_bks - at) * sizeof *sv->bks);
		}
		sv->bks[at] = bk;
		sv->n_bks++;
		if (end - start > sv->max_dur)
			sv->max_dur = end - start;
	}
	busy_add(sv, start, end);
}

/* Makes room for `need` uses in `in` (the rooms stay valid). */
int sched_inst_reserve(struct sched_inst *in, size_t need)
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
		memcpy(buf, sched_inst_starts(in), in->n * sizeof *buf);
		memcpy(buf + cap, sched_inst_ends(in), in->n * sizeof *buf);
		memcpy(buf + 2 * cap, sched_inst_rooms(in), (in->n + 1) * sizeof *buf);
	}
	free(in->buf);
	in->buf = buf;
	in->cap = (uint32_t)cap;
	return 0;
}

/* Inserts x into the n sorted values of v (room for n + 1). */
static void insert_sorted(int64_t *v, size_t n, int64_t x)
{
	size_t at = sched_count_upto(v, n, x);
	memmove(&v[at + 1], &v[at], (n - at) * sizeof *v);
	v[at] = x;
}

static int inst_use(struct sched_index *ix, uint32_t wi, int64_t start, int64_t end)
{
	struct sched_inst *in = &ix->insts[wi];
	if (sched_inst_reserve(in, in->n + 1) < 0)
		return -1;
	insert_sorted(sched_inst_starts(in), in->n, start);
	insert_sorted(sched_inst_ends(in), in->n, end);
	in->n++;
	in->dirty = true;
	return 0;
}

/* The instance of list `l` with `uid` holding [start, end), or -1. */
static int64_t find_uid_instance(const struct sched_index *ix, const struct sched_wins *l,
				 const char *uid, int64_t start, int64_t end)
{
	for (size_t k = sched_wins_upto(l, start); k-- > 0 && l->pmax[k] > start;) {
		const struct sched_window *w = sched_win_at(ix, l->ids[k]);
		if (w->end_ms >= end && w->uid != NULL && strcmp(w->uid, uid) == 0)
			return l->ids[k];
	}
	return -1;
}

/* Counts [start, end) against each distinct instance in `wi` (n entries, -1 skipped). */
int sched_use_instances(struct sched_index *ix, const int64_t *wi, size_t n, int64_t start,
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

/* ---- bookings by change: sched_index_add, sched_index_remove ------------------------------ */

static void held_place(struct sched_index *ix, int32_t at)
{
	size_t mask = ix->held_table_size - 1;
	size_t k = hash_str(ix->held[at].change_id) & mask;
	while (ix->held_table[k] >= 0)
		k = (k + 1) & mask;
	ix->held_table[k] = at;
}

/* Rebuilds the table with room for `size` (a power of two) slots, live bookings only. */
static int held_rehash(struct sched_index *ix, size_t size)
{
	int32_t *t = malloc(size * sizeof *t);
	if (t == NULL)
		return -1;
	for (size_t k = 0; k < size; k++)
		t[k] = -1;
	free(ix->held_table);
	ix->held_table = t;
	ix->held_table_size = size;
	ix->held_table_used = 0;
	for (size_t i = 0; i < ix->n_held; i++)
		if (ix->held[i].live) {
			held_place(ix, (int32_t)i);
			ix->held_table_used++;
		}
	return 0;
}

/*
 * Records booking `b` as held: its distinct service ids (interned already) and the
 * distinct instances among wi[0..b->n_services) (-1: none).
 */
static int held_add(struct sched_index *ix, const struct sched_booking *b, const int64_t *wi)
{
	if (ix->n_held >= INT32_MAX ||
	    sched_grow((void **)&ix->held, &ix->cap_held, ix->n_held + 1, sizeof *ix->held) < 0)
		return -1;
	if ((ix->held_table_used + 1) * 2 > ix->held_table_size) {
		size_t live = 0;
		for (size_t i = 0; i < ix->n_held; i++)
			live += ix->held[i].live;
		size_t size = 64;
		while ((live + 1) * 4 > size)
			size *= 2;
		if (held_rehash(ix, size) < 0)
			return -1;
	}
	struct sched_held h = {.change_id = b->change_id, .start = b->start_ms, .end = b->end_ms};
	h.svc = malloc(b->n_services * sizeof *h.svc);
	h.inst = malloc(b->n_services * sizeof *h.inst);
	if (h.svc == NULL || h.inst == NULL) {
		free(h.svc);
		free(h.inst);
		return -1;
	}
	for (size_t s = 0; s < b->n_services; s++) {
		uint32_t id = (uint32_t)sched_svc_lookup(ix, b->services[s]);
		bool seen = false;
		for (size_t k = 0; k < h.n_svc && !seen; k++)
			seen = h.svc[k] == id;
		if (!seen)
			h.svc[h.n_svc++] = id;
		seen = wi[s] < 0;
		for (size_t k = 0; k < h.n_inst && !seen; k++)
			seen = h.inst[k] == wi[s];
		if (!seen)
			h.inst[h.n_inst++] = wi[s];
	}
	h.live = true;
	ix->held[ix->n_held] = h;
	held_place(ix, (int32_t)ix->n_held++);
	ix->held_table_used++;
	return 0;
}

/*
 * The busy intervals replacing one after a booking [.., end) left it: `run` (when `have`)
 * is the run of the bookings before bks[first], which go on from bks[first] until a run
 * reaches `end` (it then lasts to `be`, the interval's end) or the interval ends.  Writes
 * them to `out` (may be NULL) and returns how many.
 */
static size_t unbook_pieces(const struct sched_svc *sv, size_t first, bool have,
			    struct sched_busy run, int64_t end, int64_t be, struct sched_busy *out)
{
	size_t n = 0;
	for (size_t k = first; k < sv->n_bks && sv->bks[k].start < be && !(have && run.end >= end);
	     k++) {
		if (have && sv->bks[k].start <= run.end) {
			if (sv->bks[k].end > run.end)
				run.end = sv->bks[k].end;
			continue;
		}
		if (have && out != NULL)
			out[n] = run;
		n += have;
		run = (struct sched_busy){sv->bks[k].start, sv->bks[k].end};
		have = true;
	}
	if (!have)
		return n;
	if (run.end >= end)
		run.end = be;
	if (out != NULL)
		out[n] = run;
	return n + 1;
}

/* Takes [start, end) of change `id` off service sv: its booking, and its busy time. */
static int svc_unbook(struct sched_index *ix, struct sched_svc *sv, const char *id, int64_t start,
		      int64_t end)
{
	(void)ix;
	if (!sv->bks_sorted) {
		qsort(sv->bks, sv->n_bks, sizeof *sv->bks, cmp_bk);
		sv->bks_sorted = true;
	}
	size_t b = bks_after(sv, start - 1);
	while (b < sv->n_bks && sv->bks[b].start == start &&
	       !(sv->bks[b].end == end && strcmp(sv->bks[b].change_id, id) == 0))
		b++;
	if (b >= sv->n_bks || sv->bks[b].start != start)
		return 0; /* not there (cannot happen) */
	memmove(&sv->bks[b], &sv->bks[b + 1], (sv->n_bks - b - 1) * sizeof *sv->bks);
	sv->n_bks--;
	/*
	 * The busy interval B that held it changes only where [start, end) alone covered
	 * it.  The bookings that start before `start` still cover one run from B's start
	 * (B was one run, and none of them moved) to the latest of their ends, found walking
	 * back until no earlier booking can end later (max_dur); and B's time from `end` on
	 * is all still covered.  So B is merged again only from `start` on, over the
	 * bookings starting there, until a run reaches `end`: that run lasts to B's end.
	 */
	size_t i = busy_after(sv, start);
	if (i >= sv->n_busy)
		return 0;
	int64_t bs = sv->busy[i].start, be = sv->busy[i].end;
	size_t first = bks_after(sv, start - 1); /* the first starting at or after start */
	bool have = false;
	struct sched_busy run = {0, 0};
	for (size_t k = first; k-- > 0 && sv->bks[k].start >= bs;) {
		if (!have || sv->bks[k].end > run.end)
			run = (struct sched_busy){bs, sv->bks[k].end};
		have = true;
		if (sv->bks[k].start + sv->max_dur <= run.end)
			break; /* nothing earlier ends later */
	}
	size_t m = unbook_pieces(sv, first, have, run, end, be, NULL);
	if (m > 1 &&
	    sched_grow((void **)&sv->busy, &sv->cap_busy, sv->n_busy + m - 1, sizeof *sv->busy) < 0)
		return -1;
	memmove(&sv->busy[i + m], &sv->busy[i + 1], (sv->n_busy - i - 1) * sizeof *sv->busy);
	(void)unbook_pieces(sv, first, have, run, end, be, &sv->busy[i]);
	sv->n_busy = sv->n_busy - 1 + m;
	return 0;
}

/* Removes one use [start, end) from instance wi, and brings its rooms up to date. */
static void inst_unuse(struct sched_index *ix, uint32_t wi, int64_t start, int64_t end)
{
	struct sched_inst *in = &ix->insts[wi];
	int64_t *v[2] = {sched_inst_starts(in), sched_inst_ends(in)};
	int64_t x[2] = {start, end};
	for (int k = 0; k < 2; k++) {
		size_t at = sched_count_upto(v[k], in->n, x[k] - 1);
		if (at >= in->n || v[k][at] != x[k])
			return; /* not there (cannot happen) */
	}
	for (int k = 0; k < 2; k++) {
		size_t at = sched_count_upto(v[k], in->n, x[k] - 1);
		memmove(&v[k][at], &v[k][at + 1], (in->n - at - 1) * sizeof *v[k]);
	}
	in->n--;
	sched_inst_refresh(ix, wi);
}

enum sched_status sched_index_add(struct sched_index *ix, const struct sched_booking *b)
{
	if (ix == NULL || b == NULL || b->change_id == NULL ||
	    (b->n_services > 0 && b->services == NULL))
		return SCHED_ERR_INVALID;
	if (b->end_ms <= b->start_ms || b->n_services == 0)
		return SCHED_OK; /* as sched_index_new: such a booking holds nothing */
	int64_t *wi = malloc(b->n_services * sizeof *wi);
	if (wi == NULL)
		return SCHED_ERR_OOM;
	for (size_t s = 0; s < b->n_services; s++) {
		int32_t id = sched_svc_intern(ix, b->services[s]);
		if (id < 0 || sched_svc_reserve(ix, &ix->svcs[id], 1) < 0 ||
		    sched_svc_windows(ix, &ix->svcs[id]) < 0)
			goto oom;
		wi[s] = b->window_uid == NULL
				? -1
				: find_uid_instance(ix, &ix->wins[ix->svcs[id].wins], b->window_uid,
						    b->start_ms, b->end_ms);
	}
	for (size_t s = 0; s < b->n_services; s++)
		if (wi[s] >= 0 && sched_inst_reserve(&ix->insts[wi[s]], ix->insts[wi[s]].n + 1) < 0)
			goto oom;
	if (held_add(ix, b, wi) < 0)
		goto oom;
	/* Room is reserved: nothing below fails. */
	const struct sched_held *h = &ix->held[ix->n_held - 1];
	for (size_t k = 0; k < h->n_svc; k++) {
		struct sched_svc *sv = &ix->svcs[h->svc[k]];
		sched_svc_book(ix, sv, b->start_ms, b->end_ms, b->change_id);
	}
	(void)sched_use_instances(ix, h->inst, h->n_inst, b->start_ms, b->end_ms);
	free(wi);
	return SCHED_OK;
oom:
	free(wi);
	return SCHED_ERR_OOM;
}

enum sched_status sched_index_remove(struct sched_index *ix, const char *change_id, size_t *removed)
{
	if (removed != NULL)
		*removed = 0;
	if (ix == NULL || change_id == NULL || !ix->explains)
		return SCHED_ERR_INVALID;
	if (ix->held_table_size == 0)
		return SCHED_OK;
	size_t mask = ix->held_table_size - 1;
	for (size_t k = hash_str(change_id) & mask; ix->held_table[k] >= 0; k = (k + 1) & mask) {
		struct sched_held *h = &ix->held[ix->held_table[k]];
		if (!h->live || strcmp(h->change_id, change_id) != 0)
			continue;
		for (size_t s = 0; s < h->n_svc; s++)
			if (svc_unbook(ix, &ix->svcs[h->svc[s]], h->change_id, h->start, h->end) <
			    0)
				return SCHED_ERR_OOM;
		for (size_t i = 0; i < h->n_inst; i++)
			inst_unuse(ix, (uint32_t)h->inst[i], h->start, h->end);
		h->live = false;
		free(h->svc);
		free(h->inst);
		h->svc = NULL;
		h->inst = NULL;
		if (removed != NULL)
			(*removed)++;
	}
	return SCHED_OK;
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
			int32_t id = sched_svc_intern(ix, w->services[s]);
			if (id < 0)
				goto oom;
			struct sched_svc *sv = &ix->svcs[id];
			if (sv->n_spec > 0 && sv->spec[sv->n_spec - 1] == keys[k].i)
				continue; /* the same service named twice */
			if (sched_grow((void **)&sv->spec, &sv->cap_spec, sv->n_spec + 1,
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
			int32_t id = sched_svc_intern(ix, b->services[s]);
			if (id < 0)
				return -1;
			struct sched_svc *sv = &ix->svcs[id];
			if (sched_grow((void **)&sv->bks, &sv->cap_bks, sv->n_bks + 1,
				       sizeof *sv->bks) < 0)
				return -1;
			sv->bks[sv->n_bks] = (struct sched_bk){b->start_ms, b->end_ms, b->change_id,
							       ix->next_seq++};
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
		    sched_grow((void **)&sv->busy, &sv->cap_busy, sv->n_bks, sizeof *sv->busy) < 0)
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
			struct sched_svc *sv = &ix->svcs[sched_svc_lookup(ix, b->services[s])];
			if (sched_svc_windows(ix, sv) < 0) {
				free(wi);
				return -1;
			}
			wi[s] = find_uid_instance(ix, &ix->wins[sv->wins], b->window_uid,
						  b->start_ms, b->end_ms);
		}
		int rc = sched_use_instances(ix, wi, b->n_services, b->start_ms, b->end_ms);
		free(wi);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Records every booking of the input as held, for sched_index_remove(). */
static int index_held(struct sched_index *ix)
{
	const struct sched_input *in = &ix->input;
	for (size_t i = 0; i < in->n_bookings; i++) {
		const struct sched_booking *b = &in->bookings[i];
		if (b->end_ms <= b->start_ms || b->n_services == 0)
			continue;
		int64_t *wi = malloc(b->n_services * sizeof *wi);
		if (wi == NULL)
			return -1;
		for (size_t s = 0; s < b->n_services; s++) {
			struct sched_svc *sv = &ix->svcs[sched_svc_lookup(ix, b->services[s])];
			wi[s] = b->window_uid == NULL
					? -1
					: find_uid_instance(ix, &ix->wins[sv->wins], b->window_uid,
							    b->start_ms, b->end_ms);
		}
		int rc = held_add(ix, b, wi);
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
			int32_t id = sched_svc_intern(ix, in->freezes[i].services[s]);
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
	if (ix->insts == NULL || ix->room == NULL || sched_table_rehash(ix, 64) < 0 ||
	    sched_wins_rehash(ix, 16) < 0 || held_rehash(ix, 64) < 0 || index_windows(ix) < 0 ||
	    index_freezes(ix) < 0 || index_bookings(ix) < 0 || index_held(ix) < 0) {
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
		sched_wins_free(&ix->wins[i]);
	free(ix->wins);
	free(ix->wins_table);
	free(ix->svcs);
	free(ix->table);
	free(ix->all);
	free(ix->fz_ids);
	free(ix->fz_off);
	for (size_t i = 0; i < ix->n_held; i++) {
		free(ix->held[i].svc);
		free(ix->held[i].inst);
	}
	free(ix->held);
	free(ix->held_table);
	for (int k = 0; k < 3; k++)
		free(ix->scratch[k]);
	free(ix);
}
