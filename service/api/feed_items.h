/*
 * feed_items.h -- the events of Transom's calendars as cal_feed items (calendar/feed.h):
 * what the ICS feeds (h_feeds.c) and the CalDAV schedule collections (h_dav.c) serve.
 */
#ifndef TRANSOM_API_FEED_ITEMS_H
#define TRANSOM_API_FEED_ITEMS_H

#include <jansson.h>

#include "core/err.h"
#include "records/records.h"

/*
 * The items of calendar `what` over [from_ms, to_ms): "schedule" (booked changes, windows
 * and freezes), "freezes", "cab" (CAB meetings with the agenda of changes awaiting a
 * decision) or "service" (the bookings, windows and freezes of `service`).  `base` is the
 * public URL for links.  Sets *items (owned array, bookings first, then instances by
 * start) and *stamp_ms (the definitions' load time, DTSTAMP of instances).  TR_OK, or an
 * error set on `err` (database).
 */
enum tr_code api_feed_items(struct rec_ctx *c, const char *base, const char *what,
			    const char *service, long long from_ms, long long to_ms, json_t **items,
			    long long *stamp_ms, struct tr_error *err);

#endif /* TRANSOM_API_FEED_ITEMS_H */
