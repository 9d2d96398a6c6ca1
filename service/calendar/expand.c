/*
 * expand.c -- expansion of a parsed calendar set into instances (calendar.h): recurrence
 * rules, overrides and exceptions walked under the module lock, then the instances as
 * JSON (cal_expand) or structs (cal_expand_list).
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libical/ical.h>

#include "calendar/cal_int.h"
#include "calendar/calendar.h"
#include "calendar/rrule_weekly.h"
#include "calendar/set_int.h"
#include "core/timeutil.h"

#define DAY_MS (86400LL * 1000)

#define MAX_STEPS 200000 /* iterator steps per event and expansion, whatever the rule */

/* ---- expansion ----------------------------------------------------------------------- */

struct inst {
	long long start, end, rid; /* ms; rid = original start */
	size_t ev;                 /* the event whose properties apply (override or master) */
	bool recurring;
};

struct inst_vec {
	struct inst *v;
	size_t n, cap;
	bool oom;
};

static void inst_push(struct inst_vec *iv, struct inst in)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 64;
		struct inst *v = realloc(iv->v, cap * sizeof *v);
		if (v == NULL) {
			iv->oom = true;
			return;
		}
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = in;
}

/* How long each instance of `c` lasts: nominal days plus exact seconds. */
struct span {
	int days;
	long long secs;
};

static struct span event_span(const struct zctx *zc, icalcomponent *c, struct icaltimetype st)
{
	struct span sp = {0, 0};
	icalproperty *de = icalcomponent_get_first_property(c, ICAL_DTEND_PROPERTY);
	icalproperty *du = icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY);
	if (de != NULL) {
		struct icaltimetype et = icalproperty_get_dtend(de);
		(void)cal_fix_zone(zc, de, &et);
		if (st.is_date)
			sp.days = (int)(time_days_from_civil(et.year, et.month, et.day) -
					time_days_from_civil(st.year, st.month, st.day));
		else
			sp.secs = (cal_time_ms(et) - cal_time_ms(st)) / 1000;
	} else if (du != NULL) {
		struct icaldurationtype d = icalproperty_get_duration(du);
		sp.days = (int)(d.weeks * 7 + d.days);
		sp.secs = d.hours * 3600LL + d.minutes * 60LL + d.seconds;
	} else if (st.is_date) {
		sp.days = 1;
	}
	if (sp.days < 0)
		sp.days = 0;
	if (sp.secs < 0)
		sp.secs = 0;
	return sp;
}

static long long end_of(struct icaltimetype t, struct span sp)
{
	if (sp.days > 0)
		icaltime_adjust(&t, sp.days, 0, 0, 0);
	return cal_time_ms(t) + sp.secs * 1000;
}

bool cal_overlaps(long long s, long long e, long long from, long long to)
{
	if (e == s)
		return s >= from && s < to;
	return s < to && e > from;
}

/* Whether start `ms` (local date `t`) is excluded by an EXDATE of `c`. */
static bool excluded(const struct zctx *zc, icalcomponent *c, struct icaltimetype t, long long ms)
{
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_EXDATE_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(c, ICAL_EXDATE_PROPERTY)) {
		struct icaltimetype x = icalproperty_get_exdate(p);
		(void)cal_fix_zone(zc, p, &x);
		if (x.is_date && !t.is_date) {
			if (x.year == t.year && x.month == t.month && x.day == t.day)
				return true;
		} else if (cal_time_ms(x) == ms) {
			return true;
		}
	}
	return false;
}

/* Whether an override of master `mi` replaces the instance starting at `ms`. */
static bool overridden(const struct cal_set *set, size_t mi, long long ms)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct cal_event *o = &set->ev[i];
		if (o->master != (long)mi)
			continue;
		icalproperty *rp =
			icalcomponent_get_first_property(o->comp, ICAL_RECURRENCEID_PROPERTY);
		struct icaltimetype r = icalproperty_get_recurrenceid(rp);
		(void)cal_fix_zone(&set->zc, rp, &r);
		if (cal_time_ms(r) == ms)
			return true;
	}
	return false;
}

