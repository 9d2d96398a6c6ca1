/*
 * feed_items.h -- the events of Transom's calendars as cal_feed items (calendar/feed.h):
 * what the ICS feeds (app/feeds.c) and the CalDAV schedule collections (app/caldav.c) serve.
 */
#ifndef TRANSOM_APP_FEED_ITEMS_H
#define TRANSOM_APP_FEED_ITEMS_H

#include <jansson.h>

#include "core/err.h"
#include "app/records.h"

/*
 * The items of calendar `what` over [from_ms, to_ms): "schedule" (booked changes, windows
 * and freezes), "freezes", "cab" (CAB meetings; the next one with the agenda of changes
 * awaiting a decision) or "service" (the bookings, windows and freezes of `service`); and the two
 * halves of "schedule": "bookings" (its booked changes) and "instances" (its windows and
 * freezes).  `base` is the
 * public URL for links.  Sets *items (owned array, bookings first, then instances by
 * start) and *stamp_ms (when the definitions' calendars last changed, defs->changed_ms).
 * Windows, freezes and meetings are stamped (DTSTAMP, LAST-MODIFIED) with the time their
 * own calendar last changed, never the load time, so unchanged files give identical
 * texts; "cab" puts the agenda on the next meeting only (the first not over at
 * c->now_ms), stamped with the newest updated_at of the changes on it.  With
 * `sources` not NULL, *sources receives an owned array as long as *items: for each item
 * the booking (store_bookings_list) or instance (defs_instances) it was made from.
 * TR_OK, or an error set on `err` (database).
 *
 * Bookings and instances overlapping [from_ms, to_ms) are included: an item of positive
 * length when start < to_ms and end > from_ms, an instance of zero length when its start
 * is in the range (bookings are never empty).
 */
enum tr_code feed_items_list(struct rec_ctx *c, const char *base, const char *what,
			     const char *service, long long from_ms, long long to_ms,
			     json_t **items, json_t **sources, long long *stamp_ms,
			     struct tr_error *err);

/*
 * The items of booked changes `bookings` (borrowed: store_bookings_list's array) appended
 * to `items`, as feed_items_list makes them, and with `sources` not NULL each item's
 * booking to `sources`.  A booking whose item cannot be made is logged and left out of
 * both.
 */
void feed_items_bookings(json_t *items, json_t *sources, const json_t *bookings, const char *base);

/* The DTSTAMP feed_items_list gives its calendars (*stamp_ms): defs->changed_ms, else
 * the load time. */
long long feed_items_stamp(const struct defs *d);

#endif /* TRANSOM_APP_FEED_ITEMS_H */
