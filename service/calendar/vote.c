/*
 * vote.c -- a CAB member's copy of a vote as an attendee scheduling object, and the check
 * of what a calendar program sends back (see vote.h).
 */
#include "calendar/vote.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libical/ical.h>

#include "calendar/cal_int.h"

#define VOTE_PRODID "-//Transom//Transom 1.0//EN"

static bool partstat_known(const char *p)
{
	return p != NULL && (strcmp(p, "NEEDS-ACTION") == 0 || strcmp(p, "ACCEPTED") == 0 ||
			     strcmp(p, "DECLINED") == 0 || strcmp(p, "TENTATIVE") == 0);
}

static bool has_ctl(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static struct icaltimetype utc_time(long long ms)
{
	long long secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	return icaltime_from_timet_with_zone((time_t)secs, 0, icaltimezone_get_utc_timezone());
}

/* Adds `p` to `c`; false when `p` is NULL (libical ran out of memory or refused it). */
static bool add(icalcomponent *c, icalproperty *p)
{
	if (p == NULL)
		return false;
	icalcomponent_add_property(c, p);
	return true;
}

static bool param(icalproperty *p, const char *text)
{
	icalparameter *q = icalparameter_new_from_string(text);
	if (q == NULL)
		return false;
	icalproperty_add_parameter(p, q);
	return true;
}

/* A CN parameter (quoted by libical when needed); control characters are refused. */
static bool cn_param(icalproperty *p, const char *cn)
{
	if (cn == NULL || *cn == '\0')
		return true;
	icalparameter *q = icalparameter_new_cn(cn);
	if (q == NULL)
		return false;
	icalproperty_add_parameter(p, q);
	return true;
}

static char *build_locked(const struct cal_vote *v, size_t *len_out, struct tr_error *err)
{
	icalcomponent *cal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
	icalcomponent *ev = icalcomponent_new(ICAL_VEVENT_COMPONENT);
	bool ok = cal != NULL && ev != NULL;
	ok = ok && add(cal, icalproperty_new_prodid(VOTE_PRODID));
	ok = ok && add(cal, icalproperty_new_version("2.0"));
	ok = ok && add(cal, icalproperty_new_calscale("GREGORIAN"));
	ok = ok && add(ev, icalproperty_new_uid(v->uid));
	ok = ok && add(ev, icalproperty_new_dtstamp(utc_time(v->dtstamp_ms)));
	ok = ok && add(ev, icalproperty_new_dtstart(utc_time(v->start_ms)));
	ok = ok && add(ev, icalproperty_new_dtend(utc_time(v->end_ms)));
	ok = ok && add(ev, icalproperty_new_sequence(v->sequence));
	ok = ok && add(ev, icalproperty_new_summary(v->summary));
	if (ok && v->description != NULL)
		ok = add(ev, icalproperty_new_description(v->description));
	if (ok && v->url != NULL)
		ok = add(ev, icalproperty_new_url(v->url));
	ok = ok && add(ev, icalproperty_new_status(ICAL_STATUS_CONFIRMED));
	ok = ok && add(ev, icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT));
	icalproperty *org = ok ? icalproperty_new_organizer(v->organizer) : NULL;
	ok = ok && org != NULL && cn_param(org, v->organizer_cn) && add(ev, org);
	icalproperty *att = ok ? icalproperty_new_attendee(v->attendee) : NULL;
	char ps[64];
	snprintf(ps, sizeof ps, "PARTSTAT=%s", v->partstat);
	ok = ok && att != NULL && cn_param(att, v->attendee_cn) &&
	     param(att, "CUTYPE=INDIVIDUAL") && param(att, "ROLE=REQ-PARTICIPANT") &&
	     param(att, ps) && param(att, "RSVP=TRUE") && add(ev, att);
	if (ok && v->change_id != NULL) {
		icalproperty *x = icalproperty_new_x(v->change_id);
		ok = x != NULL;
		if (ok) {
			icalproperty_set_x_name(x, "X-TRANSOM-CHANGE");
			icalcomponent_add_property(ev, x);
		}
	}
	char *out = NULL;
	if (ok) {
		icalcomponent_add_component(cal, ev);
		ev = NULL;
		char *s = icalcomponent_as_ical_string_r(cal);
		if (s != NULL) {
			size_t n = strlen(s);
			if ((out = malloc(n + 1)) != NULL) {
				memcpy(out, s, n + 1);
				if (len_out != NULL)
					*len_out = n;
			}
			icalmemory_free_buffer(s);
		}
	}
	if (ev != NULL)
		icalcomponent_free(ev);
	if (cal != NULL)
		icalcomponent_free(cal);
	if (out == NULL)
		tr_error_set(err, TR_E_NOMEM, NULL, "out of memory building a vote");
	return out;
}

