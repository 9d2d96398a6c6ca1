/*
 * feed_cache.c -- the shared snapshot of the schedule calendar (feed_cache.h): built from
 * feed_items_list over a day-wide window, its events' texts cut by one libical pass
 * (cal_feed_pieces_build), joined texts remembered per selection.  After a write to the
 * schedule, the bookings whose rows are unchanged (the same fingerprint,
 * store_booking_marks) pass to the next snapshot as they are; only the others are read
 * and rendered again.
 */
#include "app/feed_cache.h"

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/feed_items.h"
#include "calendar/calendar.h"
#include "core/hash.h"
#include "crypto/crypto.h"
#include "defs/defs.h"
#include "planner/planner.h"
#include "store/store.h"
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

bool feed_obj_on_service(const struct defs *d, const struct feed_obj *o, const char *service)
{
	if (o->kind != FEED_BOOKING)
		return planner_applies_services(d->catalog, o->applies, service);
	for (const char *p = o->services; p != NULL && *p != '\0'; p += strlen(p) + 1)
		if (strcmp(p, service) == 0)
			return true;
	return false;
}

/* ---- hash sets ----------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* The capacity of an open-addressing table for `n` entries: a power of two, >= 2n. */
static size_t table_cap(size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	return cap;
}

/* A set of strings (borrowed), open addressing. */
struct strset {
	const char **v;
	size_t cap;
};

static bool strset_init(struct strset *set, size_t n)
{
	set->cap = table_cap(n);
	set->v = calloc(set->cap, sizeof *set->v);
	return set->v != NULL;
}

static void strset_free(struct strset *set)
{
	free(set->v);
	memset(set, 0, sizeof *set);
}

/* Adds `k`; false when the set holds it already. */
static bool strset_add(struct strset *set, const char *k)
{
	size_t h = (size_t)hash_str(k) & (set->cap - 1);
	for (; set->v[h] != NULL; h = (h + 1) & (set->cap - 1))
		if (strcmp(set->v[h], k) == 0)
			return false;
	set->v[h] = k;
	return true;
}

static bool strset_has(const struct strset *set, const char *k)
{
	if (set->v == NULL)
		return false;
	for (size_t h = (size_t)hash_str(k) & (set->cap - 1); set->v[h] != NULL;
	     h = (h + 1) & (set->cap - 1))
		if (strcmp(set->v[h], k) == 0)
			return true;
	return false;
}

/* Copies `len` bytes of `s` and a NUL to *w, moving it on; returns the copy. */
static const char *put(char **w, const char *s, size_t len)
{
	char *at = *w;
	memcpy(at, s, len);
	at[len] = '\0';
	*w += len + 1;
	return at;
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
			m->used = ++s->memo_clock;
		}
	}
	pthread_mutex_unlock(&s->memo_lock);
	return t;
}

/* What remembering `t` costs a snapshot of `n` events. */
static size_t memo_cost(const struct feed_text *t, size_t n)
{
	return t->len + n;
}

void feed_snap_memo_put(struct feed_snap *s, const char *key, const unsigned char *sel,
			struct feed_text *t)
{
	size_t cost = memo_cost(t, s->n);
	if (cost > FEED_MEMO_BYTES || strlen(key) >= sizeof s->memo[0].key)
		return; /* not remembered: the next request makes it again */
	unsigned char *copy = malloc(s->n + 1);
	if (copy == NULL)
		return;
	memcpy(copy, sel, s->n);
	atomic_fetch_add(&t->refs, 1);
	struct feed_memo gone[FEED_MEMO_SLOTS];
	size_t ngone = 0, slot;
	pthread_mutex_lock(&s->memo_lock);
	/* Forgets the text of the same key first (a selection that moved on), then the least
	 * recently used until a slot is free and the text fits. */
	for (size_t k = FEED_MEMO_SLOTS;;) {
		for (size_t i = 0; k == FEED_MEMO_SLOTS && i < FEED_MEMO_SLOTS; i++)
			if (s->memo[i].t != NULL && strcmp(s->memo[i].key, key) == 0)
				k = i;
		for (slot = 0; slot < FEED_MEMO_SLOTS && s->memo[slot].t != NULL; slot++)
			;
		if (k == FEED_MEMO_SLOTS && slot < FEED_MEMO_SLOTS &&
		    s->memo_bytes + cost <= FEED_MEMO_BYTES)
			break;
		for (size_t i = 0; k == FEED_MEMO_SLOTS && i < FEED_MEMO_SLOTS; i++) {
			if (s->memo[i].t == NULL)
				continue;
			k = i; /* the first held, then the least recently used */
			for (size_t j = i + 1; j < FEED_MEMO_SLOTS; j++)
				if (s->memo[j].t != NULL && s->memo[j].used < s->memo[k].used)
					k = j;
		}
		assert(k < FEED_MEMO_SLOTS); /* cost <= FEED_MEMO_BYTES: an empty memo fits it */
		s->memo_bytes -= memo_cost(s->memo[k].t, s->n);
		gone[ngone++] = s->memo[k];
		memset(&s->memo[k], 0, sizeof s->memo[k]);
		k = FEED_MEMO_SLOTS;
	}
	struct feed_memo *m = &s->memo[slot];
	snprintf(m->key, sizeof m->key, "%s", key);
	m->sel = copy;
	m->t = t;
	m->used = ++s->memo_clock;
	s->memo_bytes += cost;
	pthread_mutex_unlock(&s->memo_lock);
	for (size_t i = 0; i < ngone; i++) {
		free(gone[i].sel);
		feed_text_release(gone[i].t);
	}
}

