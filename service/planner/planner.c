/*
 * planner.c -- the scheduler core over Transom's JSON data (planner.h).
 */
#include "planner/planner.h"

#include <stdlib.h>
#include <string.h>

#include "calendar/calendar.h"
#include "core/hash.h"
#include "core/timeutil.h"
#include "policy/catalog.h"

#define MAX_COUNT 50

/*
 * A booking the planner holds, in one block: its services (interned in the planner's
 * `strings`), then its change id.  Compact on purpose: a shared planner keeps every booking
 * of the horizon for as long as the bookings do not change (issue 19: 10,000 bookings as
 * JSON held 10.6 MB, this way 0.65 MB).
 */
struct held {
	int64_t start_ms, end_ms;
	const char *window_uid; /* interned; NULL: booked in no window */
	size_t n_services;
	const char *services[]; /* interned; the change id's bytes follow */
};

/* A set of strings, open addressing (linear probing), owned. */
struct strset {
	char **slot;
	size_t size, used; /* size: 0 or a power of two */
};

/* The bookings by change id, open addressing (linear probing, deletion by back-shift). */
struct held_map {
	struct held **slot;
	size_t size, used; /* size: 0 or a power of two */
};

struct planner {
	const struct policy_catalog *catalog;
	struct sched_window *windows;
	size_t n_windows;
	struct sched_freeze *freezes;
	size_t n_freezes;
	struct sched_booking *bks; /* planner_new's bookings, as the index was built from them */
	size_t n_bks;
	const char **names; /* the service lists of windows and freezes, back to back */
	size_t n_names, cap_names;
	const char **summaries; /* summaries[i]: SUMMARY of windows[i] */
	struct sched_input in;
	struct sched_index *ix;  /* built on first use */
	struct held_map current; /* change id -> its booking now (owned) */
	struct strset strings;   /* the service names and window uids of the bookings */
	/* Bookings planner_new read twice for one change: only the last is `current`, the
	 * index holds both, and their strings must live as long as it. */
	struct held **dups;
	size_t n_dups;
};

/* Appends `name` to p->names unless the list begun at `from` has it already. */
static int push_name(struct planner *p, size_t from, const char *name)
{
	for (size_t i = from; i < p->n_names; i++)
		if (strcmp(p->names[i], name) == 0)
			return 0;
	if (p->n_names == p->cap_names) {
		size_t cap = p->cap_names ? p->cap_names * 2 : 64;
		const char **n = realloc(p->names, cap * sizeof *n);
		if (n == NULL)
			return -1;
		p->names = n;
		p->cap_names = cap;
	}
	p->names[p->n_names++] = name;
	return 0;
}

bool planner_applies(const struct policy_catalog *catalog, json_t *inst, const char *service)
{
	return planner_applies_services(catalog, json_object_get(inst, "services"), service);
}

bool planner_applies_services(const struct policy_catalog *catalog, const json_t *svcs,
			      const char *service)
{
	if (json_is_string(svcs))
		return strcmp(json_string_value(svcs), "*") == 0;
	const struct catalog_service *cs = catalog ? catalog_find(catalog, service) : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(svcs, i, v) {
		const char *name = json_string_value(v);
		if (name == NULL)
			continue;
		if (strcmp(name, "*") == 0 || strcmp(name, service) == 0 ||
		    (cs != NULL && cs->calendar != NULL && strcmp(cs->calendar, name) == 0))
			return true;
	}
	return false;
}

/*
 * Appends the services instance `inst` applies to (names of the catalog's services for
 * calendar names) to p->names; *start receives where they begin, *n how many (0: all).
 */
