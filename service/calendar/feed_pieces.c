/*
 * feed_pieces.c -- a feed in pieces (feed.h): the head and each item rendered apart, so a
 * cache can keep the items and rebuild only what changed.
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

/* ---- a feed in pieces ------------------------------------------------------------------ */

/* Checks the feed-level members of `f` as cal_feed_build() does. */
static bool feed_ok(struct build *b, const struct cal_feed *f)
{
	if (f->refresh_seconds < 0 || f->refresh_seconds > MAX_REFRESH) {
		cal_fail(b, "feed.refresh_seconds", "must be 0..%ld", MAX_REFRESH);
		return false;
	}
	if (f->dtstamp_ms < MIN_SECS * 1000 || f->dtstamp_ms >= MAX_SECS * 1000) {
		cal_fail(b, "feed.dtstamp_ms", "out of range (years 1900..2199)");
		return false;
	}
	return true;
}

char *cal_feed_head(const struct cal_feed *f, size_t *len_out, struct tr_error *err)
{
	static const struct cal_feed none = {0};
	struct build b = {err, false, false};
	const size_t tail = sizeof CAL_FEED_TAIL - 1;
	char *out = NULL;
	size_t len = 0;

	if (f == NULL)
		f = &none;
	if (!feed_ok(&b, f))
		return NULL;
	cal_lock_enter();
	icalcomponent *cal = cal_vcalendar_new(&b, f->publish);
	if (cal != NULL)
		cal_add_feed_props(&b, cal, f);
	if (cal != NULL && !b.failed)
		out = cal_serialize(&b, cal, &len);
	if (cal != NULL)
		icalcomponent_free(cal);
	cal_lock_leave();
	if (out == NULL)
		return NULL;
	if (len < tail || memcmp(out + len - tail, CAL_FEED_TAIL, tail) != 0) {
		free(out); /* not what libical writes: cannot happen with 3.x */
		cal_fail(&b, "feed", "unexpected serialization");
		return NULL;
	}
	len -= tail;
	out[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	return out;
}

void cal_feed_pieces_free(struct cal_feed_pieces *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; p->events != NULL && i < p->n; i++)
		free(p->events[i].text);
	for (size_t i = 0; p->zones != NULL && i < p->nzones; i++)
		free(p->zones[i]);
	free(p->events);
	free(p->zones);
	free(p->zone_len);
	memset(p, 0, sizeof *p);
}

/* The index of `z` in `zs`, added when new; -1 with b->failed when out of memory. */
static int zone_index(struct build *b, struct zones *zs, icaltimezone *z)
{
	for (size_t i = 0; i < zs->n; i++)
		if (zs->v[i] == z)
			return (int)i;
	cal_zones_add(b, zs, z);
	return b->failed ? -1 : (int)zs->n - 1;
}

static void pieces_locked(struct build *b, const struct cal_feed *f, const json_t *items,
			  struct cal_feed_pieces *out)
{
	size_t n = json_array_size(items);
	json_t *uids = json_object();
	struct zones zs = {0};

	out->events = calloc(n > 0 ? n : 1, sizeof *out->events);
	if (out->events == NULL || uids == NULL) {
		cal_fail_oom(b);
		goto done;
	}
	out->n = n;
	for (size_t i = 0; i < n && !b->failed; i++) {
		struct zones one = {0}; /* the zone this item uses, if any */
		icalcomponent *ev = cal_item_event(b, f, i, json_array_get(items, i), &one, uids);
		out->events[i].zone = -1;
		if (ev != NULL && one.n > 0)
			out->events[i].zone = zone_index(b, &zs, one.v[0]);
		free(one.v);
		if (ev == NULL)
			break;
		if (!b->failed)
			out->events[i].text = cal_serialize(b, ev, &out->events[i].len);
		icalcomponent_free(ev);
	}
	if (b->failed)
		goto done;
	out->zones = calloc(zs.n + 1, sizeof *out->zones);
	out->zone_len = calloc(zs.n + 1, sizeof *out->zone_len);
	if (out->zones == NULL || out->zone_len == NULL) {
		cal_fail_oom(b);
		goto done;
	}
	for (size_t i = 0; i < zs.n && !b->failed; i++) {
		icalcomponent *vz = cal_vtimezone_of(b, zs.v[i], cal_keep_from_of(items));
		if (vz == NULL)
			break;
		out->zones[i] = cal_serialize(b, vz, &out->zone_len[i]);
		out->nzones = i + 1;
		icalcomponent_free(vz);
	}
done:
	json_decref(uids);
	free(zs.v);
}

bool cal_feed_pieces_build(const struct cal_feed *f, const json_t *items,
			   struct cal_feed_pieces *out, struct tr_error *err)
{
	static const struct cal_feed none = {0};
	struct build b = {err, false, false};

	memset(out, 0, sizeof *out);
	if (f == NULL)
		f = &none;
	if (!json_is_array(items)) {
		cal_fail(&b, "items", "must be an array");
		return false;
	}
	if (!feed_ok(&b, f))
		return false;
	cal_lock_enter();
	pieces_locked(&b, f, items, out);
	cal_lock_leave();
	if (b.failed)
		cal_feed_pieces_free(out);
	return !b.failed;
}