char *cal_vote_build(const struct cal_vote *v, size_t *len_out, struct tr_error *err)
{
	const char *bad = v->uid == NULL || *v->uid == '\0' || has_ctl(v->uid)         ? "uid"
			  : v->summary == NULL                                         ? "summary"
			  : v->organizer == NULL || has_ctl(v->organizer)              ? "organizer"
			  : v->attendee == NULL || has_ctl(v->attendee)                ? "attendee"
			  : !partstat_known(v->partstat)                               ? "partstat"
			  : v->end_ms <= v->start_ms                                   ? "end_ms"
			  : v->sequence < 0                                            ? "sequence"
			  : has_ctl(v->organizer_cn) || has_ctl(v->attendee_cn)        ? "cn"
			  : v->url != NULL && (has_ctl(v->url) || strchr(v->url, ' ')) ? "url"
			  : v->change_id != NULL && has_ctl(v->change_id)              ? "change_id"
										       : NULL;
	if (bad != NULL) {
		tr_error_set(err, TR_E_UNPROCESSABLE, bad, "bad vote member '%s'", bad);
		return NULL;
	}
	cal_lock_enter();
	char *out = build_locked(v, len_out, err);
	cal_lock_leave();
	return out;
}

/* ---- the check of an upload ---------------------------------------------------------------- */

