/*
 * itip.c -- iTIP REQUEST/CANCEL output and REPLY intake with libical (itip.h).
 *
 * Output is built as libical components and serialized by libical (escaping, folding).
 * Input is untrusted mail: it is copied, NUL-terminated, parsed, and refused when libical
 * reports any error (garbage "parses" into X-LIC-ERROR properties).  Everything runs
 * under the module lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libical/ical.h>

#include "calendar/cal_int.h"
#include "calendar/itip.h"

#define PRODID     "-//Transom//Transom 1.0//EN"
#define MIN_SECS   0LL
#define MAX_SECS   7258118400LL /* 2200-01-01T00:00:00Z */
#define REPLY_MAX  (1024 * 1024)
#define MAILTO     "mailto:"
#define MAILTO_LEN 7

static bool time_ok(long long ms)
{
	return ms / 1000 >= MIN_SECS && ms / 1000 < MAX_SECS;
}

static struct icaltimetype utc_time(long long ms)
{
	return icaltime_from_timet_with_zone((time_t)(ms / 1000), 0,
					     icaltimezone_get_utc_timezone());
}

/* "mailto:<addr>" into `out`; false when it does not fit. */
static bool mailto(const char *addr, char *out, size_t size)
{
	int n = snprintf(out, size, MAILTO "%s", addr);
	return n > 0 && (size_t)n < size;
}

static icalproperty *person(icalproperty *p, const char *cn)
{
	if (p != NULL && cn != NULL && *cn)
		icalproperty_add_parameter(p, icalparameter_new_cn(cn));
	return p;
}

char *itip_build(const struct itip_event *e)
{
	char org[ITIP_ADDR_MAX + MAILTO_LEN], att[ITIP_ADDR_MAX + MAILTO_LEN];
	if (e == NULL || e->uid == NULL || e->organizer == NULL || e->attendee == NULL ||
	    e->summary == NULL || e->sequence < 0 || e->end_ms <= e->start_ms ||
	    !time_ok(e->start_ms) || !time_ok(e->end_ms) || !time_ok(e->stamp_ms) ||
	    !mailto(e->organizer, org, sizeof org) || !mailto(e->attendee, att, sizeof att))
		return NULL;

	cal_lock_enter();
	char *text = NULL;
	icalcomponent *cal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
	icalcomponent *ev = icalcomponent_new(ICAL_VEVENT_COMPONENT);
	if (cal == NULL || ev == NULL) {
		if (cal)
			icalcomponent_free(cal);
		if (ev)
			icalcomponent_free(ev);
		cal_lock_leave();
		return NULL;
	}
	icalcomponent_add_property(cal, icalproperty_new_prodid(PRODID));
	icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
	icalcomponent_add_property(
		cal, icalproperty_new_method(e->cancel ? ICAL_METHOD_CANCEL : ICAL_METHOD_REQUEST));

	icalcomponent_add_property(ev, icalproperty_new_uid(e->uid));
	icalcomponent_add_property(ev, icalproperty_new_sequence(e->sequence));
	icalcomponent_add_property(ev, icalproperty_new_dtstamp(utc_time(e->stamp_ms)));
	icalcomponent_add_property(ev, icalproperty_new_dtstart(utc_time(e->start_ms)));
	icalcomponent_add_property(ev, icalproperty_new_dtend(utc_time(e->end_ms)));
	icalcomponent_add_property(ev, icalproperty_new_summary(e->summary));
	if (e->description != NULL)
		icalcomponent_add_property(ev, icalproperty_new_description(e->description));
	if (e->url != NULL)
		icalcomponent_add_property(ev, icalproperty_new_url(e->url));
	icalcomponent_add_property(ev, icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT));
	icalcomponent_add_property(ev, icalproperty_new_status(e->cancel ? ICAL_STATUS_CANCELLED
									 : ICAL_STATUS_CONFIRMED));
	icalcomponent_add_property(ev, person(icalproperty_new_organizer(org), e->organizer_cn));
	icalproperty *a = person(icalproperty_new_attendee(att), e->attendee_cn);
	if (a != NULL) {
		icalproperty_add_parameter(a, icalparameter_new_cutype(ICAL_CUTYPE_INDIVIDUAL));
		icalproperty_add_parameter(a, icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
		icalproperty_add_parameter(a,
					   icalparameter_new_partstat(ICAL_PARTSTAT_NEEDSACTION));
		icalproperty_add_parameter(a, icalparameter_new_rsvp(ICAL_RSVP_TRUE));
		icalcomponent_add_property(ev, a);
	}
	icalcomponent_add_component(cal, ev);
	text = icalcomponent_as_ical_string_r(cal);
	icalcomponent_free(cal);
	cal_lock_leave();
	return text;
}