static int resolve_services(struct planner *p, const struct cal_instance *inst, size_t *start,
			    size_t *n)
{
	*start = p->n_names;
	*n = 0;
	if (inst->services == NULL)
		return 0; /* "*" */
	for (size_t i = 0; i < inst->n_services; i++) {
		const char *name = inst->services[i];
		if (strcmp(name, "*") == 0) {
			p->n_names = *start;
			return 0;
		}
		size_t before = p->n_names;
		for (size_t k = 0; p->catalog != NULL && k < catalog_count(p->catalog); k++) {
			const struct catalog_service *cs = catalog_at(p->catalog, k);
			if (strcmp(cs->name, name) == 0 ||
			    (cs->calendar != NULL && strcmp(cs->calendar, name) == 0))
				if (push_name(p, *start, cs->name) < 0)
					return -1;
		}
		if (p->n_names == before && push_name(p, *start, name) < 0)
			return -1;
	}
	*n = p->n_names - *start;
	if (*n == 0) {
		/* Only unknown names: a service nobody has.  Keep one, so it is not "all". */
		if (push_name(p, *start, "") < 0)
			return -1;
		*n = 1;
	}
	return 0;
}

bool planner_env_applies(json_t *inst, const char *environment)
{
	json_t *envs = json_object_get(inst, "environments");
	const char *env = environment != NULL ? environment : PLANNER_DEFAULT_ENV;
	if (!json_is_array(envs))
		return strcmp(env, PLANNER_DEFAULT_ENV) == 0;
	size_t i;
	json_t *v;
	json_array_foreach(envs, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), env) == 0)
			return true;
	return false;
}

/* planner_env_applies() for a struct instance. */
static bool inst_env_applies(const struct cal_instance *inst, const char *environment)
{
	const char *env = environment != NULL ? environment : PLANNER_DEFAULT_ENV;
	for (size_t i = 0; i < inst->n_environments; i++)
		if (strcmp(inst->environments[i], env) == 0)
			return true;
	return false;
}

static bool related(void *ctx, const char *a, const char *b)
{
	const struct policy_catalog *cat = ctx;
	return strcmp(a, b) == 0 || (cat != NULL && catalog_related(cat, a, b));
}