/* Adds the instance at local start `t` of master `mi` when it is kept and in range. */
static void add_master(const struct cal_set *set, size_t mi, struct icaltimetype t,
		       long long end_override, struct span sp, long long from, long long to,
		       bool recurring, struct inst_vec *iv, size_t *count)
{
	icalcomponent *c = set->ev[mi].comp;
	long long s = cal_time_ms(t);
	long long e = end_override >= 0 ? end_override : end_of(t, sp);
	if (e < s)
		e = s;
	if (!cal_overlaps(s, e, from, to))
		return;
	for (size_t i = 0; i < iv->n; i++) /* RDATE equal to an RRULE instance: once */
		if (iv->v[i].ev == mi && iv->v[i].rid == s)
			return;
	if (excluded(&set->zc, c, t, s) || overridden(set, mi, s))
		return;
	inst_push(iv, (struct inst){s, e, s, mi, recurring});
	(*count)++;
}

/* The floating wall time of `ms` in `zone` (NULL: UTC). */
static struct icaltimetype wall_of(long long ms, icaltimezone *zone)
{
	long long secs = ms / 1000;
	if (zone != NULL && zone != icaltimezone_get_utc_timezone())
		secs += cal_offset_at_utc(zone, secs);
	struct icaltimetype t = icaltime_from_timet_with_zone((time_t)secs, 0, NULL);
	t.zone = NULL;
	return t;
}

/*
 * A recurrence iterator over the wall times of `*st`.  libical 3.0.16 normalizes zoned
 * times inside the iterator, so a gap instance (01:30 on the spring-forward day) becomes
 * 02:30 and drags the next day's instance with it; iterating floating wall times avoids
 * that.  A UTC UNTIL is then converted to the zone's wall time.  *st loses its zone
 * (UTC stays UTC).
 */
static icalrecur_iterator *rrule_iterator(struct icalrecurrencetype *r, struct icaltimetype *st)
{
	icaltimezone *z = (icaltimezone *)st->zone;
	if (z != NULL && z != icaltimezone_get_utc_timezone()) {
		st->zone = NULL;
		if (!icaltime_is_null_time(r->until) && !r->until.is_date &&
		    icaltime_is_utc(r->until)) {
			struct icaltimetype u = r->until;
			u.zone = icaltimezone_get_utc_timezone();
			r->until = wall_of(cal_time_ms(u), z);
		}
	}
	return icalrecur_iterator_new(*r, *st);
}

/* Wall seconds (rrule_weekly.h) of the wall time `t`, its zone ignored. */
static long long wall_secs(struct icaltimetype t)
{
	long long s = time_days_from_civil(t.year, t.month, t.day) * 86400LL;
	return t.is_date ? s : s + t.hour * 3600LL + t.minute * 60LL + t.second;
}

/*
 * Expands the FREQ=WEEKLY rule `r` of master `mi` (DTSTART `st`) with rrule_weekly.c,
 * which cal_rw_from_ical() chose over libical's iterator (see rrule_weekly.h).  A UTC UNTIL is
 * converted to DTSTART's wall time; a DATE UNTIL of a DATE-TIME rule ends with its day.
 */
