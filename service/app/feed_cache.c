/*
 * feed_cache.c -- the shared snapshot of the schedule calendar (feed_cache.h): built from
 * feed_items_list over a day-wide window, its events' texts cut by one libical pass
 * (cal_feed_pieces_build), joined texts remembered per selection.
 */
#include "app/feed_cache.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/feed_items.h"
#include "calendar/calendar.h"
#include "crypto/crypto.h"
#include "defs/defs.h"
#include "planner/planner.h"
#include "store/audit_log.h"
#include "store/bookings.h"

#define DAY_MS  (86400LL * 1000)
#define BACK_MS (30 * DAY_MS)

struct feed_cache {
	pthread_mutex_t lock;  /* guards cur; held only to read or swap the pointer */
	pthread_mutex_t build; /* one builder at a time */
	struct feed_snap *cur; /* a reference, or NULL */
};

/* ---- small helpers ----------------------------------------------------------------------- */

void feed_etag_of_text(const char *data, size_t len, char out[40])
{
	char hex[CRYPTO_SHA256_HEX_LEN];
	crypto_sha256_hex(data, len, hex);
	snprintf(out, 40, "\"%.32s\"", hex);
}

bool feed_etag_of_json(const json_t *v, char out[40])
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (s == NULL)
		return false;
	feed_etag_of_text(s, strlen(s), out);
	free(s);
	return true;
}

void feed_object_name(const char *uid, char out[128])
{
	size_t n = strlen(uid);
	bool safe = n > 0 && n < 100;
	for (size_t i = 0; safe && i < n; i++)
		safe = isalnum((unsigned char)uid[i]) || strchr("-_.@", uid[i]) != NULL;
	if (safe) {
		snprintf(out, 128, "%s.ics", uid);
		return;
	}
	char hex[CRYPTO_SHA256_HEX_LEN];
	crypto_sha256_hex(uid, n, hex);
	snprintf(out, 128, "i-%.40s.ics", hex);
}

static long long floor_div(long long a, long long d)
{
	long long q = a / d;
	return (a % d != 0 && (a < 0) != (d < 0)) ? q - 1 : q;
}

static long long horizon_of(const struct defs *d)
{
	return d->plan ? d->plan->horizon_ms : 180 * DAY_MS;
}

void feed_window(const struct defs *d, long long now_ms, long long *from_ms, long long *to_ms)
{
	*from_ms = now_ms - BACK_MS;
	*to_ms = now_ms + horizon_of(d);
}

bool feed_obj_in(const struct feed_obj *o, long long from_ms, long long to_ms)
{
	if (o->end_ms == o->start_ms) /* bookings are never empty; instances may be */
		return o->kind != FEED_BOOKING && o->start_ms >= from_ms && o->start_ms < to_ms;
	return o->start_ms < to_ms && o->end_ms > from_ms;
}

/* ---- texts ------------------------------------------------------------------------------- */

struct feed_text *feed_text_new(const char *text, size_t len)
{
	struct feed_text *t = malloc(sizeof *t + len + 1);
	if (t == NULL)
		return NULL;
	atomic_init(&t->refs, 1);
	t->len = len;
	t->etag[0] = '\0';
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	return t;
}

void feed_text_release(struct feed_text *t)
{
	if (t != NULL && atomic_fetch_sub(&t->refs, 1) == 1)
		free(t);
}

struct feed_text *feed_snap_memo_get(struct feed_snap *s, const char *key, const unsigned char *sel)
{
	struct feed_text *t = NULL;
	pthread_mutex_lock(&s->memo_lock);
	for (size_t i = 0; i < FEED_MEMO_SLOTS && t == NULL; i++) {
		struct feed_memo *m = &s->memo[i];
		if (m->t != NULL && strcmp(m->key, key) == 0 && memcmp(m->sel, sel, s->n) == 0) {
			t = m->t;
			atomic_fetch_add(&t->refs, 1);
		}
	}
	pthread_mutex_unlock(&s->memo_lock);
	return t;
}

