/*
 * set_int.h -- internals of a parsed calendar set, shared by calendar.c (helpers, the set's
 * lifetime), parse.c (reading iCalendar into a set) and expand.c (instances of a set);
 * not for other modules.  Every libical call runs under the module lock (cal_int.h).
 */
#ifndef TRANSOM_CAL_SET_INT_H
#define TRANSOM_CAL_SET_INT_H

#include <jansson.h>
#include <libical/ical.h>
#include <stdbool.h>
#include <stddef.h>

#include "calendar/calendar.h"

enum cal_kind {
	CAL_NONE = 0, /* no category (an override inherits its master's) */
	CAL_WINDOW,   /* MAINTENANCE-WINDOW */
	CAL_FREEZE,   /* FREEZE */
	CAL_MEETING   /* CAB-MEETING */
};

/* Mapped properties of one VEVENT. */
struct cal_meta {
	enum cal_kind kind;
	int hard;         /* -1 unset */
	long capacity;    /* 0 unset */
	json_t *services; /* owned; NULL unset */
	json_t *envs;     /* X-TRANSOM-ENVIRONMENTS, owned; NULL unset (production) */
	char *summary;    /* owned; NULL unset */
};

struct cal_event {
	icalcomponent *comp; /* borrowed from the set's root */
	char *uid;
	struct cal_meta meta;
	char *tzid;     /* DTSTART's TZID when it names a zone libical knows by IANA name */
	bool cancelled; /* STATUS:CANCELLED */
	long master;    /* overrides: index of the master in events[], else -1 */
	bool is_override;
};

/* How a file's times are read: its VTIMEZONEs, and the zone of floating times and dates. */
struct zctx {
	icalcomponent *root;    /* the VCALENDAR (its VTIMEZONEs) */
	icaltimezone *floating; /* floating DATE-TIMEs and DATEs; NULL = UTC */
};

struct cal_set {
	icalcomponent *root;
	struct zctx zc;
	struct cal_event *ev;
	size_t n;
	json_t *warnings; /* owned: array of "file: VEVENT[i] (UID x): message" strings */
};

/* ---- calendar.c ---- */

bool cal_fix_zone(const struct zctx *zc, icalproperty *p, struct icaltimetype *t);
int cal_offset_at_utc(icaltimezone *zone, long long secs);
long long cal_time_ms(struct icaltimetype t);
void cal_rfc3339(long long ms, char *buf, size_t size);
void cal_meta_clear(struct cal_meta *m);
void cal_loc_of(char *buf, size_t size, size_t index, const char *uid);
const char *cal_prop_text(icalproperty *p);
icalproperty *cal_x_prop(icalcomponent *c, const char *name, int *count);
char *cal_trim(char *s);
bool cal_service_name_ok(const char *s);
bool cal_env_name_ok(const char *s);
icaltimezone *cal_builtin_zone(const char *tzid);
void cal_set_free_locked(struct cal_set *set);

/* ---- parse.c ---- */

bool cal_rule_starts_at(struct icalrecurrencetype r, struct icaltimetype st);

#endif /* TRANSOM_CAL_SET_INT_H */