static void expand_weekly(const struct cal_set *set, size_t mi, struct icaltimetype st,
			  struct rw_rule *wr, struct icalrecurrencetype r, struct span sp,
			  long long from, long long to, size_t cap, long long span_ms,
			  struct inst_vec *iv, size_t *count)
{
	icaltimezone *z = (icaltimezone *)st.zone;
	if (!icaltime_is_null_time(r.until)) {
		struct icaltimetype u = r.until;
		if (!u.is_date && icaltime_is_utc(u)) {
			u.zone = icaltimezone_get_utc_timezone();
			u = wall_of(cal_time_ms(u), z);
		}
		wr->has_until = true;
		wr->until = wall_secs(u) + (u.is_date && !st.is_date ? 86399 : 0);
	}
	long long skip_to = from - span_ms - DAY_MS, skip = LLONG_MIN;
	if (skip_to > cal_time_ms(st))
		skip = wall_secs(wall_of(skip_to, z));
	struct rw_iter it;
	cal_rw_begin(&it, wr, wall_secs(st), skip);
	long long w;
	for (long steps = 0; steps < MAX_STEPS && *count < cap && !iv->oom && cal_rw_next(&it, &w);
	     steps++) {
		struct icaltimetype t = st;
		long long day = w >= 0 ? w / 86400 : (w - 86399) / 86400, sec = w - day * 86400;
		int y, m, d;
		time_civil_from_days(day, &y, &m, &d);
		t.year = y;
		t.month = m;
		t.day = d;
		if (!t.is_date) {
			t.hour = (int)(sec / 3600);
			t.minute = (int)(sec / 60 % 60);
			t.second = (int)(sec % 60);
		}
		if (t.year > 2200 || cal_time_ms(t) >= to)
			break;
		add_master(set, mi, t, -1, sp, from, to, true, iv, count);
	}
}

/*
 * Expands master `mi` by its RRULE `r` through libical's iterator (every rule shape but
 * the weekly ones of rrule_weekly.c), DTSTART included.  False when libical cannot iterate
 * the rule (nothing added).
 */
static bool expand_rrule(const struct cal_set *set, size_t mi, struct icaltimetype st,
			 struct icalrecurrencetype r, struct span sp, long long from, long long to,
			 size_t cap, long long span_ms, struct inst_vec *iv, size_t *count)
{
	/* RFC 5545 3.8.5.3: DTSTART counts as the first instance, within COUNT too, even
	 * when the rule does not produce it; libical then yields COUNT others */
	bool off_rule = !cal_rule_starts_at(r, st);
	bool only_dtstart = off_rule && r.count == 1;
	if (off_rule && r.count > 1)
		r.count--;
	if (!only_dtstart) {
		struct icaltimetype wst = st;
		icalrecur_iterator *it = rrule_iterator(&r, &wst);
		if (it == NULL)
			return false;
		/* skip far ahead when the rule allows it (no COUNT) */
		long long skip_to = from - span_ms - DAY_MS;
		if (r.count == 0 && skip_to - cal_time_ms(st) > 40 * DAY_MS) {
			struct icaltimetype s2 = wall_of(skip_to, (icaltimezone *)st.zone);
			s2.zone = wst.zone;
			s2.is_date = st.is_date;
			(void)icalrecur_iterator_set_start(it, s2);
		}
		for (long steps = 0; steps < MAX_STEPS && *count < cap && !iv->oom; steps++) {
			struct icaltimetype t = icalrecur_iterator_next(it);
			if (icaltime_is_null_time(t))
				break;
			t.zone = st.zone;
			if (icaltime_is_utc(st))
				t.zone = icaltimezone_get_utc_timezone();
			if (t.year > 2200 || cal_time_ms(t) >= to)
				break;
			add_master(set, mi, t, -1, sp, from, to, true, iv, count);
		}
		icalrecur_iterator_free(it);
	}
	/* RFC 5545 3.8.5.3: DTSTART is the first instance even when the rule does not
	 * produce it (libical drops it); add_master() keeps it once */
	if (*count < cap)
		add_master(set, mi, st, -1, sp, from, to, true, iv, count);
	return true;
}