static void say(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
}

/* Copies the address of a "mailto:" URI value (case-insensitive scheme); false if none. */
static bool addr_of(const char *uri, char *out, size_t size)
{
	if (uri == NULL || strncasecmp(uri, MAILTO, MAILTO_LEN) != 0)
		return false;
	const char *a = uri + MAILTO_LEN;
	size_t n = strlen(a);
	if (n == 0 || n >= size)
		return false;
	memcpy(out, a, n + 1);
	return true;
}

/*
 * Whether `c` and its subcomponents parsed without errors (X-LIC-ERROR properties).  An
 * empty value ("LOCATION:", which Google and Exchange send) is not held against a reply.
 */
static bool no_errors(icalcomponent *c)
{
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
	     p != NULL; p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
		const char *text = icalproperty_get_xlicerror(p);
		if (text == NULL || strstr(text, "No value for") == NULL)
			return false;
	}
	for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); s != NULL;
	     s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
		if (!no_errors(s))
			return false;
	return true;
}

static bool parse_locked(icalcomponent *cal, struct itip_reply *out, char *why, size_t whylen)
{
	if (icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
		say(why, whylen, "not a VCALENDAR");
		return false;
	}
	if (!no_errors(cal)) {
		say(why, whylen, "the calendar has syntax errors");
		return false;
	}
	icalproperty *m = icalcomponent_get_first_property(cal, ICAL_METHOD_PROPERTY);
	if (m != NULL) {
		const char *ms = icalproperty_get_value_as_string(m);
		snprintf(out->method, sizeof out->method, "%s", ms ? ms : "");
	}
	if (strcasecmp(out->method, "REPLY") != 0) {
		say(why, whylen, "the method is not REPLY");
		return false;
	}
	icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	if (ev == NULL) {
		say(why, whylen, "no VEVENT");
		return false;
	}
	const char *uid = icalcomponent_get_uid(ev);
	if (uid == NULL || *uid == '\0' || strlen(uid) >= sizeof out->uid) {
		say(why, whylen, "no usable UID");
		return false;
	}
	snprintf(out->uid, sizeof out->uid, "%s", uid);
	icalproperty *sq = icalcomponent_get_first_property(ev, ICAL_SEQUENCE_PROPERTY);
	out->sequence = sq ? icalproperty_get_sequence(sq) : 0;
	if (out->sequence < 0) {
		say(why, whylen, "negative SEQUENCE");
		return false;
	}
	icalproperty *org = icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY);
	if (org == NULL ||
	    !addr_of(icalproperty_get_organizer(org), out->organizer, sizeof out->organizer)) {
		say(why, whylen, "no mailto: ORGANIZER");
		return false;
	}
	for (icalproperty *p = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY);
	     p != NULL; p = icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY)) {
		if (out->n_attendees == ITIP_ATTENDEES_MAX) {
			say(why, whylen, "too many ATTENDEEs");
			return false;
		}
		struct itip_attendee *a = &out->attendees[out->n_attendees];
		if (!addr_of(icalproperty_get_attendee(p), a->addr, sizeof a->addr)) {
			say(why, whylen, "an ATTENDEE is not a mailto: address");
			return false;
		}
		icalparameter *ps = icalproperty_get_first_parameter(p, ICAL_PARTSTAT_PARAMETER);
		const char *v =
			ps ? icalparameter_enum_to_string(icalparameter_get_partstat(ps)) : NULL;
		snprintf(a->partstat, sizeof a->partstat, "%s", v ? v : "");
		out->n_attendees++;
	}
	if (out->n_attendees == 0) {
		say(why, whylen, "no ATTENDEE");
		return false;
	}
	return true;
}

bool itip_parse_reply(const char *text, size_t len, struct itip_reply *out, char *why,
		      size_t whylen)
{
	memset(out, 0, sizeof *out);
	if (text == NULL || len == 0 || len > REPLY_MAX || memchr(text, '\0', len) != NULL) {
		say(why, whylen, "empty, too large or binary calendar text");
		return false;
	}
	char *copy = malloc(len + 1);
	if (copy == NULL) {
		say(why, whylen, "out of memory");
		return false;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	cal_lock_enter();
	icalcomponent *cal = icalparser_parse_string(copy);
	bool ok = false;
	if (cal == NULL)
		say(why, whylen, "not iCalendar");
	else
		ok = parse_locked(cal, out, why, whylen);
	if (cal != NULL)
		icalcomponent_free(cal);
	cal_lock_leave();
	free(copy);
	return ok;
}