static int64_t ms_of(json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

/* `s` as kept in `set` (added when missing), or NULL when out of memory. */
static const char *strset_intern(struct strset *set, const char *s)
{
	if ((set->used + 1) * 2 > set->size) {
		size_t size = set->size ? set->size * 2 : 64;
		char **slot = calloc(size, sizeof *slot);
		if (slot == NULL)
			return NULL;
		for (size_t i = 0; i < set->size; i++) {
			if (set->slot[i] == NULL)
				continue;
			size_t k = hash_str(set->slot[i]) & (size - 1);
			while (slot[k] != NULL)
				k = (k + 1) & (size - 1);
			slot[k] = set->slot[i];
		}
		free(set->slot);
		set->slot = slot;
		set->size = size;
	}
	size_t mask = set->size - 1, k = hash_str(s) & mask;
	for (; set->slot[k] != NULL; k = (k + 1) & mask)
		if (strcmp(set->slot[k], s) == 0)
			return set->slot[k];
	if ((set->slot[k] = strdup(s)) == NULL)
		return NULL;
	set->used++;
	return set->slot[k];
}

static void strset_clear(struct strset *set)
{
	for (size_t i = 0; i < set->size; i++)
		free(set->slot[i]);
	free(set->slot);
	*set = (struct strset){0};
}

static const char *held_id(const struct held *h)
{
	return (const char *)&h->services[h->n_services];
}

/*
 * A held booking of `change` from `v` ({"services", "start_ms", "end_ms", "window_uid"}),
 * its strings interned in p->strings, each service once; NULL when out of memory.
 */
static struct held *held_new(struct planner *p, const char *change, json_t *v)
{
	json_t *services = json_object_get(v, "services");
	size_t len = strlen(change) + 1, cap = json_array_size(services), i;
	struct held *h = malloc(sizeof *h + cap * sizeof h->services[0] + len);
	if (h == NULL)
		return NULL;
	*h = (struct held){.start_ms = ms_of(v, "start_ms"), .end_ms = ms_of(v, "end_ms")};
	const char *uid = json_string_value(json_object_get(v, "window_uid"));
	if (uid != NULL && (h->window_uid = strset_intern(&p->strings, uid)) == NULL)
		goto oom;
	json_t *s;
	json_array_foreach(services, i, s) {
		if (!json_is_string(s))
			continue;
		const char *name = strset_intern(&p->strings, json_string_value(s));
		if (name == NULL)
			goto oom;
		bool seen = false; /* interned: equal names are the same pointer */
		for (size_t k = 0; k < h->n_services && !seen; k++)
			seen = h->services[k] == name;
		if (!seen)
			h->services[h->n_services++] = name;
	}
	memcpy((char *)held_id(h), change, len);
	return h;
oom:
	free(h);
	return NULL;
}

/* The slot of `change` in `m`: where it is, or the empty slot where it would go. */
static size_t held_slot(const struct held_map *m, const char *change)
{
	size_t mask = m->size - 1, k = hash_str(change) & mask;
	while (m->slot[k] != NULL && strcmp(held_id(m->slot[k]), change) != 0)
		k = (k + 1) & mask;
	return k;
}

static struct held *held_get(const struct held_map *m, const char *change)
{
	return m->size == 0 ? NULL : m->slot[held_slot(m, change)];
}

/* Puts `h` (owned) into `m`; *was (owned) receives the booking it replaces, or NULL. */
static int held_put(struct held_map *m, struct held *h, struct held **was)
{
	*was = NULL;
	if ((m->used + 1) * 2 > m->size) {
		size_t size = m->size ? m->size * 2 : 64;
		struct held **slot = calloc(size, sizeof *slot);
		if (slot == NULL)
			return -1;
		struct held_map grown = {.slot = slot, .size = size, .used = m->used};
		for (size_t i = 0; i < m->size; i++)
			if (m->slot[i] != NULL)
				slot[held_slot(&grown, held_id(m->slot[i]))] = m->slot[i];
		free(m->slot);
		*m = grown;
	}
	size_t k = held_slot(m, held_id(h));
	*was = m->slot[k];
	m->used += *was == NULL;
	m->slot[k] = h;
	return 0;
}

/* Takes `change`'s booking out of `m`: returned (owned), or NULL when it has none. */
static struct held *held_take(struct held_map *m, const char *change)
{
	if (m->size == 0)
		return NULL;
	size_t mask = m->size - 1, k = held_slot(m, change);
	struct held *h = m->slot[k];
	if (h == NULL)
		return NULL;
	/* Back-shift: move up every later entry of the run whose home is not in (k, j]. */
	m->slot[k] = NULL;
	for (size_t j = (k + 1) & mask; m->slot[j] != NULL; j = (j + 1) & mask) {
		size_t home = hash_str(held_id(m->slot[j])) & mask;
		if (((j - home) & mask) >= ((j - k) & mask)) {
			m->slot[k] = m->slot[j];
			m->slot[j] = NULL;
			k = j;
		}
	}
	m->used--;
	return h;
}

static void held_map_clear(struct held_map *m)
{
	for (size_t i = 0; i < m->size; i++)
		free(m->slot[i]);
	free(m->slot);
	*m = (struct held_map){0};
}

/* The booking `h` in the shape of planner_new()'s `bookings` (owned), or NULL. */
static json_t *held_json(const struct held *h)
{
	json_t *services = json_array();
	for (size_t i = 0; services != NULL && i < h->n_services; i++)
		if (json_array_append_new(services, json_string(h->services[i])) < 0) {
			json_decref(services);
			services = NULL;
		}
	if (services == NULL)
		return NULL;
	return json_pack("{s:s, s:o, s:I, s:I, s:s?}", "change", held_id(h), "services", services,
			 "start_ms", (json_int_t)h->start_ms, "end_ms", (json_int_t)h->end_ms,
			 "window_uid", h->window_uid);
}

/* The scheduler's view of `h`: its strings are h's. */
static struct sched_booking held_booking(const struct held *h)
{
	return (struct sched_booking){
		.change_id = held_id(h),
		.services = h->services,
		.n_services = h->n_services,
		.start_ms = h->start_ms,
		.end_ms = h->end_ms,
		.window_uid = h->window_uid,
	};
}

struct planner *planner_new(const struct cal_instances *instances, const char *environment,
			    json_t *bookings, const struct policy_catalog *catalog,
			    const char *exclude, int64_t horizon_ms)
{
	struct planner *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->catalog = catalog;
	size_t ni = instances->n, nb = json_array_size(bookings);
	p->windows = calloc(ni + 1, sizeof *p->windows);
	p->summaries = calloc(ni + 1, sizeof *p->summaries);
	p->freezes = calloc(ni + 1, sizeof *p->freezes);
	p->bks = calloc(nb + 1, sizeof *p->bks);
	size_t *w_off = calloc(ni + 1, sizeof *w_off), *f_off = calloc(ni + 1, sizeof *f_off);
	if (!p->windows || !p->summaries || !p->freezes || !p->bks || !w_off || !f_off)
		goto oom;

	/* Names first, as offsets: p->names moves while it grows. */
	size_t i;
	json_t *v;
	for (i = 0; i < ni; i++) {
		const struct cal_instance *ci = &instances->v[i];
		size_t start, n;
		if (ci->kind != CAL_INST_WINDOW && ci->kind != CAL_INST_FREEZE)
			continue;
		if (!inst_env_applies(ci, environment))
			continue;
		if (resolve_services(p, ci, &start, &n) < 0)
			goto oom;
		const char *uid = ci->uid;
		const char *summary = ci->summary;
		if (ci->kind == CAL_INST_WINDOW) {
			struct sched_window *w = &p->windows[p->n_windows];
			w->start_ms = ci->start_ms;
			w->end_ms = ci->end_ms;
			w->uid = uid ? uid : "";
			w->n_services = n;
			w->capacity = (int)ci->capacity;
			p->summaries[p->n_windows] = summary ? summary : w->uid;
			w_off[p->n_windows++] = start;
		} else {
			struct sched_freeze *f = &p->freezes[p->n_freezes];
			f->start_ms = ci->start_ms;
			f->end_ms = ci->end_ms;
			f->name = summary ? summary : uid ? uid : "";
			f->hard = ci->hard;
			f->n_services = n;
			f_off[p->n_freezes++] = start;
		}
	}
	json_array_foreach(bookings, i, v) {
		const char *change = json_string_value(json_object_get(v, "change"));
		if (change == NULL || (exclude != NULL && strcmp(change, exclude) == 0))
			continue;
		struct held *h = held_new(p, change, v), *was;
		if (h == NULL || held_put(&p->current, h, &was) < 0) {
			free(h);
			goto oom;
		}
		if (was != NULL) {
			struct held **d = realloc(p->dups, (p->n_dups + 1) * sizeof *d);
			if (d == NULL) {
				free(was);
				goto oom;
			}
			p->dups = d;
			p->dups[p->n_dups++] = was;
		}
		if (h->n_services > 0)
			p->bks[p->n_bks++] = held_booking(h);
	}
	for (i = 0; i < p->n_windows; i++)
		p->windows[i].services = p->names + w_off[i];
	for (i = 0; i < p->n_freezes; i++)
		p->freezes[i].services = p->names + f_off[i];
	free(w_off);
	free(f_off);
	p->in = (struct sched_input){
		.windows = p->windows,
		.n_windows = p->n_windows,
		.freezes = p->freezes,
		.n_freezes = p->n_freezes,
		.bookings = p->bks,
		.n_bookings = p->n_bks,
		.related = related,
		.related_ctx = (void *)catalog,
		.horizon_ms = horizon_ms,
	};
	return p;
oom:
	free(w_off);
	free(f_off);
	planner_free(p);
	return NULL;
}

void planner_free(struct planner *p)
{
	if (p == NULL)
		return;
	sched_index_free(p->ix);
	free(p->windows);
	free(p->summaries);
	free(p->freezes);
	free(p->bks);
	free(p->names);
	held_map_clear(&p->current);
	for (size_t i = 0; i < p->n_dups; i++)
		free(p->dups[i]);
	free(p->dups);
	strset_clear(&p->strings);
	free(p);
}

bool planner_request_from(json_t *change, const char *id, int64_t default_ms,
			  struct planner_request *rq, char *why, size_t why_size)
{
	memset(rq, 0, sizeof *rq);
	rq->id = id;
	rq->services = json_object_get(change, "services");
	rq->duration_ms = default_ms;
	if (json_array_size(rq->services) == 0) {
		snprintf(why, why_size, "services: the change names no service");
		return false;
	}
	const char *d = json_string_value(json_object_get(change, "duration"));
	long long secs;
	if (d != NULL) {
		if (!time_parse_duration(d, &secs) || secs <= 0) {
			snprintf(why, why_size,
				 "duration: '%s' is not a positive ISO 8601 duration", d);
			return false;
		}
		rq->duration_ms = secs * 1000;
	}
	static const char *const keys[] = {"not_before", "not_after"};
	int64_t *dst[] = {&rq->not_before_ms, &rq->not_after_ms};
	for (int k = 0; k < 2; k++) {
		const char *t = json_string_value(json_object_get(change, keys[k]));
		long long ms;
		if (t == NULL)
			continue;
		if (!time_parse_rfc3339(t, &ms)) {
			snprintf(why, why_size, "%s: '%s' is not an RFC 3339 time", keys[k], t);
			return false;
		}
		*dst[k] = ms;
	}
	return true;
}

/* Fills the scheduler's view of `rq`; `names` has room for its services. */
static bool to_change(const struct planner_request *rq, const char **names, size_t cap,
		      struct sched_change *c)
{
	size_t n = 0, i;
	json_t *v;
	json_array_foreach(rq->services, i, v) {
		if (json_is_string(v) && n < cap)
			names[n++] = json_string_value(v);
	}
	if (n == 0 || rq->duration_ms <= 0)
		return false;
	*c = (struct sched_change){
		.id = rq->id ? rq->id : "(new change)",
		.services = names,
		.n_services = n,
		.duration_ms = rq->duration_ms,
		.not_before_ms = rq->not_before_ms,
		.not_after_ms = rq->not_after_ms,
		.type = rq->emergency ? SCHED_EMERGENCY : SCHED_NORMAL,
		.break_glass = rq->break_glass,
	};
	return true;
}

static json_t *slot_json(const struct planner *p, const struct sched_slot *s)
{
	char start[TIME_RFC3339_LEN], end[TIME_RFC3339_LEN];
	time_format_ms(s->start_ms, start);
	time_format_ms(s->end_ms, end);
	json_t *window = json_null();
	if (s->window_uid != NULL) {
		const char *summary = s->window_uid;
		for (size_t i = 0; i < p->n_windows; i++)
			if (p->windows[i].uid == s->window_uid ||
			    (strcmp(p->windows[i].uid, s->window_uid) == 0 &&
			     p->windows[i].start_ms == s->window_start_ms)) {
				summary = p->summaries[i];
				break;
			}
		char ws[TIME_RFC3339_LEN], we[TIME_RFC3339_LEN];
		time_format_ms(s->window_start_ms, ws);
		time_format_ms(s->window_end_ms, we);
		window = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "uid", s->window_uid,
				   "summary", summary, "start", ws, "end", we, "start_ms",
				   (json_int_t)s->window_start_ms, "end_ms",
				   (json_int_t)s->window_end_ms);
	}
	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:s?, s:s?}", "start", start, "end", end,
			 "start_ms", (json_int_t)s->start_ms, "end_ms", (json_int_t)s->end_ms,
			 "window", window, "soft_freeze", s->soft_freeze, "broken_freeze",
			 s->broken_freeze);
}

