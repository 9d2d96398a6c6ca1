/*
 * freebusy.c -- published free/busy (VFREEBUSY) from busy periods, and the check of an
 * iCalendar text libical reads back (feed.h).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libical/ical.h>

#include "calendar/cal_int.h"
#include "calendar/feed.h"
#include "calendar/feed_int.h"

static const struct field busy_fields[] = {
	{"start_ms", F_INT},
	{"end_ms", F_INT},
	{"type", F_STR},
};

/* ---- free/busy ------------------------------------------------------------------------- */

/* A change of one busy type's count at a time. */
struct fb_edge {
	long long t; /* seconds */
	int prio;    /* 1 BUSY-TENTATIVE, 2 BUSY, 3 BUSY-UNAVAILABLE */
	int delta;   /* +1 opens, -1 closes */
};

static const struct {
	const char *name;
	icalparameter_fbtype type;
} fb_types[4] = {
	{NULL, ICAL_FBTYPE_NONE},
	{"BUSY-TENTATIVE", ICAL_FBTYPE_BUSYTENTATIVE},
	{"BUSY", ICAL_FBTYPE_BUSY},
	{"BUSY-UNAVAILABLE", ICAL_FBTYPE_BUSYUNAVAILABLE},
};

static int edge_cmp(const void *pa, const void *pb)
{
	const struct fb_edge *a = pa, *b = pb;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return 0;
}

/*
 * Reads `busy` into edges (two per non-empty period, clipped to [from, to)); *n_out
 * edges in an owned array, NULL with b->failed on error (or when there are none).
 */
static struct fb_edge *busy_edges(struct build *b, const json_t *busy, long long from, long long to,
				  size_t *n_out)
{
	size_t n = json_array_size(busy), k = 0, i;
	struct fb_edge *edges = calloc(2 * n + 1, sizeof *edges);
	char what[32], field[FIELD_LEN];
	json_t *it;

	*n_out = 0;
	if (edges == NULL) {
		cal_fail_oom(b);
		return NULL;
	}
	json_array_foreach(busy, i, it) {
		snprintf(what, sizeof what, "busy[%zu]", i);
		if (!cal_members_ok(b, what, it, busy_fields,
				    sizeof busy_fields / sizeof busy_fields[0]))
			break;
		int prio = 2;
		const json_t *tv = cal_member(it, "type");
		if (tv != NULL) {
			for (prio = 1; prio < 4; prio++)
				if (strcmp(json_string_value(tv), fb_types[prio].name) == 0)
					break;
			if (prio == 4) {
				snprintf(field, sizeof field, "%s.type", what);
				cal_fail(b, field,
					 "must be BUSY, BUSY-UNAVAILABLE or BUSY-TENTATIVE");
				break;
			}
		}
		long long s, e;
		if (!cal_item_range(b, what, it, &s, &e))
			break;
		/* whole seconds, rounded outward: busy time is never shortened */
		e = cal_ceil_div((long long)json_integer_value(cal_member(it, "end_ms")), 1000);
		if (s < from)
			s = from;
		if (e > to)
			e = to;
		if (e <= s)
			continue;
		edges[k++] = (struct fb_edge){s, prio, +1};
		edges[k++] = (struct fb_edge){e, prio, -1};
	}
	if (b->failed) {
		free(edges);
		return NULL;
	}
	qsort(edges, k, sizeof *edges, edge_cmp);
	*n_out = k;
	return edges;
}

/* Adds one FREEBUSY;FBTYPE=<prio> property for [s, e). */
static void add_period(struct build *b, icalcomponent *c, long long s, long long e, int prio)
{
	struct icalperiodtype per = icalperiodtype_null_period();
	per.start = cal_time_of(s, false, true);
	per.end = cal_time_of(e, false, true);
	icalproperty *p = icalproperty_new_freebusy(per);
	cal_add_param(b, p, icalparameter_new_fbtype(fb_types[prio].type));
	cal_add_prop(b, c, p);
}

/*
 * Sweeps the sorted edges: at every instant the strongest type with an open period wins;
 * a new property starts whenever that type changes.
 */
static void add_periods(struct build *b, icalcomponent *c, const struct fb_edge *edges, size_t n)
{
	int open[4] = {0, 0, 0, 0}, cur = 0;
	long long seg_start = 0;

	for (size_t i = 0; i < n && !b->failed;) {
		long long t = edges[i].t;
		for (; i < n && edges[i].t == t; i++)
			open[edges[i].prio] += edges[i].delta;
		int top = 0;
		for (int p = 3; p > 0 && top == 0; p--)
			if (open[p] > 0)
				top = p;
		if (top == cur)
			continue;
		if (cur != 0)
			add_period(b, c, seg_start, t, cur);
		cur = top;
		seg_start = t;
	}
}

