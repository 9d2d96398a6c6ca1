/*
 * planner.c -- the scheduler core over Transom's JSON data (planner.h).
 */
#include "planner/planner.h"

#include <stdlib.h>
#include <string.h>

#include "calendar/calendar.h"
#include "core/timeutil.h"
#include "policy/catalog.h"

#define MAX_COUNT 50

struct planner {
	json_t *bookings; /* referenced: the booking strings below point into it */
	const struct policy_catalog *catalog;
	struct sched_window *windows;
	size_t n_windows;
	struct sched_freeze *freezes;
	size_t n_freezes;
	struct sched_booking *bks;
	size_t n_bks;
	const char **names; /* every service list above, back to back */
	size_t n_names, cap_names;
	const char **summaries; /* summaries[i]: SUMMARY of windows[i] */
	struct sched_input in;
	struct sched_index *ix; /* built on first use */
	json_t *current;        /* change id -> its booking now (planner_booking_add, _remove) */
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

struct planner *planner_new(const struct cal_instances *instances, const char *environment,
			    json_t *bookings, const struct policy_catalog *catalog,
			    const char *exclude, int64_t horizon_ms)
{
	struct planner *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->bookings = json_incref(bookings);
	p->catalog = catalog;
	size_t ni = instances->n, nb = json_array_size(bookings);
	p->windows = calloc(ni + 1, sizeof *p->windows);
	p->summaries = calloc(ni + 1, sizeof *p->summaries);
	p->freezes = calloc(ni + 1, sizeof *p->freezes);
	p->bks = calloc(nb + 1, sizeof *p->bks);
	size_t *w_off = calloc(ni + 1, sizeof *w_off), *f_off = calloc(ni + 1, sizeof *f_off);
	size_t *b_off = calloc(nb + 1, sizeof *b_off);
	p->current = json_object();
	if (!p->windows || !p->summaries || !p->freezes || !p->bks || !w_off || !f_off || !b_off ||
	    !p->current)
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
		struct sched_booking *b = &p->bks[p->n_bks];
		b->change_id = change;
		b->start_ms = ms_of(v, "start_ms");
		b->end_ms = ms_of(v, "end_ms");
		b->window_uid = json_string_value(json_object_get(v, "window_uid"));
		b_off[p->n_bks] = p->n_names;
		size_t k;
		json_t *s;
		json_array_foreach(json_object_get(v, "services"), k, s) {
			if (json_is_string(s) &&
			    push_name(p, b_off[p->n_bks], json_string_value(s)) < 0)
				goto oom;
		}
		b->n_services = p->n_names - b_off[p->n_bks];
		if (b->n_services > 0)
			p->n_bks++;
		if (json_object_set(p->current, change, v) < 0)
			goto oom;
	}
	for (i = 0; i < p->n_windows; i++)
		p->windows[i].services = p->names + w_off[i];
	for (i = 0; i < p->n_freezes; i++)
		p->freezes[i].services = p->names + f_off[i];
	for (i = 0; i < p->n_bks; i++)
		p->bks[i].services = p->names + b_off[i];
	free(w_off);
	free(f_off);
	free(b_off);
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
	free(b_off);
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
	json_decref(p->current);
	json_decref(p->bookings);
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
	json_t *b = json_object_get(p->current, change);
	if (b == NULL)
		return 0;
	if (ensure_index(p) != SCHED_OK || sched_index_remove(p->ix, change, NULL) != SCHED_OK)
		return -1;
	if (was != NULL)
		*was = json_incref(b);
	/* The index no longer points at the key: the booking and its id may go. */
	json_object_del(p->current, change);
	return 0;
}

int planner_booking_add(struct planner *p, const char *change, json_t *booking)
{
	const char *names[64];
	size_t n = 0, i;
	json_t *v;
	if (json_object_get(p->current, change) != NULL &&
	    planner_booking_remove(p, change, NULL) < 0)
		return -1;
	json_array_foreach(json_object_get(booking, "services"), i, v) {
		if (json_is_string(v) && n < sizeof names / sizeof names[0])
			names[n++] = json_string_value(v);
	}
	if (n == 0)
		return 0; /* as planner_new: a booking on no service is left out */
	if (ensure_index(p) != SCHED_OK || json_object_set(p->current, change, booking) < 0)
		return -1;
	/* The id the index borrows: the key, which lives as long as the entry. */
	const char *id = json_object_iter_key(json_object_iter_at(p->current, change));
	struct sched_booking b = {
		.change_id = id,
		.services = names,
		.n_services = n,
		.start_ms = ms_of(booking, "start_ms"),
		.end_ms = ms_of(booking, "end_ms"),
		.window_uid = json_string_value(json_object_get(booking, "window_uid")),
	};
	if (sched_index_add(p->ix, &b) != SCHED_OK) {
		json_object_del(p->current, change);
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