static void expand_master(const struct cal_set *set, size_t mi, long long from, long long to,
			  size_t cap, struct inst_vec *iv)
{
	icalcomponent *c = set->ev[mi].comp;
	icalproperty *ds = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY);
	struct icaltimetype st = icalproperty_get_dtstart(ds);
	(void)cal_fix_zone(&set->zc, ds, &st);
	struct span sp = event_span(&set->zc, c, st);
	long long span_ms = (sp.days * 86400LL + 3600 * 2 + sp.secs) * 1000; /* +2 h: DST slack */
	icalproperty *rr = icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY);
	bool recurring =
		rr != NULL || icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY) != NULL;
	size_t count = 0;

	if (rr == NULL) {
		add_master(set, mi, st, -1, sp, from, to, recurring, iv, &count);
	} else {
		struct icalrecurrencetype r = icalproperty_get_rrule(rr);
		struct rw_rule wr;
		if (cal_rw_from_ical(&r, &wr))
			expand_weekly(set, mi, st, &wr, r, sp, from, to, cap, span_ms, iv, &count);
		else if (!expand_rrule(set, mi, st, r, sp, from, to, cap, span_ms, iv, &count))
			return;
	}
	/* collected first: add_master() walks EXDATEs, which resets the component's one
	 * property iterator */
	size_t nrd = (size_t)icalcomponent_count_properties(c, ICAL_RDATE_PROPERTY), k = 0;
	icalproperty **rds = nrd > 0 ? calloc(nrd, sizeof *rds) : NULL;
	if (nrd > 0 && rds == NULL) {
		iv->oom = true;
		return;
	}
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY);
	     p != NULL && k < nrd; p = icalcomponent_get_next_property(c, ICAL_RDATE_PROPERTY))
		rds[k++] = p;
	for (size_t j = 0; j < k && count < cap; j++) {
		icalproperty *p = rds[j];
		struct icaldatetimeperiodtype rd = icalproperty_get_rdate(p);
		long long end = -1;
		struct icaltimetype t = rd.time;
		if (icaltime_is_null_time(t)) {
			t = rd.period.start;
			struct icaltimetype pe = rd.period.end;
			(void)cal_fix_zone(&set->zc, p, &t);
			if (!icaltime_is_null_time(pe)) {
				(void)cal_fix_zone(&set->zc, p, &pe);
				end = cal_time_ms(pe);
			} else {
				struct span ps = {0, 0};
				ps.days = rd.period.duration.weeks * 7 + rd.period.duration.days;
				ps.secs = rd.period.duration.hours * 3600LL +
					  rd.period.duration.minutes * 60LL +
					  rd.period.duration.seconds;
				end = end_of(t, ps);
			}
		} else {
			(void)cal_fix_zone(&set->zc, p, &t);
		}
		add_master(set, mi, t, end, sp, from, to, true, iv, &count);
	}
	free(rds);
}

static void expand_override(const struct cal_set *set, size_t oi, long long from, long long to,
			    struct inst_vec *iv)
{
	const struct cal_event *o = &set->ev[oi];
	const struct cal_event *m = &set->ev[o->master];
	if (o->cancelled || m->cancelled)
		return;
	icalproperty *rp = icalcomponent_get_first_property(o->comp, ICAL_RECURRENCEID_PROPERTY);
	struct icaltimetype rid = icalproperty_get_recurrenceid(rp);
	(void)cal_fix_zone(&set->zc, rp, &rid);
	icalproperty *ds = icalcomponent_get_first_property(o->comp, ICAL_DTSTART_PROPERTY);
	struct icaltimetype st = rid;
	struct span sp;
	if (ds != NULL) {
		st = icalproperty_get_dtstart(ds);
		(void)cal_fix_zone(&set->zc, ds, &st);
	}
	bool own_end = icalcomponent_get_first_property(o->comp, ICAL_DTEND_PROPERTY) != NULL ||
		       icalcomponent_get_first_property(o->comp, ICAL_DURATION_PROPERTY) != NULL;
	if (own_end) {
		sp = event_span(&set->zc, o->comp, st);
	} else {
		icalproperty *mds =
			icalcomponent_get_first_property(m->comp, ICAL_DTSTART_PROPERTY);
		struct icaltimetype mst = icalproperty_get_dtstart(mds);
		(void)cal_fix_zone(&set->zc, mds, &mst);
		sp = event_span(&set->zc, m->comp, mst);
	}
	long long s = cal_time_ms(st), e = end_of(st, sp);
	if (e < s)
		e = s;
	if (cal_overlaps(s, e, from, to))
		inst_push(iv, (struct inst){s, e, cal_time_ms(rid), oi, true});
}

