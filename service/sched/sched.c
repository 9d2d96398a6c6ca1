/*
 * sched.c -- the scheduler core (sched.h): per-service indexes of window instances and
 * bookings, the earliest-slot sweep, explanations, and the batch planner.
 *
 * The sweep starts at the earliest allowed instant t and, while [t, t + duration) fails a
 * rule, jumps t forward to the next instant where that rule could hold: the next window
 * start, the end of a conflicting booking, of a full instance's booking or of a hard
 * freeze.  Every jump is strictly forward, so the first t that passes every rule is the
 * earliest slot.  Lookups are binary searches in per-service arrays sorted by start.
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
};

/* Bookings held by one window instance: their starts and their ends, each sorted. */
struct sched_inst {
	int64_t *starts, *ends;
	size_t n, cap;
};

/* One interned service. */
struct sched_svc {
	char *name;
	uint32_t *spec; /* windows naming it, sorted by start */
	size_t n_spec, cap_spec;
	uint32_t *wins; /* windows applying (spec + all), sorted by start; built lazily */
	int64_t *pmax;  /* pmax[k]: latest end among wins[0..k] */
	size_t n_wins;
	bool wins_ready;
	struct sched_bk *bks; /* bookings, sorted by start */
	size_t n_bks, cap_bks;
	int64_t max_dur; /* longest booking, bounds the overlap search */
	uint32_t *rel;   /* related service ids among [0, rel_checked) */
	size_t n_rel, cap_rel, rel_checked;
};