static char *freebusy_locked(struct build *b, const struct cal_freebusy *fb, long long from,
			     long long to, const json_t *busy, size_t *len_out)
{
	size_t n = 0;
	struct fb_edge *edges = busy_edges(b, busy, from, to, &n);
	icalcomponent *cal = NULL, *vfb = NULL;
	char *out = NULL, uid[96];

	if (b->failed)
		goto done;
	cal = cal_vcalendar_new(b, fb->organizer != NULL);
	vfb = icalcomponent_new(ICAL_VFREEBUSY_COMPONENT);
	if (cal == NULL || vfb == NULL) {
		cal_fail_oom(b);
		goto done;
	}
	if (fb->uid == NULL)
		snprintf(uid, sizeof uid, "freebusy-%lld-%lld@transom", fb->from_ms, fb->to_ms);
	cal_add_prop(b, vfb,
		     icalproperty_new_dtstamp(
			     cal_time_of(cal_floor_div(fb->dtstamp_ms, 1000), false, true)));
	cal_add_prop(b, vfb, icalproperty_new_uid(fb->uid != NULL ? fb->uid : uid));
	cal_add_prop(b, vfb, icalproperty_new_dtstart(cal_time_of(from, false, true)));
	cal_add_prop(b, vfb, icalproperty_new_dtend(cal_time_of(to, false, true)));
	if (fb->organizer != NULL)
		cal_add_prop(b, vfb, icalproperty_new_organizer(fb->organizer));
	add_periods(b, vfb, edges, n);
	icalcomponent_add_component(cal, vfb); /* the calendar owns it from here */
	vfb = NULL;
	if (!b->failed)
		out = cal_serialize(b, cal, len_out);
done:
	if (vfb != NULL)
		icalcomponent_free(vfb);
	if (cal != NULL)
		icalcomponent_free(cal);
	free(edges);
	return out;
}

char *cal_freebusy_build(const struct cal_freebusy *fb, const json_t *busy, size_t *len_out,
			 struct tr_error *err)
{
	struct build b = {err, false, false};
	const long long lo = MIN_SECS * 1000, hi = MAX_SECS * 1000;

	if (fb == NULL) {
		cal_fail(&b, "freebusy", "missing");
		return NULL;
	}
	if (!json_is_array(busy)) {
		cal_fail(&b, "busy", "must be an array");
		return NULL;
	}
	if (fb->from_ms < lo || fb->from_ms >= hi)
		cal_fail(&b, "from_ms", "out of range (years 1900..2199)");
	else if (fb->to_ms < fb->from_ms || fb->to_ms >= hi)
		cal_fail(&b, "to_ms", "before from_ms or out of range");
	else if (fb->dtstamp_ms < lo || fb->dtstamp_ms >= hi)
		cal_fail(&b, "dtstamp_ms", "out of range (years 1900..2199)");
	else if (fb->uid != NULL && (*fb->uid == '\0' || strlen(fb->uid) > MAX_UID ||
				     cal_has_ctl(fb->uid, strlen(fb->uid))))
		cal_fail(&b, "uid", "must be 1..%d octets without control characters", MAX_UID);
	else if (fb->organizer != NULL && !cal_uri_ok(fb->organizer, strlen(fb->organizer)))
		cal_fail(&b, "organizer", "not a URI");
	if (b.failed)
		return NULL;
	long long from = cal_floor_div(fb->from_ms, 1000), to = cal_ceil_div(fb->to_ms, 1000);
	cal_lock_enter();
	char *out = freebusy_locked(&b, fb, from, to, busy, len_out);
	cal_lock_leave();
	return out;
}

/* ---- checking -------------------------------------------------------------------------- */

/* Counts the X-LIC-ERROR properties of `c` and its children; the first goes to `err`. */
static int count_errors(icalcomponent *c, char *err, size_t errsz, int found)
{
	int n = 0;
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
	     p != NULL; p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
		if (found + n == 0 && err != NULL && errsz > 0) {
			const char *msg = icalproperty_get_xlicerror(p);
			snprintf(err, errsz, "%s", msg != NULL ? msg : "parse error");
		}
		n++;
	}
	for (icalcomponent *k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k != NULL;
	     k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
		n += count_errors(k, err, errsz, found + n);
	return n;
}

int cal_text_check(const char *text, size_t len, char *err, size_t errsz)
{
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if (text == NULL || memchr(text, '\0', len) != NULL) {
		if (err != NULL && errsz > 0)
			snprintf(err, errsz, "NUL byte in calendar text");
		return -1;
	}
	char *buf = malloc(len + 1);
	if (buf == NULL) {
		if (err != NULL && errsz > 0)
			snprintf(err, errsz, "out of memory");
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	cal_lock_enter();
	icalcomponent *root = icalparser_parse_string(buf);
	int n = -1;
	if (root != NULL && icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT)
		n = count_errors(root, err, errsz, 0);
	else if (err != NULL && errsz > 0)
		snprintf(err, errsz, "not one VCALENDAR");
	if (root != NULL)
		icalcomponent_free(root);
	cal_lock_leave();
	free(buf);
	return n;
}