void feed_snap_memo_put(struct feed_snap *s, const char *key, const unsigned char *sel,
			struct feed_text *t)
{
	unsigned char *copy = malloc(s->n + 1);
	if (copy == NULL || strlen(key) >= sizeof s->memo[0].key) {
		free(copy); /* not remembered: the next request makes it again */
		return;
	}
	memcpy(copy, sel, s->n);
	atomic_fetch_add(&t->refs, 1);
	pthread_mutex_lock(&s->memo_lock);
	/* the slot of the same key (a selection that moved on), else the oldest */
	size_t slot = s->memo_next % FEED_MEMO_SLOTS;
	bool same = false;
	for (size_t i = 0; i < FEED_MEMO_SLOTS && !same; i++)
		if (s->memo[i].t != NULL && strcmp(s->memo[i].key, key) == 0) {
			slot = i;
			same = true;
		}
	if (!same)
		s->memo_next++;
	struct feed_memo old = s->memo[slot];
	snprintf(s->memo[slot].key, sizeof s->memo[slot].key, "%s", key);
	s->memo[slot].sel = copy;
	s->memo[slot].t = t;
	pthread_mutex_unlock(&s->memo_lock);
	free(old.sel);
	feed_text_release(old.t);
}

/* The selected items as a JSON array (references), or NULL when out of memory. */
static json_t *selected_items(const struct feed_snap *s, const unsigned char *sel)
{
	json_t *items = json_array();
	for (size_t i = 0; items != NULL && i < s->n; i++)
		if (sel[i] && json_array_append(items, s->objs[i].item) != 0) {
			json_decref(items);
			items = NULL;
		}
	return items;
}

/* Joins head, the zones the selected events use, their texts and the tail. */
static struct feed_text *join(const struct feed_snap *s, const unsigned char *sel, const char *head,
			      size_t head_len)
{
	const size_t tail = sizeof CAL_FEED_TAIL - 1;
	const struct feed_obj **zone_of = NULL; /* the first user of each zone, in order */
	size_t nz = 0, cap = 0, len = head_len + tail;
	struct feed_text *t = NULL;

	for (size_t i = 0; i < s->n; i++) {
		const struct feed_obj *o = &s->objs[i];
		if (!sel[i])
			continue;
		len += o->ev->len;
		if (o->zone == NULL)
			continue;
		size_t k = 0; /* zones are few: a linear search */
		while (k < nz && zone_of[k]->zone != o->zone &&
		       strcmp(zone_of[k]->zone, o->zone) != 0)
			k++;
		if (k < nz)
			continue;
		if (nz == cap) {
			cap = cap ? 2 * cap : 8;
			const struct feed_obj **v = realloc(zone_of, cap * sizeof *v);
			if (v == NULL)
				goto done;
			zone_of = v;
		}
		zone_of[nz++] = o;
		len += o->zone_len;
	}
	t = malloc(sizeof *t + len + 1);
	if (t == NULL)
		goto done;
	atomic_init(&t->refs, 1);
	t->len = len;
	char *w = t->text;
	memcpy(w, head, head_len);
	w += head_len;
	for (size_t k = 0; k < nz; k++) {
		memcpy(w, zone_of[k]->zone, zone_of[k]->zone_len);
		w += zone_of[k]->zone_len;
	}
	for (size_t i = 0; i < s->n; i++)
		if (sel[i]) {
			memcpy(w, s->objs[i].ev->text, s->objs[i].ev->len);
			w += s->objs[i].ev->len;
		}
	memcpy(w, CAL_FEED_TAIL, tail + 1);
done:
	free(zone_of);
	return t;
}

struct feed_text *feed_snap_calendar(struct feed_snap *s, const char *key, const unsigned char *sel,
				     const struct cal_feed *f, struct tr_error *err)
{
	struct feed_text *t = feed_snap_memo_get(s, key, sel);
	if (t != NULL)
		return t;
	struct tr_error e = {0};
	if (s->texts) {
		size_t head_len = 0;
		char *head = cal_feed_head(f, &head_len, &e);
		if (head != NULL) {
			t = join(s, sel, head, head_len);
			free(head);
			if (t == NULL)
				tr_error_set(&e, TR_E_NOMEM, NULL, "out of memory");
		}
	} else {
		/* the items' own errors, as building them afresh reports them */
		json_t *items = selected_items(s, sel);
		size_t len = 0;
		char *text = items != NULL ? cal_feed_build(f, items, &len, &e) : NULL;
		json_decref(items);
		if (items == NULL)
			tr_error_set(&e, TR_E_NOMEM, NULL, "out of memory");
		t = text != NULL ? feed_text_new(text, len) : NULL;
		if (text != NULL && t == NULL)
			tr_error_set(&e, TR_E_NOMEM, NULL, "out of memory");
		free(text);
	}
	if (t == NULL) {
		if (e.code == TR_E_NOMEM)
			tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		else
			tr_error_set(err, TR_E_INTERNAL, NULL, "feed: %s: %s", e.field, e.detail);
		return NULL;
	}
	feed_etag_of_text(t->text, t->len, t->etag);
	feed_snap_memo_put(s, key, sel, t);
	return t;
}