static int errors_in(icalcomponent *c)
{
	int n = icalcomponent_count_properties(c, ICAL_XLICERROR_PROPERTY);
	for (icalcomponent *k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k != NULL;
	     k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
		n += errors_in(k);
	return n;
}

/* An instant in ms (floating times read as UTC); false for a null time. */
static bool instant(struct icaltimetype t, long long *ms)
{
	if (icaltime_is_null_time(t))
		return false;
	icaltimezone *z = (icaltimezone *)t.zone;
	if (t.is_date || z == NULL)
		z = icaltimezone_get_utc_timezone();
	*ms = (long long)icaltime_as_timet_with_zone(t, z) * 1000;
	return true;
}

/* Equal texts, CR LF and CR counted as LF, trailing white space ignored. */
static bool same_text(const char *a, const char *b)
{
	a = a ? a : "";
	b = b ? b : "";
	for (;;) {
		while (*a == '\r')
			a++;
		while (*b == '\r')
			b++;
		if (*a == '\0' || *b == '\0')
			break;
		if (*a != *b)
			return false;
		a++;
		b++;
	}
	while (*a && strchr(" \t\r\n", *a))
		a++;
	while (*b && strchr(" \t\r\n", *b))
		b++;
	return *a == '\0' && *b == '\0';
}

/* Address `v` without "mailto:" (any case), for comparisons. */
static const char *addr(const char *v)
{
	if (v == NULL)
		return "";
	return strncasecmp(v, "mailto:", 7) == 0 ? v + 7 : v;
}

#define WHY(...)                                                                                   \
	do {                                                                                       \
		if (why != NULL && whylen > 0)                                                     \
			snprintf(why, whylen, __VA_ARGS__);                                        \
	} while (0)

static enum cal_vote_verdict check_event(const struct cal_vote *cur, icalcomponent *ev,
					 char partstat[32], char *why, size_t whylen)
{
	long long s = 0, e = 0;
	const char *uid = icalcomponent_get_uid(ev);
	if (uid == NULL || strcmp(uid, cur->uid) != 0) {
		WHY("UID changed");
		return CAL_VOTE_FORBIDDEN;
	}
	if (!instant(icalcomponent_get_dtstart(ev), &s) || s / 1000 != cur->start_ms / 1000) {
		WHY("DTSTART changed");
		return CAL_VOTE_FORBIDDEN;
	}
	if (!instant(icalcomponent_get_dtend(ev), &e) || e / 1000 != cur->end_ms / 1000) {
		WHY("DTEND (or DURATION) changed");
		return CAL_VOTE_FORBIDDEN;
	}
	static const icalproperty_kind recur[] = {ICAL_RRULE_PROPERTY, ICAL_RDATE_PROPERTY,
						  ICAL_EXDATE_PROPERTY, ICAL_RECURRENCEID_PROPERTY};
	for (size_t i = 0; i < sizeof recur / sizeof recur[0]; i++)
		if (icalcomponent_get_first_property(ev, recur[i]) != NULL) {
			WHY("recurrence added");
			return CAL_VOTE_FORBIDDEN;
		}
	if (!same_text(icalcomponent_get_summary(ev), cur->summary)) {
		WHY("SUMMARY changed");
		return CAL_VOTE_FORBIDDEN;
	}
	if (!same_text(icalcomponent_get_description(ev), cur->description)) {
		WHY("DESCRIPTION changed");
		return CAL_VOTE_FORBIDDEN;
	}
	if (!same_text(icalcomponent_get_location(ev), NULL)) {
		WHY("LOCATION changed");
		return CAL_VOTE_FORBIDDEN;
	}
	icalproperty *st = icalcomponent_get_first_property(ev, ICAL_STATUS_PROPERTY);
	if (st != NULL && icalproperty_get_status(st) != ICAL_STATUS_CONFIRMED) {
		WHY("STATUS changed");
		return CAL_VOTE_FORBIDDEN;
	}
	icalproperty *org = icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY);
	if (org == NULL ||
	    strcasecmp(addr(icalproperty_get_organizer(org)), addr(cur->organizer)) != 0 ||
	    icalcomponent_get_next_property(ev, ICAL_ORGANIZER_PROPERTY) != NULL) {
		WHY("ORGANIZER changed");
		return CAL_VOTE_FORBIDDEN;
	}
	icalproperty *mine = NULL;
	for (icalproperty *a = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY);
	     a != NULL; a = icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY)) {
		if (mine != NULL ||
		    strcasecmp(addr(icalproperty_get_attendee(a)), addr(cur->attendee)) != 0) {
			WHY("attendees changed: only %s may be listed", addr(cur->attendee));
			return CAL_VOTE_FORBIDDEN;
		}
		mine = a;
	}
	if (mine == NULL) {
		WHY("the attendee %s was removed", addr(cur->attendee));
		return CAL_VOTE_FORBIDDEN;
	}
	icalparameter *p = icalproperty_get_first_parameter(mine, ICAL_PARTSTAT_PARAMETER);
	const char *ps = p ? icalparameter_enum_to_string(icalparameter_get_partstat(p)) : NULL;
	snprintf(partstat, 32, "%s", ps ? ps : "NEEDS-ACTION");
	if (!partstat_known(partstat)) {
		WHY("PARTSTAT %s is not a vote (ACCEPTED, DECLINED or TENTATIVE)", partstat);
		return CAL_VOTE_FORBIDDEN;
	}
	return strcmp(partstat, cur->partstat) == 0 ? CAL_VOTE_SAME : CAL_VOTE_PARTSTAT;
}

enum cal_vote_verdict cal_vote_check(const struct cal_vote *cur, const char *text, size_t len,
				     char partstat[32], char *why, size_t whylen)
{
	snprintf(partstat, 32, "%s", "NEEDS-ACTION");
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (text == NULL || len == 0 || memchr(text, '\0', len) != NULL) {
		WHY("empty body or NUL byte");
		return CAL_VOTE_INVALID;
	}
	char *buf = malloc(len + 1);
	if (buf == NULL) {
		WHY("out of memory");
		return CAL_VOTE_INVALID;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	enum cal_vote_verdict v = CAL_VOTE_INVALID;
	cal_lock_enter();
	icalcomponent *root = icalparser_parse_string(buf);
	if (root == NULL || icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT)
		WHY("not one VCALENDAR");
	else if (errors_in(root) > 0)
		WHY("iCalendar parse errors");
	else if (icalcomponent_get_first_property(root, ICAL_METHOD_PROPERTY) != NULL)
		WHY("a calendar object resource carries no METHOD (RFC 4791 4.1)");
	else if (icalcomponent_count_components(root, ICAL_VEVENT_COMPONENT) != 1 ||
		 icalcomponent_count_components(root, ICAL_VTODO_COMPONENT) != 0 ||
		 icalcomponent_count_components(root, ICAL_VJOURNAL_COMPONENT) != 0)
		WHY("exactly one VEVENT expected");
	else
		v = check_event(cur, icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT),
				partstat, why, whylen);
	if (root != NULL)
		icalcomponent_free(root);
	cal_lock_leave();
	free(buf);
	return v;
}
