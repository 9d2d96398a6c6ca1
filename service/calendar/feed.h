/*
 * feed.h -- iCalendar output: subscription feeds (VEVENTs) and published free/busy.
 *
 * Part of the calendar module, the only one that includes libical.  The text is made by
 * libical's serializer: CRLF line endings, lines folded at 75 octets on UTF-8 character
 * boundaries, TEXT values escaped (backslash, comma, semicolon, newline).  Output is a
 * pure function of the input (no clock, no random UID), so a strong ETag may be a hash of
 * the text.  Feeds never carry ATTENDEE or ORGANIZER (clients would offer RSVP buttons
 * that lead nowhere; see /work/shared/CALENDAR.md).
 *
 * TZIDs are written as plain IANA names ("Europe/Berlin", also in the VTIMEZONE), not with
 * the "/freeassociation.sourceforge.net/" prefix libical 3.0.16 gives its builtin zones
 * whatever icaltimezone_set_tzid_prefix() was told: clients map IANA names directly.
 *
 * Every function here needs cal_init() first and is thread-safe afterwards: libical calls
 * are serialized by the module lock shared with calendar.c.
 */
#ifndef TRANSOM_CAL_FEED_H
#define TRANSOM_CAL_FEED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* The calendar-level properties of a feed.  Borrowed strings; zero-initialise. */
struct cal_feed {
	const char *name;     /* NAME (RFC 7986) and X-WR-CALNAME; NULL: neither */
	long refresh_seconds; /* REFRESH-INTERVAL;VALUE=DURATION and X-PUBLISHED-TTL;
				 0: neither (e.g. one CalDAV resource) */
	bool publish;         /* METHOD:PUBLISH; false for feeds and CalDAV resources, which
				 must not carry METHOD (RFC 4791 4.1) */
	long long dtstamp_ms; /* DTSTAMP of items with neither dtstamp_ms nor last_modified_ms */
};

/*
 * Builds a VCALENDAR (PRODID -//Transom//Transom 1.0//EN, VERSION 2.0, CALSCALE GREGORIAN,
 * the properties of `f`), then one VTIMEZONE per zone used (first-use order; libical's
 * builtin zone, cloned), then one VEVENT per element of `items` (borrowed JSON array), in
 * array order.  Each item is an object with these members (any other member is refused):
 *
 *   uid               string, required, 1..255 octets, no control characters; unique
 *                     within the feed
 *   start_ms, end_ms  integers, required, ms since the epoch UTC, end >= start; both in
 *                     the years 1900..2199; milliseconds are dropped (floor to seconds)
 *   summary, description, location   strings
 *   url               string, an absolute URI (no spaces or control characters)
 *   all_day           bool: DTSTART/DTEND;VALUE=DATE, the days (in `tzid`'s zone, else
 *                     UTC) of start and end; an end after midnight counts its whole day,
 *                     and an all-day event lasts one day at least; no TZID, no VTIMEZONE
 *   tzid              string, an IANA zone known to libical ("Europe/Berlin"): DTSTART
 *                     and DTEND are written as wall time with ;TZID= and the zone's
 *                     VTIMEZONE is included.  A time that is the second occurrence of an
 *                     ambiguous wall time (the fall-back overlap; RFC 5545 3.3.5 reads
 *                     such wall times as the first) is written in UTC instead.  "UTC" and
 *                     no tzid: UTC times ("...Z")
 *   sequence          integer >= 0 (SEQUENCE)
 *   dtstamp_ms        integer (DTSTAMP); default last_modified_ms, then f->dtstamp_ms
 *   last_modified_ms  integer (LAST-MODIFIED)
 *   categories        array of non-empty strings without ',', ';' or control characters
 *                     (one CATEGORIES property lists them all)
 *   status            "CONFIRMED" | "TENTATIVE" | "CANCELLED"
 *   transp            "OPAQUE" | "TRANSPARENT"
 *   x                 object of extra properties: name "X-..." (letters, digits, '-')
 *                     -> string value, written in the object's order
 *
 * A member whose value is JSON null counts as absent.  Strings are UTF-8, as jansson
 * guarantees for every string not made with a *_nocheck function.
 * Text values (summary, description, location, x values) may hold any UTF-8: CR LF and a
 * lone CR become a newline, other control characters except tab become spaces.  The uid,
 * tzid, url and categories are refused instead when they hold control characters.
 *
 * Returns the owned NUL-terminated text (free()), its length in *len_out (len_out may be
 * NULL).  On failure returns NULL and fills `err` (may be NULL): TR_E_UNPROCESSABLE with
 * the field at fault ("items[3].tzid") for a bad item or feed, TR_E_NOMEM when out of
 * memory.  Items usually come from Transom's own records, so a caller serving a feed may
 * report TR_E_UNPROCESSABLE as an internal error.
 */