/* The selected items as a JSON array (references), or NULL when out of memory. */
static json_t *selected_items(const struct feed_snap *s, const unsigned char *sel)
{
	json_t *items = json_array();
	for (size_t i = 0; items != NULL && i < s->n; i++)
		if (sel[i] && json_array_append(items, s->objs[i]->item) != 0) {
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
		const struct feed_obj *o = s->objs[i];
		if (!sel[i])
			continue;
		len += o->len;
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
			memcpy(w, s->objs[i]->text, s->objs[i]->len);
			w += s->objs[i]->len;
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
	const size_t tail = sizeof CAL_FEED_TAIL - 1;
	size_t zl = o->zone != NULL ? o->zone_len : 0;
	size_t n = s->obj_head_len + zl + o->len + tail;
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
	memcpy(w, o->text, o->len);
	w += o->len;
	memcpy(w, CAL_FEED_TAIL, tail + 1);
	*len = n;
	return text;
}

/* ---- the windows and freezes -------------------------------------------------------------- */

/*
 * The windows and freezes of one definitions snapshot and day, shared by its snapshots.
 * With texts it keeps no JSON but each instance's services: a snapshot that needs the
 * items (one without texts) makes them again.
 */
struct feed_layer {
	atomic_uint refs;
	struct defs *defs; /* a reference */
	long long day;
	bool exact, texts; /* as in struct feed_snap */
	json_t *items;     /* the cal_feed items, without texts only (objs[i].item borrow them) */
	struct cal_feed_pieces parts;
	struct strset uids; /* the items' UIDs, when texts */
	char *strs;         /* the objects' names and the UIDs */
	size_t n;
	struct feed_obj *objs;
};

static void layer_release(struct feed_layer *l)
{
	if (l == NULL || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	for (size_t i = 0; l->objs != NULL && i < l->n; i++)
		json_decref(l->objs[i].applies);
	free(l->objs);
	free(l->strs);
	strset_free(&l->uids);
	cal_feed_pieces_free(&l->parts);
	json_decref(l->items);
	defs_release(l->defs);
	free(l);
}

/*
 * Whether every request window of the day sees the instances the day-wide window shows,
 * alike: cal_expand() clamps a range to CAL_HORIZON_MS and stops an event at
 * CAL_CAP_DEFAULT instances, and either would cut a wider window elsewhere.
 */
static bool layer_exact(const json_t *sources, long long span_ms)
{
	if (span_ms > CAL_HORIZON_MS)
		return false;
	json_t *count = json_object();
	bool ok = count != NULL;
	for (size_t i = 0; ok && i < json_array_size(sources); i++) {
		const char *uid =
			json_string_value(json_object_get(json_array_get(sources, i), "uid"));
		if (uid == NULL)
			continue;
		json_int_t k = json_integer_value(json_object_get(count, uid)) + 1;
		ok = k < CAL_CAP_DEFAULT && json_object_set_new(count, uid, json_integer(k)) == 0;
	}
	json_decref(count);
	return ok;
}

/* Fills the objects of `l` from its items and their instances `sources` (borrowed); false
 * when out of memory. */
static bool layer_objs(struct feed_layer *l, const json_t *sources)
{
	size_t bytes = 0;
	char(*names)[128] = calloc(l->n + 1, sizeof *names);
	l->objs = calloc(l->n + 1, sizeof *l->objs);
	for (size_t i = 0; names != NULL && i < l->n; i++) {
		const char *uid =
			json_string_value(json_object_get(json_array_get(l->items, i), "uid"));
		if (uid == NULL) { /* every item has a uid: only OOM gets here */
			free(names);
			names = NULL;
			break;
		}
		feed_object_name(uid, names[i]);
		bytes += strlen(names[i]) + strlen(uid) + 2;
	}
	l->strs = malloc(bytes + 1);
	bool ok = names != NULL && l->objs != NULL && l->strs != NULL;
	char *w = l->strs;
	for (size_t i = 0; ok && i < l->n; i++) {
		struct feed_obj *o = &l->objs[i];
		json_t *it = json_array_get(l->items, i), *src = json_array_get(sources, i);
		const char *kind = json_string_value(json_object_get(src, "kind"));
		const char *uid = json_string_value(json_object_get(it, "uid"));
		o->name = put(&w, names[i], strlen(names[i]));
		put(&w, uid, strlen(uid)); /* the UID after the name (layer_texts) */
		o->start_ms = json_integer_value(json_object_get(it, "start_ms"));
		o->end_ms = json_integer_value(json_object_get(it, "end_ms"));
		o->kind = kind != NULL && strcmp(kind, "window") == 0 ? FEED_WINDOW : FEED_FREEZE;
		o->item = it;
		o->applies = json_incref(json_object_get(src, "services"));
		ok = feed_etag_of_json(it, o->etag);
	}
	free(names);
	return ok;
}

/* Drops the items of `l`, which has texts, keeping their UIDs; false when out of memory. */
static bool layer_texts(struct feed_layer *l)
{
	if (!strset_init(&l->uids, l->n))
		return false;
	for (size_t i = 0; i < l->n; i++) {
		struct feed_obj *o = &l->objs[i];
		const struct cal_feed_event *ev = &l->parts.events[i];
		strset_add(&l->uids, o->name + strlen(o->name) + 1);
		o->text = ev->text;
		o->len = ev->len;
		o->zone = ev->zone >= 0 ? l->parts.zones[ev->zone] : NULL;
		o->zone_len = ev->zone >= 0 ? l->parts.zone_len[ev->zone] : 0;
		o->item = NULL;
	}
	json_decref(l->items);
	l->items = NULL;
	return true;
}

static enum tr_code layer_build(struct rec_ctx *c, const char *base, long long day,
				struct feed_layer **out, struct tr_error *err)
{
	struct feed_layer *l = calloc(1, sizeof *l);
	long long from = day * DAY_MS - BACK_MS, to = (day + 1) * DAY_MS + horizon_of(c->defs);
	long long stamp = 0;
	json_t *sources = NULL;

	*out = NULL;
	if (l == NULL)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	atomic_init(&l->refs, 1);
	l->defs = defs_ref(c->defs);
	l->day = day;
	enum tr_code rc = feed_items_list(c, base, "instances", NULL, from, to, &l->items, &sources,
					  &stamp, err);
	if (rc == TR_OK) {
		l->n = json_array_size(l->items);
		if (!layer_objs(l, sources))
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	if (rc == TR_OK) {
		struct cal_feed f = {.dtstamp_ms = stamp};
		struct tr_error e = {0};
		l->exact = layer_exact(sources, to - from);
		/* On failure (a bad or duplicate item) the texts are made per request, as
		 * before, and so are their errors. */
		l->texts = cal_feed_pieces_build(&f, l->items, &l->parts, &e);
		if (!l->texts && e.code == TR_E_NOMEM)
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		else if (l->texts && !layer_texts(l))
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	json_decref(sources);
	if (rc != TR_OK) {
		layer_release(l);
		return rc;
	}
	*out = l;
	return TR_OK;
}

/* ---- the bookings ------------------------------------------------------------------------- */

/* A booked change's event: shared by the snapshots that hold it. */
struct feed_booking {
	struct feed_obj o; /* first: a snapshot's objs point at it */
	atomic_uint refs;
	const char *uid;    /* its item's UID */
	const char *change; /* the change's id; with o's range, its key */
	const char *fp;     /* its rows' fingerprint (store_feed_bookings) */
	char data[];        /* the strings */
};

static void booking_release(struct feed_booking *b)
{
	if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	json_decref(b->o.item);
	free(b);
}

/*
 * The event of booking item `item` made from `src` (store_feed_bookings' booking; both
 * borrowed), with text `ev` (NULL: none) and its zone `zone` (NULL: none), keeping a
 * reference to the item when `keep_item`.  refs = 1; NULL when out of memory.
 */
static struct feed_booking *booking_new(json_t *item, const json_t *src,
					const struct cal_feed_event *ev, const char *zone,
					size_t zone_len, bool keep_item)
{
	const char *uid = json_string_value(json_object_get(item, "uid"));
	const char *change = json_string_value(json_object_get(src, "change")) ?: "";
	const char *fp = json_string_value(json_object_get(src, "fp")) ?: "";
	const json_t *svcs = json_object_get(src, "services");
	char name[128];
	if (uid == NULL)
		return NULL; /* every item has a uid: only OOM gets here */
	feed_object_name(uid, name);
	size_t bytes = strlen(name) + strlen(uid) + strlen(change) + strlen(fp) + 5;
	size_t i;
	json_t *v;
	json_array_foreach(svcs, i, v) {
		bytes += json_string_length(v) + 1;
	}
	if (ev != NULL)
		bytes += ev->len + 1 + (zone != NULL ? zone_len + 1 : 0);
	struct feed_booking *b = malloc(sizeof *b + bytes);
	if (b == NULL)
		return NULL;
	memset(b, 0, sizeof *b);
	atomic_init(&b->refs, 1);
	if (!feed_etag_of_json(item, b->o.etag)) {
		free(b);
		return NULL;
	}
	char *w = b->data;
	b->o.name = put(&w, name, strlen(name));
	b->uid = put(&w, uid, strlen(uid));
	b->change = put(&w, change, strlen(change));
	b->fp = put(&w, fp, strlen(fp));
	b->o.services = w;
	json_array_foreach(svcs, i, v) {
		/* the services a feed of one service looks for: never "" */
		if (json_string_length(v) > 0 &&
		    strlen(json_string_value(v)) == json_string_length(v))
			put(&w, json_string_value(v), json_string_length(v));
	}
	*w++ = '\0';
	if (ev != NULL) {
		b->o.text = put(&w, ev->text, ev->len);
		b->o.len = ev->len;
		if (zone != NULL) {
			b->o.zone = put(&w, zone, zone_len);
			b->o.zone_len = zone_len;
		}
	}
	b->o.start_ms = json_integer_value(json_object_get(item, "start_ms"));
	b->o.end_ms = json_integer_value(json_object_get(item, "end_ms"));
	b->o.kind = FEED_BOOKING;
	b->o.item = keep_item ? json_incref(item) : NULL;
	return b;
}

/* Bookings by key (change, start, end), open addressing. */
struct bk_index {
	struct feed_booking **v;
	size_t cap;
};

static size_t key_slot(const struct bk_index *ix, const char *change, long long start,
		       long long end)
{
	uint64_t h = hash_str(change) ^ mix64((uint64_t)start) ^ mix64(~(uint64_t)end);
	return (size_t)mix64(h) & (ix->cap - 1);
}

static bool index_init(struct bk_index *ix, size_t n)
{
	ix->cap = table_cap(n);
	ix->v = calloc(ix->cap, sizeof *ix->v);
	return ix->v != NULL;
}

/* Adds `b` (borrowed), whose key the index does not hold yet. */
static void index_add(struct bk_index *ix, struct feed_booking *b)
{
	size_t h = key_slot(ix, b->change, b->o.start_ms, b->o.end_ms);
	while (ix->v[h] != NULL)
		h = (h + 1) & (ix->cap - 1);
	ix->v[h] = b;
}

/* The booking of that key when its fingerprint is `fp`, else NULL. */
static struct feed_booking *index_find(const struct bk_index *ix, const char *change,
				       long long start, long long end, const char *fp)
{
	if (ix->v == NULL)
		return NULL;
	for (size_t h = key_slot(ix, change, start, end); ix->v[h] != NULL;
	     h = (h + 1) & (ix->cap - 1)) {
		struct feed_booking *b = ix->v[h];
		if (b->o.start_ms == start && b->o.end_ms == end && strcmp(b->change, change) == 0)
			return strcmp(b->fp, fp) == 0 ? b : NULL;
	}
	return NULL;
}

/* The bookings a snapshot holds, in its order. */
struct bookings {
	struct feed_booking **v; /* references */
	size_t n;
	bool texts; /* they have texts, and no UID of theirs is an instance's */
	bool zones; /* one of them has a VTIMEZONE (its text depends on the others) */
};

static void bookings_clear(struct bookings *bk)
{
	for (size_t i = 0; i < bk->n; i++)
		booking_release(bk->v[i]);
	free(bk->v);
	memset(bk, 0, sizeof *bk);
}

/*
 * The events of every booking of `rows` (store_feed_bookings' array, borrowed) into
 * `bk`, as feed_items_list and cal_feed_pieces_build make them, with texts when `l` has
 * texts and theirs can be made (no bad item, no UID twice) -- else with their items.
 */
static enum tr_code bookings_full(const struct feed_snap *s, const json_t *rows,
				  const struct feed_layer *l, struct bookings *bk,
				  struct tr_error *err)
{
	json_t *items = json_array(), *sources = json_array();
	struct cal_feed_pieces p = {0};
	struct cal_feed f = {.dtstamp_ms = s->stamp_ms};
	struct tr_error e = {0};
	enum tr_code rc = TR_OK;

	memset(bk, 0, sizeof *bk);
	if (items == NULL || sources == NULL) {
		rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		goto done;
	}
	feed_items_bookings(items, sources, rows, s->base);
	size_t n = json_array_size(items);
	bk->texts = l->texts && cal_feed_pieces_build(&f, items, &p, &e);
	for (size_t i = 0; bk->texts && i < n; i++)
		if (strset_has(&l->uids,
			       json_string_value(json_object_get(json_array_get(items, i), "uid"))))
			bk->texts = false; /* cal_feed_build refuses the duplicate: let it say so */
	bk->v = calloc(n + 1, sizeof *bk->v);
	if (bk->v == NULL || (!bk->texts && e.code == TR_E_NOMEM)) {
		rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		goto done;
	}
	for (; bk->n < n; bk->n++) {
		const struct cal_feed_event *ev = bk->texts ? &p.events[bk->n] : NULL;
		int z = ev != NULL ? ev->zone : -1;
		bk->v[bk->n] = booking_new(
			json_array_get(items, bk->n), json_array_get(sources, bk->n), ev,
			z >= 0 ? p.zones[z] : NULL, z >= 0 ? p.zone_len[z] : 0, !bk->texts);
		if (bk->v[bk->n] == NULL) {
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
			goto done;
		}
	}
	bk->zones = bk->texts && p.nzones > 0;
done:
	if (rc != TR_OK)
		bookings_clear(bk);
	cal_feed_pieces_free(&p);
	json_decref(items);
	json_decref(sources);
	return rc;
}

/* How many bookings bookings_batched makes at a time. */
#define BATCH 64

/*
 * bookings_full of `rows`, BATCH at a time: the JSON (rows, items) and libical's work
 * of a batch are freed before the next, so the heap holds one batch of them, not all
 * (a few kB a booking; what it does not give back stays in the process).  Sets *ok
 * false, leaving `bk` empty, when the result could differ from bookings_full's -- a
 * batch that has no texts (a bad item), a UID twice, a VTIMEZONE (whose text depends on
 * every item) -- for the caller to make them whole.
 */
static enum tr_code bookings_batched(const struct feed_snap *s,
				     const struct store_booking_rows *rows,
				     const struct feed_layer *l, struct bookings *bk, bool *ok,
				     struct tr_error *err)
{
	struct cal_feed f = {.dtstamp_ms = s->stamp_ms};
	struct strset uids = {0};
	enum tr_code rc = TR_OK;

	memset(bk, 0, sizeof *bk);
	*ok = l->texts;
	if (!*ok)
		return TR_OK; /* no texts: bookings_full keeps the items */
	bk->v = calloc(rows->n + 1, sizeof *bk->v);
	if (bk->v == NULL || !strset_init(&uids, rows->n)) {
		rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		goto done;
	}
	for (size_t first = 0; *ok && first < rows->n; first += BATCH) {
		json_t *batch = store_booking_rows_json(rows, first, BATCH);
		json_t *items = json_array(), *sources = json_array();
		struct cal_feed_pieces p = {0};
		struct tr_error e = {0};
		if (batch == NULL || items == NULL || sources == NULL) {
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		} else {
			feed_items_bookings(items, sources, batch, s->base);
			*ok = cal_feed_pieces_build(&f, items, &p, &e) && p.nzones == 0;
			if (!*ok && e.code == TR_E_NOMEM)
				rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		}
		for (size_t i = 0; rc == TR_OK && *ok && i < json_array_size(items); i++) {
			struct feed_booking *b =
				booking_new(json_array_get(items, i), json_array_get(sources, i),
					    &p.events[i], NULL, 0, false);
			if (b == NULL) {
				rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
				break;
			}
			bk->v[bk->n++] = b;
			*ok = strset_add(&uids, b->uid) && !strset_has(&l->uids, b->uid);
		}
		cal_feed_pieces_free(&p);
		json_decref(batch);
		json_decref(items);
		json_decref(sources);
		if (rc != TR_OK)
			break;
	}
	bk->texts = true;
done:
	strset_free(&uids);
	if (rc != TR_OK || !*ok)
		bookings_clear(bk);
	return rc;
}

/* What the transaction of bookings_delta reads, made again by each attempt. */
struct delta {
	long long from, to;
	const struct bk_index *prev; /* the previous snapshot's bookings */
	long long versions[2];
	struct store_booking_marks marks;
	json_t *rows; /* store_feed_bookings of the changes whose marks prev lacks, or NULL */
	bool oom;
};

static enum db_status delta_tx(struct store *st, void *cls)
{
	struct delta *d = cls;
	store_booking_marks_clear(&d->marks);
	json_decref(d->rows);
	d->rows = NULL;
	d->oom = false;
	enum db_status s = store_feed_version(st, &d->versions[0], &d->versions[1]);
	if (s >= 0)
		s = store_booking_marks(st, d->from, d->to, &d->marks);
	if (s < 0)
		return s;
	json_t *ids = json_array();
	for (size_t i = 0; ids != NULL && i < d->marks.n; i++) {
		const struct store_booking_mark *m = &d->marks.v[i];
		if (index_find(d->prev, m->change, m->start_ms, m->end_ms, m->fp) == NULL &&
		    json_array_append_new(ids, json_string(m->change)) != 0) {
			json_decref(ids);
			ids = NULL;
		}
	}
	if (ids == NULL) {
		d->oom = true;
		return DB_HARD;
	}
	if (json_array_size(ids) > 0)
		s = store_feed_bookings(st, d->from, d->to, ids, &d->rows);
	json_decref(ids);
	return s;
}

/*
 * The bookings of a snapshot after `prev` (same definitions, day and base, with texts
 * and reusable) into `bk` and their versions into s->versions, reading and rendering
 * only those whose rows changed since: the others are prev's, shared.  The marks, the
 * versions and the changed bookings are read in one REPEATABLE READ transaction, so
 * they agree.  Sets *done false (and leaves `bk` empty) when the result could differ
 * from a fresh build's -- a booking that cannot be rendered, a UID twice, a VTIMEZONE --
 * so that the caller builds afresh, which says what is wrong as before.  TR_OK, or an
 * error set on `err` (database, out of memory).
 */
static enum tr_code bookings_delta(struct rec_ctx *c, struct feed_snap *s,
				   const struct feed_snap *prev, long long from, long long to,
				   struct bookings *bk, bool *done, struct tr_error *err)
{
	const struct feed_layer *l = prev->instances;
	struct bk_index old = {0}, fresh = {0};
	struct delta d = {.from = from, .to = to, .prev = &old};
	json_t *items = json_array(), *sources = json_array();
	struct cal_feed_pieces p = {0};
	struct cal_feed f = {.dtstamp_ms = s->stamp_ms};
	struct strset uids = {0};
	struct tr_error e = {0};
	enum tr_code rc = TR_OK;
	size_t nf = 0;

	memset(bk, 0, sizeof *bk);
	*done = false;
	if (items == NULL || sources == NULL || !index_init(&old, prev->n_own)) {
		rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < prev->n_own; i++)
		index_add(&old, (struct feed_booking *)prev->objs[i]);
	enum db_status st = store_tx(c->st, STORE_REPEATABLE_READ, 2, delta_tx, &d);
	if (st < 0) {
		rc = d.oom ? tr_error_set(err, TR_E_NOMEM, NULL, "out of memory")
			   : store_error(c->st, st, c->request_id, err);
		goto out;
	}
	memcpy(s->versions, d.versions, sizeof s->versions);

	/* The changed bookings, rendered as a fresh build renders them. */
	if (d.rows != NULL)
		feed_items_bookings(items, sources, d.rows, s->base);
	nf = json_array_size(items);
	if (nf != json_array_size(d.rows))
		goto out; /* one cannot be rendered: a fresh build logs it */
	if (!cal_feed_pieces_build(&f, items, &p, &e)) {
		if (e.code == TR_E_NOMEM)
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		goto out; /* else a bad item: a fresh build keeps the items to say so */
	}
	if (p.nzones > 0)
		goto out;
	if (!index_init(&fresh, nf) || !strset_init(&uids, d.marks.n) ||
	    (bk->v = calloc(d.marks.n + 1, sizeof *bk->v)) == NULL) {
		rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nf; i++) {
		struct feed_booking *b =
			booking_new(json_array_get(items, i), json_array_get(sources, i),
				    &p.events[i], NULL, 0, false);
		if (b == NULL) {
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
			goto out;
		}
		index_add(&fresh, b);
	}

	/* Every booking in the order of the marks: prev's when unchanged, else fresh. */
	for (; bk->n < d.marks.n; bk->n++) {
		const struct store_booking_mark *m = &d.marks.v[bk->n];
		struct feed_booking *b = index_find(&old, m->change, m->start_ms, m->end_ms, m->fp);
		if (b == NULL)
			b = index_find(&fresh, m->change, m->start_ms, m->end_ms, m->fp);
		if (b == NULL || !strset_add(&uids, b->uid) || strset_has(&l->uids, b->uid))
			goto out; /* a UID twice: cal_feed_build refuses it, let it say so */
		atomic_fetch_add(&b->refs, 1);
		bk->v[bk->n] = b;
	}
	bk->texts = true;
	*done = true;
out:
	if (!*done)
		bookings_clear(bk);
	for (size_t i = 0; fresh.v != NULL && i < fresh.cap; i++)
		booking_release(fresh.v[i]);
	free(fresh.v);
	free(old.v);
	strset_free(&uids);
	cal_feed_pieces_free(&p);
	json_decref(items);
	json_decref(sources);
	json_decref(d.rows);
	store_booking_marks_clear(&d.marks);
	return rc;
}

/* ---- snapshots --------------------------------------------------------------------------- */

static void snap_free(struct feed_snap *s)
{
	for (size_t i = 0; s->objs != NULL && i < s->n_own; i++) /* the bookings' */
		booking_release((struct feed_booking *)s->objs[i]);
	free(s->objs);
	free(s->inst_own);
	json_decref(s->inst_items);
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

/* Whether two events of `s` have the same name; false when out of memory too. */
static bool snap_names(struct feed_snap *s)
{
	struct strset names;
	if (!strset_init(&names, s->n))
		return false;
	for (size_t i = 0; i < s->n && !s->any_dup_name; i++)
		s->any_dup_name = !strset_add(&names, s->objs[i]->name);
	strset_free(&names);
	return true;
}

/*
 * Without texts: the instances of `l` with their items, which a layer with texts has
 * dropped (made again: feed_items_list is a function of the definitions and the range).
 */
static enum tr_code snap_inst_items(struct rec_ctx *c, struct feed_snap *s, struct feed_layer *l,
				    long long from, long long to, struct tr_error *err)
{
	long long stamp = 0;
	if (l->items != NULL)
		return TR_OK; /* its objects have them */
	enum tr_code rc = feed_items_list(c, s->base, "instances", NULL, from, to, &s->inst_items,
					  NULL, &stamp, err);
	if (rc != TR_OK)
		return rc;
	if (json_array_size(s->inst_items) != l->n)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "feed: the instances moved");
	s->inst_own = calloc(l->n + 1, sizeof *s->inst_own);
	if (s->inst_own == NULL)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < l->n; i++) {
		s->inst_own[i] = l->objs[i];
		s->inst_own[i].item = json_array_get(s->inst_items, i);
	}
	return TR_OK;
}

/* The bookings `bk` (stolen) then the instances of `l` (stolen) into `s`. */
static enum tr_code snap_fill(struct feed_snap *s, struct bookings *bk, struct feed_layer *l)
{
	const struct feed_obj *inst = s->inst_own != NULL ? s->inst_own : l->objs;
	s->instances = l;
	s->exact = l->exact;
	s->texts = bk->texts;
	s->reusable = bk->texts && !bk->zones;
	s->objs = calloc(bk->n + l->n + 1, sizeof *s->objs);
	if (s->objs == NULL) {
		bookings_clear(bk);
		return TR_E_NOMEM;
	}
	for (size_t i = 0; i < bk->n; i++)
		s->objs[i] = &bk->v[i]->o;
	s->n = s->n_own = bk->n;
	free(bk->v);
	memset(bk, 0, sizeof *bk);
	for (size_t i = 0; i < l->n; i++)
		s->objs[s->n + i] = &inst[i];
	s->n += l->n;
	return snap_names(s) ? TR_OK : TR_E_NOMEM;
}

/*
 * A new snapshot for `c` at audit head `seq` and `day`: after `prev` (may be NULL) made
 * for the same definitions, day and base, its instances and unchanged bookings pass on;
 * else (or when the bookings cannot be updated alike) it is made afresh, with prev's
 * instances when they were made for the same definitions and day.
 */
static enum tr_code snap_build(struct rec_ctx *c, const char *base, long long seq, long long day,
			       const struct feed_snap *prev, struct feed_snap **out,
			       struct tr_error *err)
{
	struct feed_snap *s = calloc(1, sizeof *s);
	struct feed_layer *l = NULL;
	struct bookings bk = {0};
	struct store_booking_rows rows = {0};
	long long from = day * DAY_MS - BACK_MS, to = (day + 1) * DAY_MS + horizon_of(c->defs);
	bool same = prev != NULL && prev->defs == c->defs && prev->day == day &&
		    strcmp(prev->base, base) == 0;
	bool done = false;
	enum tr_code rc = TR_OK;

	*out = NULL;
	if (s == NULL)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->memo_lock, NULL);
	s->defs = defs_ref(c->defs);
	atomic_init(&s->seq, seq);
	s->day = day;
	s->stamp_ms = feed_items_stamp(c->defs);
	snprintf(s->base, sizeof s->base, "%s", base);
	if (same && prev->reusable)
		rc = bookings_delta(c, s, prev, from, to, &bk, &done, err);
	if (rc == TR_OK && !done) {
		/* The versions first: a booking written between the two reads makes the next
		 * check differ (a needless rebuild), never match a list that lacks it. */
		enum db_status fs = store_feed_version(c->st, &s->versions[0], &s->versions[1]);
		if (fs >= 0)
			fs = store_feed_rows(c->st, from, to, NULL, &rows);
		if (fs < 0)
			rc = store_error(c->st, fs, c->request_id, err);
	}
	if (rc == TR_OK && prev != NULL && prev->instances->defs == c->defs &&
	    prev->instances->day == day) {
		l = prev->instances;
		atomic_fetch_add(&l->refs, 1);
	} else if (rc == TR_OK) {
		rc = layer_build(c, base, day, &l, err);
	}
	if (rc == TR_OK && !done)
		rc = bookings_batched(s, &rows, l, &bk, &done, err);
	if (rc == TR_OK && !done) {
		json_t *all = store_booking_rows_json(&rows, 0, rows.n);
		rc = all != NULL ? bookings_full(s, all, l, &bk, err)
				 : tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		json_decref(all);
	}
	store_booking_rows_clear(&rows);
	if (rc == TR_OK && !bk.texts)
		rc = snap_inst_items(c, s, l, from, to, err);
	if (rc == TR_OK) {
		rc = snap_fill(s, &bk, l);
		l = NULL;
		if (rc != TR_OK)
			tr_error_set(err, rc, NULL, "out of memory");
	}
	bookings_clear(&bk);
	layer_release(l);
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