static enum sched_status ensure_index(struct planner *p)
{
	return p->ix != NULL ? SCHED_OK : sched_index_new(&p->in, &p->ix);
}

int planner_booking_remove(struct planner *p, const char *change, json_t **was)
{
	if (was != NULL)
		*was = NULL;
	struct held *h = held_get(&p->current, change);
	if (h == NULL)
		return 0;
	if (ensure_index(p) != SCHED_OK || sched_index_remove(p->ix, change, NULL) != SCHED_OK)
		return -1;
	if (was != NULL && (*was = held_json(h)) == NULL)
		return -1;
	/* The index no longer points at its id: the booking may go.  (p->bks, which the
	 * index was built from and is not read again, may still point at it.) */
	free(held_take(&p->current, change));
	return 0;
}

int planner_booking_add(struct planner *p, const char *change, json_t *booking)
{
	if (held_get(&p->current, change) != NULL && planner_booking_remove(p, change, NULL) < 0)
		return -1;
	if (ensure_index(p) != SCHED_OK)
		return -1;
	struct held *h = held_new(p, change, booking), *was;
	if (h == NULL)
		return -1;
	if (h->n_services == 0) {
		free(h);
		return 0; /* as planner_new: a booking on no service is left out */
	}
	if (held_put(&p->current, h, &was) < 0) {
		free(h);
		return -1;
	}
	free(was); /* none: it was taken out above */
	/* The index borrows the booking's strings, which live as long as its entry. */
	struct sched_booking b = held_booking(h);
	if (sched_index_add(p->ix, &b) != SCHED_OK) {
		free(held_take(&p->current, change));
		return -1;
	}
	return 0;
}