char *cal_feed_build(const struct cal_feed *f, const json_t *items, size_t *len_out,
		     struct tr_error *err);

/* What ends every calendar cal_feed_build() makes. */
#define CAL_FEED_TAIL "END:VCALENDAR\r\n"

/*
 * The start of the text cal_feed_build(f, items) makes, whatever the items: the VCALENDAR
 * line and its properties, up to (not including) the first VTIMEZONE or VEVENT.  Owned
 * (free()), length in *len_out (may be NULL); NULL with `err` filled as cal_feed_build().
 */
char *cal_feed_head(const struct cal_feed *f, size_t *len_out, struct tr_error *err);

/*
 * A calendar in pieces, for callers that serve many subsets of one list of items and
 * join the pieces instead of building each subset again.  For any subset S of the items
 * (in their order), cal_feed_build(f, S) is byte for byte
 *
 *   cal_feed_head(f) + zones[z] for each zone used by S (in order of first use within S)
 *   + events[i].text for each i in S + CAL_FEED_TAIL
 *
 * Owned by the struct; cal_feed_pieces_free() releases it.
 */
struct cal_feed_event {
	char *text; /* "BEGIN:VEVENT\r\n" ... "END:VEVENT\r\n" */
	size_t len;
	int zone; /* the zone (index into zones) its DTSTART/DTEND reference, or -1 */
};

struct cal_feed_pieces {
	struct cal_feed_event *events; /* one per item, in item order */
	size_t n;
	char **zones; /* VTIMEZONE texts, in order of first use over all the items */
	size_t *zone_len;
	size_t nzones;
};

/*
 * Cuts what cal_feed_build(f, items) would make into `out` (zero-initialised by the
 * caller).  Same checks and errors as cal_feed_build(), over all the items (duplicate
 * UIDs included): returns false with `err` filled and `out` empty on failure, true on
 * success.  Thread-safe like cal_feed_build(); holds the module lock throughout.
 */
bool cal_feed_pieces_build(const struct cal_feed *f, const json_t *items,
			   struct cal_feed_pieces *out, struct tr_error *err);

/* Frees what cal_feed_pieces_build() put into `p` and empties it; NULL is a no-op. */
void cal_feed_pieces_free(struct cal_feed_pieces *p);

/* The range and identity of a published free/busy.  Borrowed strings; zero-initialise. */
struct cal_freebusy {
	const char *uid;       /* UID; NULL: "freebusy-<from_ms>-<to_ms>@transom" */
	const char *organizer; /* the calendar user whose time this is, a URI
				  ("mailto:a@example.org"); NULL: none */
	long long from_ms;     /* DTSTART, ms since the epoch UTC */
	long long to_ms;       /* DTEND; >= from_ms */
	long long dtstamp_ms;  /* DTSTAMP */
};

/*
 * Builds a VCALENDAR with one VFREEBUSY: DTSTAMP, UID, DTSTART and DTEND (the range),
 * ORGANIZER when given, then one FREEBUSY;FBTYPE=... property per period, in UTC, sorted
 * by start, clipped to the range, never overlapping: `busy` (borrowed JSON array) holds
 *   {"start_ms", "end_ms", "type": "BUSY" (default) | "BUSY-UNAVAILABLE" | "BUSY-TENTATIVE"}
 * and where periods overlap the strongest type wins (BUSY-UNAVAILABLE > BUSY >
 * BUSY-TENTATIVE); touching or overlapping periods of one type are merged.  Empty periods
 * and periods outside the range are dropped.  Times are whole seconds: busy periods and
 * the range are rounded outward (busy time is never shortened).
 *
 * METHOD (RFC 5546 3.3.1): with an organizer the calendar says METHOD:PUBLISH, a complete
 * iTIP free/busy publication; without one (RFC 5545 3.6.4 makes ORGANIZER optional in a
 * published VFREEBUSY) it has no METHOD, as a CalDAV resource or report must not.
 *
 * Returns the owned text (free()) and its length in *len_out (may be NULL); NULL on
 * failure with `err` (may be NULL) filled: TR_E_UNPROCESSABLE naming the field
 * ("busy[2].end_ms", "to_ms", "organizer") or TR_E_NOMEM.
 */
char *cal_freebusy_build(const struct cal_freebusy *fb, const json_t *busy, size_t *len_out,
			 struct tr_error *err);

/*
 * Parses `text` (`len` bytes, need not be NUL-terminated) with libical and counts the
 * parse errors it records (X-LIC-ERROR properties, at any depth).  Returns that count
 * (0: clean) with the first message in `err` (may be NULL, `errsz` bytes), or -1 when the
 * text is not one VCALENDAR at all.  Meant for tests and for checking generated output.
 */
int cal_text_check(const char *text, size_t len, char *err, size_t errsz);

#endif /* TRANSOM_CAL_FEED_H */