static int inst_cmp(const void *pa, const void *pb, void *cls)
{
	const struct inst *a = pa, *b = pb;
	const struct cal_set *set = cls;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	int c = strcmp(set->ev[a->ev].uid, set->ev[b->ev].uid);
	if (c != 0)
		return c;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	return 0;
}

/* The properties of instance `in`: the override's, else its master's, with defaults. */
struct inst_props {
	const struct cal_event *m; /* the master */
	const char *kind_name;
	enum cal_inst_kind kind;
	int hard;
	long capacity;
	json_t *services; /* borrowed; NULL: "*" */
	json_t *envs;     /* borrowed; NULL: production */
	const char *summary;
	const char *tzid;
};

static void inst_props(const struct cal_set *set, const struct inst *in, struct inst_props *pr)
{
	const struct cal_event *e = &set->ev[in->ev];
	const struct cal_event *m = e->is_override ? &set->ev[e->master] : e;
	enum cal_kind kind = m->meta.kind;
	int hard = e->meta.hard >= 0 ? e->meta.hard : m->meta.hard;
	long capacity = e->meta.capacity > 0 ? e->meta.capacity : m->meta.capacity;
	const char *summary = e->meta.summary != NULL ? e->meta.summary : m->meta.summary;

	pr->m = m;
	pr->services = e->meta.services != NULL ? e->meta.services : m->meta.services;
	pr->envs = e->meta.envs != NULL ? e->meta.envs : m->meta.envs;
	pr->summary = summary != NULL ? summary : "";
	pr->tzid = e->tzid ? e->tzid : m->tzid;
	pr->kind_name = "freeze";
	pr->kind = CAL_INST_FREEZE;
	if (kind == CAL_WINDOW) {
		pr->kind_name = "window";
		pr->kind = CAL_INST_WINDOW;
		hard = 1;
		if (capacity <= 0)
			capacity = 1;
	} else if (kind == CAL_MEETING) {
		pr->kind_name = "meeting";
		pr->kind = CAL_INST_MEETING;
		hard = 0;
		capacity = 0;
	} else {
		if (hard < 0)
			hard = 1;
		capacity = 0;
	}
	pr->hard = hard;
	pr->capacity = capacity;
}

static json_t *inst_json(const struct cal_set *set, const struct inst *in)
{
	struct inst_props pr;
	char sb[40], eb[40], rb[40];

	inst_props(set, in, &pr);
	/* meetings without X-TRANSOM-SERVICES concern every service */
	json_t *svc = pr.services != NULL ? json_incref(pr.services) : json_string("*");
	cal_rfc3339(in->start, sb, sizeof sb);
	cal_rfc3339(in->end, eb, sizeof eb);
	cal_rfc3339(in->rid, rb, sizeof rb);
	/* windows and freezes without X-TRANSOM-ENVIRONMENTS concern production only */
	json_t *env = pr.envs != NULL ? json_incref(pr.envs) : json_pack("[s]", "production");
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:I, s:I, s:I, s:s, s:s, s:o, s:s?}",
			 "uid", pr.m->uid, "summary", pr.summary, "kind", pr.kind_name, "hard",
			 pr.hard, "services", svc, "environments", env, "capacity",
			 (json_int_t)pr.capacity, "start_ms", (json_int_t)in->start, "end_ms",
			 (json_int_t)in->end, "start", sb, "end", eb, "recurrence_id",
			 in->recurring ? json_string(rb) : json_null(), "tzid", pr.tzid);
}

/* Collects the instances of `set` in [from_ms, to_ms), sorted; false on out of memory. */
static bool collect(const struct cal_set *set, long long from_ms, long long to_ms, size_t cap,
		    struct inst_vec *iv)
{
	if (set == NULL || to_ms <= from_ms)
		return true;
	if (cap == 0 || cap > CAL_CAP_DEFAULT)
		cap = CAL_CAP_DEFAULT;
	if (to_ms - from_ms > CAL_HORIZON_MS)
		to_ms = from_ms + CAL_HORIZON_MS;