char *feed_item_text(json_t *item, const char *name, long long stamp_ms, size_t *len,
		     struct tr_error *err)
{
	struct cal_feed f = {.dtstamp_ms = stamp_ms};
	json_t *one = json_pack("[O]", item);
	struct tr_error e = {0};
	char *text = one ? cal_feed_build(&f, one, len, &e) : NULL;
	json_decref(one);
	if (text == NULL)
		tr_error_set(err, TR_E_INTERNAL, NULL, "object %s: %s", name,
			     e.detail[0] ? e.detail : "out of memory");
	return text;
}

char *feed_snap_object(const struct feed_snap *s, const struct feed_obj *o, size_t *len,
		       struct tr_error *err)
{
	if (!s->texts)
		return feed_item_text(o->item, o->name, s->stamp_ms, len, err);
	const struct cal_feed_event *ev = o->ev;
	const size_t tail = sizeof CAL_FEED_TAIL - 1;
	size_t zl = o->zone != NULL ? o->zone_len : 0;
	size_t n = s->obj_head_len + zl + ev->len + tail;
	char *text = malloc(n + 1);
	if (text == NULL) {
		tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		return NULL;
	}
	char *w = text;
	memcpy(w, s->obj_head, s->obj_head_len);
	w += s->obj_head_len;
	if (zl > 0) {
		memcpy(w, o->zone, zl);
		w += zl;
	}
	memcpy(w, ev->text, ev->len);
	w += ev->len;
	memcpy(w, CAL_FEED_TAIL, tail + 1);
	*len = n;
	return text;
}

/* ---- the windows and freezes -------------------------------------------------------------- */

/* The windows and freezes of one definitions snapshot and day, shared by its snapshots. */
struct feed_layer {
	atomic_uint refs;
	struct defs *defs; /* a reference */
	long long day;
	bool exact, texts; /* as in struct feed_snap */
	json_t *items, *sources;
	json_t *uids; /* the items' UIDs (a set), when texts */
	struct cal_feed_pieces parts;
	size_t n;
	struct feed_obj *objs; /* borrowing from items and sources */
};