struct sched_index {
	struct sched_input input; /* copy of *in (the arrays stay borrowed) */
	struct sched_svc *svcs;
	size_t n_svcs, cap_svcs;
	int32_t *table; /* open addressing: service id or -1 */
	size_t table_size;
	uint32_t *all; /* windows for all services, sorted by start */
	size_t n_all;
	struct sched_inst *insts; /* one per window */
	uint32_t *fz_ids;         /* service ids of the freezes, flattened */
	size_t *fz_off;           /* freeze i: fz_ids[fz_off[i] .. fz_off[i + 1]) */
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
	uint32_t *freezes; /* freezes applying to the change */
	size_t n_freezes;
	uint32_t *chosen; /* per service: the window instance holding the slot */
	int64_t lo, hi;   /* earliest start, latest end */
	bool bounded;     /* hi comes from not_after */
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
	ix->svcs[id] = (struct sched_svc){.name = copy};
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

/* Builds svc's merged window list (spec + all) and its prefix maxima, once. */
static int svc_windows(struct sched_index *ix, struct sched_svc *sv)
{
	if (sv->wins_ready)
		return 0;
	size_t n = sv->n_spec + ix->n_all;
	uint32_t *w = malloc((n ? n : 1) * sizeof *w);
	int64_t *p = malloc((n ? n : 1) * sizeof *p);
	if (w == NULL || p == NULL) {
		free(w);
		free(p);
		return -1;
	}
	size_t a = 0, b = 0, k = 0;
	while (a < sv->n_spec || b < ix->n_all) {
		bool take_spec =
			b == ix->n_all ||
			(a < sv->n_spec &&
			 (win_at(ix, sv->spec[a])->start_ms < win_at(ix, ix->all[b])->start_ms ||
			  (win_at(ix, sv->spec[a])->start_ms == win_at(ix, ix->all[b])->start_ms &&
			   sv->spec[a] < ix->all[b])));
		w[k] = take_spec ? sv->spec[a++] : ix->all[b++];
		int64_t e = win_at(ix, w[k])->end_ms;
		p[k] = k > 0 && p[k - 1] > e ? p[k - 1] : e;
		k++;
	}
	sv->wins = w;
	sv->pmax = p;
	sv->n_wins = k;
	sv->wins_ready = true;
	return 0;
}

/* Number of svc's windows starting at or before t. */
static size_t wins_upto(const struct sched_index *ix, const struct sched_svc *sv, int64_t t)
{
	size_t lo = 0, hi = sv->n_wins;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (win_at(ix, sv->wins[mid])->start_ms <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Number of the n sorted values below x (strict) or, with `le`, at most x. */
static size_t count_below(const int64_t *v, size_t n, int64_t x, bool le)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x || (le && v[mid] == x))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Uses of instance `in` overlapping [t, t + dur): those starting before the end less those
 * ended by t.  O(log n). */
static size_t inst_count(const struct sched_inst *in, int64_t t, int64_t dur)
{
	return count_below(in->starts, in->n, t + dur, false) -
	       count_below(in->ends, in->n, t, true);
}

/*
 * The earliest t' > t at which [t', t' + dur) ends by `end` and overlaps fewer than `cap`
 * uses of `in`, or INT64_MAX.  The count only drops where a use ends.
 */
static int64_t inst_free_from(const struct sched_inst *in, int64_t t, int64_t dur, int64_t end,
			      int cap)
{
	for (size_t i = count_below(in->ends, in->n, t, true); i < in->n; i++) {
		int64_t e = in->ends[i];
		if (e > end - dur)
			break;
		if (inst_count(in, e, dur) < (size_t)cap)
			return e;
	}
	return INT64_MAX;
}

/*
 * An instance of sv's windows holding [t, t + dur) with capacity left: 1 with its index in
 * *chosen, or 0 with the next instant worth trying in *adv (INT64_MAX: none).
 */
static int find_instance(const struct sched_index *ix, const struct sched_svc *sv, int64_t t,
			 int64_t dur, uint32_t *chosen, int64_t *adv, struct sched_why *why)
{
	size_t pos = wins_upto(ix, sv, t);
	bool has_t = false, fits = false;
	int64_t cap_adv = INT64_MAX;
	int cap = 0;

	for (size_t k = pos; k-- > 0 && sv->pmax[k] > t;) {
		const struct sched_window *w = win_at(ix, sv->wins[k]);
		if (w->end_ms <= t)
			continue;
		has_t = true;
		if (w->end_ms < t + dur)
			continue;
		fits = true;
		const struct sched_inst *in = &ix->insts[sv->wins[k]];
		if (w->capacity <= 0 || inst_count(in, t, dur) < (size_t)w->capacity) {
			*chosen = sv->wins[k];
			return 1;
		}
		cap = w->capacity;
		int64_t free_at = inst_free_from(in, t, dur, w->end_ms, cap);
		if (free_at < cap_adv)
			cap_adv = free_at;
	}
	/* The next instance long enough for the change. */
	while (pos < sv->n_wins &&
	       win_at(ix, sv->wins[pos])->end_ms - win_at(ix, sv->wins[pos])->start_ms < dur)
		pos++;
	int64_t next = pos < sv->n_wins ? win_at(ix, sv->wins[pos])->start_ms : INT64_MAX;
	*adv = next < cap_adv ? next : cap_adv;
	why_note(why, fits ? WHY_CAPACITY : has_t ? WHY_SHORT : WHY_NO_WINDOW, sv->name, NULL, cap);
	return 0;
}

/* ---- bookings ------------------------------------------------------------------------ */

/* Index of the first booking of sv starting after t. */
static size_t bks_after(const struct sched_svc *sv, int64_t t)
{
	size_t lo = 0, hi = sv->n_bks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sv->bks[mid].start <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int svc_book(struct sched_svc *sv, int64_t start, int64_t end, const char *id)
{
	if (grow((void **)&sv->bks, &sv->cap_bks, sv->n_bks + 1, sizeof *sv->bks) < 0)
		return -1;
	size_t at = bks_after(sv, start);
	memmove(&sv->bks[at + 1], &sv->bks[at], (sv->n_bks - at) * sizeof *sv->bks);
	sv->bks[at] = (struct sched_bk){start, end, id};
	sv->n_bks++;
	if (end - start > sv->max_dur)
		sv->max_dur = end - start;
	return 0;
}

/* Makes room for `need` uses in `in`. */
static int inst_reserve(struct sched_inst *in, size_t need)
{
	size_t cap_s = in->cap, cap_e = in->cap;
	if (grow((void **)&in->starts, &cap_s, need, sizeof *in->starts) < 0 ||
	    grow((void **)&in->ends, &cap_e, need, sizeof *in->ends) < 0)
		return -1;
	in->cap = cap_s < cap_e ? cap_s : cap_e;
	return 0;
}

/* Inserts x into the n sorted values of v (room for n + 1). */
static void insert_sorted(int64_t *v, size_t n, int64_t x)
{
	size_t at = count_below(v, n, x, true);
	memmove(&v[at + 1], &v[at], (n - at) * sizeof *v);
	v[at] = x;
}

static int inst_use(struct sched_index *ix, uint32_t wi, int64_t start, int64_t end)
{
	struct sched_inst *in = &ix->insts[wi];
	if (inst_reserve(in, in->n + 1) < 0)
		return -1;
	insert_sorted(in->starts, in->n, start);
	insert_sorted(in->ends, in->n, end);
	in->n++;
	return 0;
}

/* The instance of sv's windows with `uid` holding [start, end), or -1. */
static int64_t find_uid_instance(const struct sched_index *ix, const struct sched_svc *sv,
				 const char *uid, int64_t start, int64_t end)
{
	for (size_t k = wins_upto(ix, sv, start); k-- > 0 && sv->pmax[k] > start;) {
		const struct sched_window *w = win_at(ix, sv->wins[k]);
		if (w->end_ms >= end && w->uid != NULL && strcmp(w->uid, uid) == 0)
			return sv->wins[k];
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

static int cmp_bk(const void *a, const void *b)
{
	const struct sched_bk *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

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
			sv->bks[sv->n_bks++] =
				(struct sched_bk){b->start_ms, b->end_ms, b->change_id};
			if (b->end_ms - b->start_ms > sv->max_dur)
				sv->max_dur = b->end_ms - b->start_ms;
		}
	}
	for (size_t id = 0; id < ix->n_svcs; id++)
		if (ix->svcs[id].n_bks > 1)
			qsort(ix->svcs[id].bks, ix->svcs[id].n_bks, sizeof(struct sched_bk),
			      cmp_bk);
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
			wi[s] = find_uid_instance(ix, sv, b->window_uid, b->start_ms, b->end_ms);
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
	if (ix->input.horizon_ms <= 0)
		ix->input.horizon_ms = SCHED_HORIZON_DEFAULT_MS;
	ix->insts = calloc(in->n_windows ? in->n_windows : 1, sizeof *ix->insts);
	if (ix->insts == NULL || table_rehash(ix, 64) < 0 || index_windows(ix) < 0 ||
	    index_freezes(ix) < 0 || index_bookings(ix) < 0) {
		sched_index_free(ix);
		return SCHED_ERR_OOM;
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
		free(sv->wins);
		free(sv->pmax);
		free(sv->bks);
		free(sv->rel);
	}
	if (ix->insts != NULL)
		for (size_t i = 0; i < ix->input.n_windows; i++) {
			free(ix->insts[i].starts);
			free(ix->insts[i].ends);
		}
	free(ix->insts);
	free(ix->svcs);
	free(ix->table);
	free(ix->all);
	free(ix->fz_ids);
	free(ix->fz_off);
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

static void query_free(struct sched_query *q)
{
	free(q->ids);
	free(q->rel);
	free(q->freezes);
	free(q->chosen);
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

/* Resolves `c` against the index.  The index must not gain services while q is used. */
static enum sched_status query_init(struct sched_index *ix, const struct sched_change *c,
				    int64_t now, struct sched_query *q)
{
	*q = (struct sched_query){.c = c};
	if (!valid_change(c))
		return SCHED_ERR_INVALID;
	q->ids = malloc(c->n_services * sizeof *q->ids);
	q->chosen = calloc(c->n_services, sizeof *q->chosen);
	if (q->ids == NULL || q->chosen == NULL)
		goto oom;
	for (size_t i = 0; i < c->n_services; i++) {
		int32_t id = svc_intern(ix, c->services[i]);
		if (id < 0)
			goto oom;
		q->ids[q->n_ids++] = (uint32_t)id;
	}
	size_t total = 0;
	for (size_t i = 0; i < q->n_ids; i++) {
		if (svc_related(ix, q->ids[i]) < 0 || svc_windows(ix, &ix->svcs[q->ids[i]]) < 0)
			goto oom;
		total += ix->svcs[q->ids[i]].n_rel;
	}
	q->rel = malloc((total ? total : 1) * sizeof *q->rel);
	if (q->rel == NULL)
		goto oom;
	for (size_t i = 0; i < q->n_ids; i++) {
		const struct sched_svc *sv = &ix->svcs[q->ids[i]];
		for (size_t k = 0; k < sv->n_rel; k++)
			if (ix->svcs[sv->rel[k]].n_bks > 0)
				q->rel[q->n_rel++] = sv->rel[k];
	}
	qsort(q->rel, q->n_rel, sizeof *q->rel, cmp_u32);
	size_t u = 0;
	for (size_t k = 0; k < q->n_rel; k++)
		if (u == 0 || q->rel[u - 1] != q->rel[k])
			q->rel[u++] = q->rel[k];
	q->n_rel = u;
	const struct sched_input *in = &ix->input;
	q->freezes = malloc((in->n_freezes ? in->n_freezes : 1) * sizeof *q->freezes);
	if (q->freezes == NULL)
		goto oom;
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
oom:
	query_free(q);
	return SCHED_ERR_OOM;
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

	for (;;) {
		if (t > hi - dur) {
			why_note(why, WHY_BOUND, NULL, NULL, 0);
			return 0;
		}
		int64_t nt = t;
		if (!is_emergency(q)) {
			for (size_t i = 0; i < q->n_ids && nt == t; i++) {
				int64_t adv;
				if (!find_instance(ix, &ix->svcs[q->ids[i]], t, dur, &q->chosen[i],
						   &adv, why))
					nt = adv;
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
			const struct sched_svc *sv = &ix->svcs[q->rel[k]];
			for (size_t b = bks_after(sv, t - sv->max_dur);
			     b < sv->n_bks && sv->bks[b].start < t + dur; b++) {
				if (sv->bks[b].end > t && sv->bks[b].end > nt) {
					nt = sv->bks[b].end;
					why_note(why, WHY_BOOKED, sv->name, sv->bks[b].change_id,
						 0);
				}
			}
		}
		if (nt > t) {
			t = nt;
			continue;
		}
		break;
	}
	*out = (struct sched_slot){.start_ms = t, .end_ms = t + dur};
	if (!is_emergency(q)) {
		const struct sched_window *w = win_at(ix, q->chosen[0]);
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

/* One explanation per candidate instance of the change's first service. */
static void explain(struct sched_index *ix, struct sched_query *q, struct sched_explain *why)
{
	int64_t dur = q->c->duration_ms;
	char d[32];
	struct sched_slot unused;

	why->n = 0;
	sched_duration_iso(dur, d, sizeof d);
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
	size_t lo = 0, hi = sv->n_wins;
	while (lo < hi) { /* first instance ending after q->lo: pmax is non-decreasing */
		size_t mid = lo + (hi - lo) / 2;
		if (sv->pmax[mid] <= q->lo)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k < sv->n_wins && why->n < SCHED_EXPLAIN_MAX; k++) {
		const struct sched_window *w = win_at(ix, sv->wins[k]);
		if (w->end_ms <= q->lo)
			continue;
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
	if (why->n == 0) {
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
	query_free(&q);
	return *n > 0 || count == 0 ? SCHED_OK : SCHED_NO_SLOT;
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
	int64_t *wi = malloc(c->n_services * sizeof *wi);
	if (wi == NULL)
		return SCHED_ERR_OOM;
	/* Find every instance first so that an error leaves the index unchanged. */
	for (size_t i = 0; i < c->n_services; i++) {
		int32_t id = svc_intern(ix, c->services[i]);
		if (id < 0 || svc_windows(ix, &ix->svcs[id]) < 0 ||
		    grow((void **)&ix->svcs[id].bks, &ix->svcs[id].cap_bks,
			 ix->svcs[id].n_bks + c->n_services, sizeof(struct sched_bk)) < 0) {
			free(wi);
			return SCHED_ERR_OOM;
		}
		wi[i] = -1;
		uint32_t chosen;
		int64_t adv;
		if (slot->window_uid != NULL &&
		    find_instance(ix, &ix->svcs[id], slot->start_ms, slot->end_ms - slot->start_ms,
				  &chosen, &adv, NULL))
			wi[i] = chosen;
	}
	for (size_t i = 0; i < c->n_services; i++)
		if (wi[i] >= 0 && inst_reserve(&ix->insts[wi[i]], ix->insts[wi[i]].n + 1) < 0) {
			free(wi);
			return SCHED_ERR_OOM;
		}
	/* Room is reserved: nothing below fails. */
	for (size_t i = 0; i < c->n_services; i++) {
		struct sched_svc *sv = &ix->svcs[svc_lookup(ix, c->services[i])];
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(c->services[j], c->services[i]) == 0;
		if (!dup)
			(void)svc_book(sv, slot->start_ms, slot->end_ms, c->id);
	}
	(void)use_instances(ix, wi, c->n_services, slot->start_ms, slot->end_ms);
	free(wi);
	return SCHED_OK;
}

/* ---- the batch planner --------------------------------------------------------------- */

struct plan_key {
	const struct sched_change *c;
	size_t i;
};

static int cmp_plan(const void *a, const void *b)
{
	const struct plan_key *x = a, *y = b;
	if (x->c->priority != y->c->priority)
		return x->c->priority < y->c->priority ? -1 : 1;
	if (x->c->approved_ms != y->c->approved_ms)
		return x->c->approved_ms < y->c->approved_ms ? -1 : 1;
	int r = strcmp(x->c->id ? x->c->id : "", y->c->id ? y->c->id : "");
	if (r != 0)
		return r;
	return x->i < y->i ? -1 : x->i > y->i ? 1 : 0;
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
	struct plan_key *keys = malloc((n ? n : 1) * sizeof *keys);
	if (keys == NULL) {
		sched_index_free(ix);
		return SCHED_ERR_OOM;
	}
	for (size_t i = 0; i < n; i++)
		keys[i] = (struct plan_key){&changes[i], i};
	qsort(keys, n, sizeof *keys, cmp_plan);
	for (size_t k = 0; k < n && st == SCHED_OK; k++) {
		struct sched_plan_entry *e = &out[keys[k].i];
		*e = (struct sched_plan_entry){0};
		enum sched_status r = sched_find(ix, keys[k].c, now_ms, &e->slot, NULL);
		if (r == SCHED_OK)
			st = sched_index_book(ix, keys[k].c, &e->slot);
		else if (r == SCHED_NO_SLOT)
			e->status = SCHED_NO_SLOT;
		else
			st = r;
	}
	free(keys);
	sched_index_free(ix);
	return st;
}