enum sched_status planner_slots(struct planner *p, const struct planner_request *rq, int64_t now_ms,
				size_t count, json_t **out)
{
	const char *names[64];
	struct sched_change c;
	struct sched_slot slots[MAX_COUNT];
	struct sched_explain *why = malloc(sizeof *why);
	size_t n = 0;

	*out = NULL;
	if (count == 0)
		count = 1;
	if (count > MAX_COUNT)
		count = MAX_COUNT;
	if (why == NULL)
		return SCHED_ERR_OOM;
	if (!to_change(rq, names, sizeof names / sizeof names[0], &c)) {
		free(why);
		return SCHED_ERR_INVALID;
	}
	enum sched_status st = ensure_index(p);
	if (st == SCHED_OK)
		st = sched_next_slots(p->ix, &c, now_ms, slots, count, &n, why);
	if (st == SCHED_OK) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, slot_json(p, &slots[i]));
		/* What the search skipped before the first slot, and why. */
		json_t *skipped = n > 0 && sched_explain_skipped(p->ix, &c, now_ms, &slots[0],
								 why) == SCHED_OK
					  ? sched_explain_to_json(why)
					  : json_array();
		*out = json_pack("{s:o, s:o}", "slots", arr, "skipped", skipped);
	} else if (st == SCHED_NO_SLOT) {
		*out = json_pack("{s:[], s:o}", "slots", "reasons", sched_explain_to_json(why));
	}
	free(why);
	if ((st == SCHED_OK || st == SCHED_NO_SLOT) && *out == NULL)
		return SCHED_ERR_OOM;
	return st;
}

bool planner_slot_still_legal(struct planner *p, const struct planner_request *rq, int64_t start_ms,
			      int64_t now_ms, const char **soft_freeze)
{
	const char *names[64];
	struct sched_change c;
	struct sched_slot slot;

	if (!to_change(rq, names, sizeof names / sizeof names[0], &c) ||
	    ensure_index(p) != SCHED_OK)
		return false;
	c.not_before_ms = start_ms;
	bool legal =
		sched_find(p->ix, &c, now_ms, &slot, NULL) == SCHED_OK && slot.start_ms == start_ms;
	if (soft_freeze != NULL)
		*soft_freeze = legal ? slot.soft_freeze : NULL;
	return legal;
}
