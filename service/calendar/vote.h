/*
 * vote.h -- CAB votes as CalDAV attendee scheduling objects (RFC 6638): the member's copy
 * of a change awaiting their vote, and the check of a copy a calendar program PUTs back.
 *
 * Part of the calendar module (the only one that includes libical).  The object is a
 * VCALENDAR without METHOD (RFC 4791 4.1) holding one non-recurring VEVENT with the agent
 * as ORGANIZER and the member as the only ATTENDEE (RSVP=TRUE, TRANSP:TRANSPARENT so a
 * pending vote does not make the member busy).  Output is a pure function of the input.
 * Needs cal_init() first; thread-safe afterwards (the module lock).
 */
#ifndef TRANSOM_CAL_VOTE_H
#define TRANSOM_CAL_VOTE_H

#include <stddef.h>

#include "core/err.h"

/* One member's copy of one vote.  Borrowed strings; optional ones may be NULL. */
struct cal_vote {
	const char *uid;          /* required: "CHG-12@transom" */
	const char *summary;      /* required */
	const char *description;  /* optional */
	const char *url;          /* optional, absolute URI */
	long long start_ms;       /* DTSTART, UTC */
	long long end_ms;         /* DTEND, > start_ms */
	long long dtstamp_ms;     /* DTSTAMP */
	int sequence;             /* SEQUENCE >= 0 */
	const char *organizer;    /* required: "mailto:cab@..." */
	const char *organizer_cn; /* optional */
	const char *attendee;     /* required: "mailto:member@..." */
	const char *attendee_cn;  /* optional */
	const char *partstat;     /* "NEEDS-ACTION", "ACCEPTED", "DECLINED" or "TENTATIVE" */
	const char *change_id;    /* optional: X-TRANSOM-CHANGE */
};

/*
 * The text of `v` (owned, free()), its length in *len_out (may be NULL).  NULL on failure
 * with `err` set: TR_E_UNPROCESSABLE naming the member at fault, or TR_E_NOMEM.
 */
char *cal_vote_build(const struct cal_vote *v, size_t *len_out, struct tr_error *err);

/* What an uploaded copy changes. */
enum cal_vote_verdict {
	CAL_VOTE_SAME,      /* nothing that matters (DTSTAMP, alarms, X- properties...) */
	CAL_VOTE_PARTSTAT,  /* only the member's PARTSTAT: a vote */
	CAL_VOTE_FORBIDDEN, /* anything else an attendee may not change (RFC 6638 3.2.2.1) */
	CAL_VOTE_INVALID,   /* not one parseable VCALENDAR with one VEVENT */
};

/*
 * Compares `len` bytes of `text` (a PUT body) with the current copy `cur`.  Times compare
 * as instants (a client may rewrite them in another zone); addresses without regard to
 * ASCII case; SUMMARY, DESCRIPTION (line endings aside), LOCATION, STATUS, UID, ORGANIZER,
 * DTSTART, the end, the set of attendees and the absence of recurrence must be unchanged.
 * `partstat` (32 bytes) receives the member's PARTSTAT in the upload (NEEDS-ACTION when
 * absent); `why` (may be NULL) one line on what was wrong for FORBIDDEN and INVALID.
 */
enum cal_vote_verdict cal_vote_check(const struct cal_vote *cur, const char *text, size_t len,
				     char partstat[32], char *why, size_t whylen);

#endif /* TRANSOM_CAL_VOTE_H */