static void layer_release(struct feed_layer *l)
{
	if (l == NULL || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	free(l->objs);
	cal_feed_pieces_free(&l->parts);
	json_decref(l->items);
	json_decref(l->sources);
	json_decref(l->uids);
	defs_release(l->defs);
	free(l);
}

/* Fills o from item `it` made from `src` (both borrowed); false when out of memory. */
static bool obj_fill(struct feed_obj *o, json_t *it, json_t *src)
{
	const char *uid = json_string_value(json_object_get(it, "uid"));
	const char *kind = json_string_value(json_object_get(src, "kind"));
	o->item = it;
	o->src = src;
	if (uid == NULL || !feed_etag_of_json(it, o->etag))
		return false; /* every item has a uid: only OOM gets here */
	feed_object_name(uid, o->name);
	o->start_ms = json_integer_value(json_object_get(it, "start_ms"));
	o->end_ms = json_integer_value(json_object_get(it, "end_ms"));
	o->kind = json_object_get(src, "change") != NULL        ? FEED_BOOKING
		  : kind != NULL && strcmp(kind, "window") == 0 ? FEED_WINDOW
								: FEED_FREEZE;
	return true;
}

/* Points the objects at their texts in `p` (one event per object). */
static void obj_texts(struct feed_obj *objs, size_t n, const struct cal_feed_pieces *p)
{
	for (size_t i = 0; i < n; i++) {
		const struct cal_feed_event *ev = &p->events[i];
		objs[i].ev = ev;
		objs[i].zone = ev->zone >= 0 ? p->zones[ev->zone] : NULL;
		objs[i].zone_len = ev->zone >= 0 ? p->zone_len[ev->zone] : 0;
	}
}

/*
 * Whether every request window of the day sees the instances the day-wide window shows,
 * alike: cal_expand() clamps a range to CAL_HORIZON_MS and stops an event at
 * CAL_CAP_DEFAULT instances, and either would cut a wider window elsewhere.
 */
static bool layer_exact(const struct feed_layer *l, long long span_ms)
{
	if (span_ms > CAL_HORIZON_MS)
		return false;
	json_t *count = json_object();
	bool ok = count != NULL;
	for (size_t i = 0; ok && i < l->n; i++) {
		const char *uid = json_string_value(json_object_get(l->objs[i].src, "uid"));
		if (uid == NULL)
			continue;
		json_int_t k = json_integer_value(json_object_get(count, uid)) + 1;
		ok = k < CAL_CAP_DEFAULT && json_object_set_new(count, uid, json_integer(k)) == 0;
	}
	json_decref(count);
	return ok;
}

static enum tr_code layer_build(struct rec_ctx *c, const char *base, long long day,
				struct feed_layer **out, struct tr_error *err)
{
	struct feed_layer *l = calloc(1, sizeof *l);
	long long from = day * DAY_MS - BACK_MS, to = (day + 1) * DAY_MS + horizon_of(c->defs);
	long long stamp = 0;

	*out = NULL;
	if (l == NULL)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	atomic_init(&l->refs, 1);
	l->defs = defs_ref(c->defs);
	l->day = day;
	enum tr_code rc = feed_items_list(c, base, "instances", NULL, from, to, &l->items,
					  &l->sources, &stamp, err);
	if (rc == TR_OK) {
		l->n = json_array_size(l->items);
		l->objs = calloc(l->n + 1, sizeof *l->objs);
		for (size_t i = 0; l->objs != NULL && i < l->n; i++)
			if (!obj_fill(&l->objs[i], json_array_get(l->items, i),
				      json_array_get(l->sources, i))) {
				free(l->objs);
				l->objs = NULL;
			}
		if (l->objs == NULL)
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	if (rc == TR_OK) {
		struct cal_feed f = {.dtstamp_ms = stamp};
		struct tr_error e = {0};
		l->exact = layer_exact(l, to - from);
		/* On failure (a bad or duplicate item) the texts are made per request, as
		 * before, and so are their errors. */
		l->texts = cal_feed_pieces_build(&f, l->items, &l->parts, &e);
		if (l->texts)
			obj_texts(l->objs, l->n, &l->parts);
		else if (e.code == TR_E_NOMEM)
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		l->uids = json_object();
		for (size_t i = 0; l->texts && l->uids != NULL && i < l->n; i++)
			if (json_object_set_new(
				    l->uids,
				    json_string_value(json_object_get(l->objs[i].item, "uid")),
				    json_true()) != 0)
				rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		if (l->uids == NULL)
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	if (rc != TR_OK) {
		layer_release(l);
		return rc;
	}
	*out = l;
	return TR_OK;
}

/* ---- snapshots --------------------------------------------------------------------------- */

static void snap_free(struct feed_snap *s)
{
	for (size_t i = 0; s->objs != NULL && i < s->n_own; i++) { /* the bookings' */
		json_decref(s->objs[i].item);
		json_decref(s->objs[i].src);
	}
	free(s->objs);
	cal_feed_pieces_free(&s->bookings);
	layer_release(s->instances);
	free(s->obj_head);
	for (size_t i = 0; i < FEED_MEMO_SLOTS; i++) {
		free(s->memo[i].sel);
		feed_text_release(s->memo[i].t);
	}
	pthread_mutex_destroy(&s->memo_lock);
	defs_release(s->defs);
	free(s);
}

void feed_snap_release(struct feed_snap *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		snap_free(s);
}

/* Marks the objects whose name an earlier one has (CalDAV lists the first only). */
static bool snap_names(struct feed_snap *s)
{
	json_t *names = json_object();
	for (size_t i = 0; names != NULL && i < s->n; i++) {
		struct feed_obj *o = &s->objs[i];
		o->dup_name = json_object_get(names, o->name) != NULL;
		s->any_dup_name = s->any_dup_name || o->dup_name;
		if (!o->dup_name && json_object_set_new(names, o->name, json_true()) != 0) {
			json_decref(names);
			return false;
		}
	}
	json_decref(names);
	return names != NULL;
}

/*
 * The bookings (`items`, `sources`: stolen) then the instances of `l` (stolen) into `s`,
 * with their texts when both halves have them and no booking repeats an instance's UID.
 */
static enum tr_code snap_fill(struct feed_snap *s, json_t *items, json_t *sources,
			      struct feed_layer *l)
{
	size_t nb = json_array_size(items);
	enum tr_code rc = TR_OK;
	struct tr_error e = {0};
	struct cal_feed f = {.dtstamp_ms = s->stamp_ms};
	bool texts = l->texts && cal_feed_pieces_build(&f, items, &s->bookings, &e);

	s->instances = l;
	s->exact = l->exact;
	s->objs = calloc(nb + l->n + 1, sizeof *s->objs);
	if (s->objs == NULL || (!texts && e.code == TR_E_NOMEM)) {
		rc = TR_E_NOMEM;
		goto done;
	}
	for (size_t i = 0; i < nb; i++) {
		struct feed_obj *o = &s->objs[i];
		bool ok = obj_fill(o, json_incref(json_array_get(items, i)),
				   json_incref(json_array_get(sources, i)));
		s->n = s->n_own = i + 1;
		if (!ok) {
			rc = TR_E_NOMEM;
			goto done;
		}
		if (texts &&
		    json_object_get(l->uids, json_string_value(json_object_get(o->item, "uid"))))
			texts = false; /* cal_feed_build refuses the duplicate: let it say so */
	}
	if (texts)
		obj_texts(s->objs, nb, &s->bookings);
	if (l->n > 0)
		memcpy(s->objs + nb, l->objs, l->n * sizeof *s->objs);
	s->n = nb + l->n;
	s->texts = texts;
	if (!snap_names(s))
		rc = TR_E_NOMEM;
done:
	json_decref(items);
	json_decref(sources);
	return rc;
}

/*
 * A new snapshot for `c` at audit head `seq` and `day`; the instances are those of `prev`
 * (may be NULL) when it was made for the same definitions and day.
 */
static enum tr_code snap_build(struct rec_ctx *c, const char *base, long long seq, long long day,
			       const struct feed_snap *prev, struct feed_snap **out,
			       struct tr_error *err)
{
	struct feed_snap *s = calloc(1, sizeof *s);
	struct feed_layer *l = NULL;
	json_t *items = NULL, *sources = NULL;
	long long from = day * DAY_MS - BACK_MS, to = (day + 1) * DAY_MS + horizon_of(c->defs);

	*out = NULL;
	if (s == NULL)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->memo_lock, NULL);
	s->defs = defs_ref(c->defs);
	atomic_init(&s->seq, seq);
	s->day = day;
	snprintf(s->base, sizeof s->base, "%s", base);
	/* The versions first: a booking written between the two reads makes the next check
	 * differ (a needless rebuild), never match a list that lacks it. */
	enum db_status fs = store_feed_version(c->st, &s->versions[0], &s->versions[1]);
	enum tr_code rc = fs < 0 ? store_error(c->st, fs, c->request_id, err)
				 : feed_items_list(c, base, "bookings", NULL, from, to, &items,
						   &sources, &s->stamp_ms, err);
	if (rc == TR_OK && prev != NULL && prev->instances->defs == c->defs &&
	    prev->instances->day == day) {
		l = prev->instances;
		atomic_fetch_add(&l->refs, 1);
	} else if (rc == TR_OK) {
		rc = layer_build(c, base, day, &l, err);
	}
	if (rc == TR_OK && (rc = snap_fill(s, items, sources, l)) != TR_OK)
		tr_error_set(err, rc, NULL, "out of memory");
	else if (rc != TR_OK) {
		json_decref(items);
		json_decref(sources);
	}
	if (rc == TR_OK) {
		struct cal_feed f = {.dtstamp_ms = s->stamp_ms};
		struct tr_error e = {0};
		s->obj_head = cal_feed_head(&f, &s->obj_head_len, &e);
		if (s->obj_head == NULL)
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	if (rc != TR_OK) {
		feed_snap_release(s);
		return rc;
	}
	*out = s;
	return TR_OK;
}

static bool snap_fits(const struct feed_snap *s, const struct rec_ctx *c, const char *base,
		      long long seq, long long day)
{
	return s != NULL && s->defs == c->defs && s->day == day && atomic_load(&s->seq) >= seq &&
	       strcmp(s->base, base) == 0;
}

/*
 * Whether `s`, made at an older audit head, is still exact at `seq`: made for the same
 * definitions, day and base, and the bookings' versions are those it was made at.  Most
 * writes (comments, incidents, changes not booked) move the head but leave the schedule
 * as it was; the versions are one row each, a rebuild reads every booking and writes
 * every event's text.  Then `s` is marked exact at `seq`.  False when it is not, or when
 * the database cannot say.
 */
static bool snap_still_exact(struct feed_snap *s, struct rec_ctx *c, const char *base,
			     long long seq, long long day)
{
	long long v[2];
	if (s == NULL || s->defs != c->defs || s->day != day || strcmp(s->base, base) != 0)
		return false;
	if (store_feed_version(c->st, &v[0], &v[1]) != DB_ONE || v[0] != s->versions[0] ||
	    v[1] != s->versions[1])
		return false;
	long long known = atomic_load(&s->seq);
	while (known < seq && !atomic_compare_exchange_weak(&s->seq, &known, seq))
		;
	return true;
}

/* The current snapshot when it fits, as a reference; else NULL. */
static struct feed_snap *cur_if_fits(struct feed_cache *fc, const struct rec_ctx *c,
				     const char *base, long long seq, long long day)
{
	struct feed_snap *s = NULL;
	pthread_mutex_lock(&fc->lock);
	if (snap_fits(fc->cur, c, base, seq, day)) {
		s = fc->cur;
		atomic_fetch_add(&s->refs, 1);
	}
	pthread_mutex_unlock(&fc->lock);
	return s;
}

enum tr_code feed_cache_get(struct feed_cache *fc, struct rec_ctx *c, const char *base,
			    struct feed_snap **out, struct tr_error *err)
{
	long long seq = 0, day = floor_div(c->now_ms, DAY_MS);
	*out = NULL;
	/* The head first: a write committed after it makes the next request build again. */
	enum db_status hs = store_audit_head(c->st, &seq);
	if (hs < 0)
		return store_error(c->st, hs, c->request_id, err);
	if ((*out = cur_if_fits(fc, c, base, seq, day)) != NULL)
		return TR_OK;
	pthread_mutex_lock(&fc->build);
	enum tr_code rc = TR_OK;
	if ((*out = cur_if_fits(fc, c, base, seq, day)) == NULL) { /* nobody built it meanwhile */
		struct feed_snap *s = NULL, *prev = NULL;
		pthread_mutex_lock(&fc->lock);
		if ((prev = fc->cur) != NULL)
			atomic_fetch_add(&prev->refs, 1);
		pthread_mutex_unlock(&fc->lock);
		if (snap_still_exact(prev, c, base, seq, day)) {
			*out = prev; /* the caller takes prev's reference */
			pthread_mutex_unlock(&fc->build);
			return TR_OK;
		}
		rc = snap_build(c, base, seq, day, prev, &s, err);
		feed_snap_release(prev);
		if (rc == TR_OK) {
			atomic_fetch_add(&s->refs, 1); /* the caller's */
			pthread_mutex_lock(&fc->lock);
			struct feed_snap *old = fc->cur;
			fc->cur = s;
			pthread_mutex_unlock(&fc->lock);
			feed_snap_release(old);
			*out = s;
		}
	}
	pthread_mutex_unlock(&fc->build);
	return rc;
}

struct feed_cache *feed_cache_new(void)
{
	struct feed_cache *fc = calloc(1, sizeof *fc);
	if (fc == NULL)
		return NULL;
	pthread_mutex_init(&fc->lock, NULL);
	pthread_mutex_init(&fc->build, NULL);
	return fc;
}

void feed_cache_free(struct feed_cache *fc)
{
	if (fc == NULL)
		return;
	feed_snap_release(fc->cur);
	pthread_mutex_destroy(&fc->lock);
	pthread_mutex_destroy(&fc->build);
	free(fc);
}