	cal_lock_enter();
	for (size_t i = 0; i < set->n && !iv->oom; i++) {
		const struct cal_event *e = &set->ev[i];
		if (e->is_override)
			expand_override(set, i, from_ms, to_ms, iv);
		else if (!e->cancelled)
			expand_master(set, i, from_ms, to_ms, cap, iv);
	}
	cal_lock_leave();

	if (!iv->oom && iv->n > 1)
		qsort_r(iv->v, iv->n, sizeof *iv->v, inst_cmp, (void *)set);
	return !iv->oom;
}

json_t *cal_expand(const struct cal_set *set, long long from_ms, long long to_ms, size_t cap)
{
	struct inst_vec iv = {0};
	json_t *out = json_array();

	if (out == NULL)
		return NULL;
	collect(set, from_ms, to_ms, cap, &iv);
	for (size_t i = 0; i < iv.n && !iv.oom; i++) {
		json_t *j = inst_json(set, &iv.v[i]);
		if (j == NULL || json_array_append_new(out, j) != 0)
			iv.oom = true;
	}
	free(iv.v);
	if (iv.oom) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/*
 * The names of `list` (a JSON array of strings, or NULL for the one name `dflt`) in one
 * owned block at *names (NULL with *n 0 for a JSON string such as "*").  False on out of
 * memory.
 */
static bool names_of(json_t *list, const char *dflt, const char ***names, size_t *n)
{
	size_t cap = list == NULL ? 1 : json_array_size(list);

	*names = NULL;
	*n = 0;
	if (list != NULL && !json_is_array(list))
		return true;
	if (cap == 0)
		cap = 1;
	*names = malloc(cap * sizeof **names);
	if (*names == NULL)
		return false;
	if (list == NULL) {
		(*names)[(*n)++] = dflt;
		return true;
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (json_is_string(v))
			(*names)[(*n)++] = json_string_value(v);
	return true;
}

static bool inst_struct(const struct cal_set *set, const struct inst *in, struct cal_instance *ci)
{
	struct inst_props pr;

	inst_props(set, in, &pr);
	*ci = (struct cal_instance){
		.uid = pr.m->uid,
		.summary = pr.summary,
		.kind = pr.kind,
		.hard = pr.hard != 0,
		.capacity = pr.capacity,
		.start_ms = in->start,
		.end_ms = in->end,
		.recurrence_ms = in->rid,
		.recurring = in->recurring,
		.tzid = pr.tzid,
	};
	/* no services: "*", every service; no environments: production only */
	if ((pr.services != NULL && !names_of(pr.services, NULL, &ci->services, &ci->n_services)) ||
	    !names_of(pr.envs, "production", &ci->environments, &ci->n_environments)) {
		free(ci->services);
		return false;
	}
	return true;
}

int cal_expand_list(const struct cal_set *set, long long from_ms, long long to_ms, size_t cap,
		    struct cal_instances *out)
{
	struct inst_vec iv = {0};
	size_t before = out->n;

	if (collect(set, from_ms, to_ms, cap, &iv) && out->n + iv.n > out->cap) {
		size_t ncap = out->cap ? out->cap : 64;
		while (ncap < out->n + iv.n)
			ncap *= 2;
		struct cal_instance *v = realloc(out->v, ncap * sizeof *v);
		if (v == NULL)
			iv.oom = true;
		else {
			out->v = v;
			out->cap = ncap;
		}
	}
	for (size_t i = 0; i < iv.n && !iv.oom; i++) {
		if (!inst_struct(set, &iv.v[i], &out->v[out->n]))
			iv.oom = true;
		else
			out->n++;
	}
	free(iv.v);
	if (!iv.oom)
		return 0;
	for (size_t i = before; i < out->n; i++) {
		free(out->v[i].services);
		free(out->v[i].environments);
	}
	out->n = before;
	return -1;
}

void cal_instances_clear(struct cal_instances *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].services);
		free(l->v[i].environments);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}
