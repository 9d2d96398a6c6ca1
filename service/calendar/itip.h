/*
 * itip.h -- iTIP (RFC 5546) messages for voting by calendar: the REQUEST and CANCEL
 * Transom sends each member about a change, and the REPLY a member's client sends back.
 *
 * Part of the calendar module (the only one that includes libical); every libical call
 * runs under the module lock (cal_int.h).  Pure: no clock (DTSTAMP is a parameter), no
 * I/O.  Thread-safe after cal_init().
 */
#ifndef TRANSOM_ITIP_H
#define TRANSOM_ITIP_H

#include <stdbool.h>
#include <stddef.h>

/* Longest address kept from a REPLY (bytes, with the NUL); longer ones are refused. */
#define ITIP_ADDR_MAX 320
#define ITIP_UID_MAX  256
/* Most ATTENDEE properties a REPLY may carry (more: refused). */
#define ITIP_ATTENDEES_MAX 16

/* One event for one member (all strings borrowed; NULL where optional). */
struct itip_event {
	bool cancel;              /* METHOD:CANCEL + STATUS:CANCELLED, else METHOD:REQUEST */
	const char *uid;          /* stable per change; required */
	int sequence;             /* >= 0 */
	long long stamp_ms;       /* DTSTAMP (message time) */
	long long start_ms;       /* DTSTART, written in UTC */
	long long end_ms;         /* DTEND (> start_ms) */
	const char *organizer;    /* address without "mailto:"; required */
	const char *organizer_cn; /* optional */
	const char *attendee;     /* address without "mailto:"; required */
	const char *attendee_cn;  /* optional */
	const char *summary;      /* required */
	const char *description;  /* optional */
	const char *url;          /* optional: the change's page */
};

/*
 * The VCALENDAR text (CRLF lines, folded, TEXT escaped by libical) of `e`: one
 * non-recurring VEVENT, TRANSP:TRANSPARENT, the attendee with CUTYPE=INDIVIDUAL,
 * ROLE=REQ-PARTICIPANT, PARTSTAT=NEEDS-ACTION and RSVP=TRUE.  Owned (free()), or NULL
 * when a required member is missing, a time is out of range, or out of memory.
 */
char *itip_build(const struct itip_event *e);

struct itip_attendee {
	char addr[ITIP_ADDR_MAX]; /* without "mailto:", as written */
	char partstat[24];        /* "ACCEPTED", "DECLINED", "TENTATIVE", ... or "" */
};

/* What a REPLY says (only what the checks need). */
struct itip_reply {
	char method[16];        /* "REPLY", ... ("" when absent) */
	char uid[ITIP_UID_MAX]; /* of the first VEVENT */
	int sequence;           /* 0 when absent (RFC 5545 default) */
	char organizer[ITIP_ADDR_MAX];
	struct itip_attendee attendees[ITIP_ATTENDEES_MAX];
	size_t n_attendees;
};

/*
 * Parses an iCalendar text (`len` bytes, need not be NUL-terminated) as a REPLY into
 * `out`.  Returns true, or false with `why` (a short lowercase reason) when it is not one
 * VCALENDAR without parse errors, has no VEVENT, no UID, METHOD is not REPLY, the
 * organizer or an attendee is not a mailto: address within ITIP_ADDR_MAX, or there are
 * no or too many attendees.  Never aborts on bad input.
 */
bool itip_parse_reply(const char *text, size_t len, struct itip_reply *out, char *why,
		      size_t whylen);

#endif /* TRANSOM_ITIP_H */
