/*
 * sched.c -- the scheduler core (sched.h): the earliest-slot sweep over the index
 * (windows.c, index.c), explanations, and the batch planner.
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

#include "sched/sched_int.h"

/* ---- queries ------------------------------------------------------------------------- */

/* Orders service ids by name (qsort_r; ctx is the index). */
static int cmp_svc_name(const void *a, const void *b, void *ctx)
{
	const struct sched_index *ix = ctx;
	return strcmp(ix->svcs[*(const uint32_t *)a].name, ix->svcs[*(const uint32_t *)b].name);
}

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
		if (sched_grow((void **)&sv->rel, &sv->cap_rel, sv->n_rel + 1, sizeof *sv->rel) < 0)
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
		int32_t id = sched_svc_intern(ix, c->services[i]);
		if (id < 0)
			return SCHED_ERR_OOM;
		q->ids[q->n_ids++] = (uint32_t)id;
	}
	size_t total = 0;
	for (size_t i = 0; i < q->n_ids; i++) {
		if (svc_related(ix, q->ids[i]) < 0 ||
		    sched_svc_windows(ix, &ix->svcs[q->ids[i]]) < 0)
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
	/* By name: an explanation names the first of them with a booking in the way, the
	 * same whatever order the index learnt the services in. */
	qsort_r(q->rel, q->n_rel, sizeof *q->rel, cmp_svc_name, ix);
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
		int64_t ti = sched_wins_fit(ix, &ix->wins[q->lists[i]], &q->cursor[i], t, dur);
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
			sched_why_note(why, WHY_BOUND, NULL, NULL, 0);
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
				if (!sched_find_instance(ix, &ix->wins[q->lists[i]], q->list_svc[i],
							 t, dur, &q->cursor[i], &chosen, &adv, why))
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
					sched_why_note(why, WHY_FREEZE, NULL, f->name, 0);
				}
			}
			if (nt > t) {
				t = nt;
				continue;
			}
		}
		for (size_t k = 0; k < q->n_rel; k++) {
			int64_t e = sched_busy_free_from(&ix->svcs[q->rel[k]], t, dur,
							 &q->rel_cursor[k]);
			if (e > nt)
				nt = e;
		}
		for (size_t k = 0; k < q->n_rel && nt > t && why != NULL && why->kind == WHY_NONE;
		     k++) {
			struct sched_svc *sv = &ix->svcs[q->rel[k]];
			const struct sched_bk *b = sched_bks_overlap(sv, t, dur);
			if (b != NULL)
				sched_why_note(why, WHY_BOOKED, sv->name, b->change_id, 0);
		}
		if (nt > t) {
			t = nt;
			continue;
		}
		break;
	}
	*out = (struct sched_slot){.start_ms = t, .end_ms = t + dur};
	if (!is_emergency(q)) {
		const struct sched_window *w = sched_win_at(ix, q->chosen);
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
			sched_why_note(&w, WHY_BOUND, NULL, NULL, 0);
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
		const struct sched_window *w = sched_win_at(ix, l->ids[k]);
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
		int32_t id = sched_svc_intern(ix, c->services[i]);
		if (id < 0 || sched_svc_windows(ix, &ix->svcs[id]) < 0 ||
		    sched_svc_reserve(ix, &ix->svcs[id], c->n_services) < 0)
			return SCHED_ERR_OOM;
		ids[i] = (uint32_t)id;
		wi[i] = -1;
		uint32_t chosen;
		int64_t adv;
		if (slot->window_uid != NULL &&
		    sched_find_instance(ix, &ix->wins[ix->svcs[id].wins], ix->svcs[id].name,
					slot->start_ms, slot->end_ms - slot->start_ms, NULL,
					&chosen, &adv, NULL))
			wi[i] = chosen;
	}
	for (size_t i = 0; i < c->n_services; i++)
		if (wi[i] >= 0 && sched_inst_reserve(&ix->insts[wi[i]], ix->insts[wi[i]].n + 1) < 0)
			return SCHED_ERR_OOM;
	/* Room is reserved: nothing below fails. */
	for (size_t i = 0; i < c->n_services; i++) {
		bool dup = false; /* the same service named twice */
		for (size_t j = 0; j < i && !dup; j++)
			dup = ids[j] == ids[i];
		if (!dup)
			sched_svc_book(ix, &ix->svcs[ids[i]], slot->start_ms, slot->end_ms, c->id);
	}
	(void)sched_use_instances(ix, wi, c->n_services, slot->start_ms, slot->end_ms);
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
	if (sched_grow((void **)names, cap, total, sizeof **names) < 0)
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
