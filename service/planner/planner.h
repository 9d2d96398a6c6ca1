/*
 * planner.h -- the scheduler core (sched/) applied to Transom's data: expanded calendar
 * instances, stored bookings, the service catalog and change records.
 *
 * The calendar module turns iCalendar into instances (struct cal_instance), the store
 * lists bookings; this module resolves which services each window applies to (a name in
 * X-TRANSOM-SERVICES may be a service or a maintenance calendar of the catalog, "*" all),
 * builds the scheduler's index and answers in JSON.  Pure: no I/O, no clock (`now_ms` is passed).
 *
 * Thread-safety: a `struct planner` is used by one thread at a time.
 */
#ifndef TRANSOM_PLANNER_H
#define TRANSOM_PLANNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "calendar/calendar.h"
#include "sched/sched.h"

struct policy_catalog;
struct planner;

/*
 * Builds a planner.  `instances` (borrowed; cal_expand_list()): the windows and freezes
 * that concern `environment` (NULL: production; see planner_env_applies()) are used,
 * other instances ignored; the list may be cleared once this returns, but the calendar
 * sets its strings point into must outlive the planner.  `bookings` (borrowed; copied, in
 * a compact form): [{"change", "services": [..], "start_ms", "end_ms", "window_uid"}]; the
 * booking of change `exclude` (may be NULL) is left out, so that change can be placed
 * again.  `catalog` (may be NULL: only equal services conflict, calendar names are not
 * resolved) must outlive the planner.  `horizon_ms` 0 means the scheduler's default.
 * Returns an owned planner, or NULL when out of memory.
 */
struct planner *planner_new(const struct cal_instances *instances, const char *environment,
			    json_t *bookings, const struct policy_catalog *catalog,
			    const char *exclude, int64_t horizon_ms);

/* Frees `p`; NULL is a no-op. */
void planner_free(struct planner *p);

/*
 * Takes change `change`'s booking out of `p`: afterwards `p` answers as a planner made
 * with `exclude` = change would.  *was (may be NULL) receives that booking (owned; NULL
 * when it had none) in the shape of planner_new()'s `bookings`.  Returns 0, or -1 when
 * out of memory (then free `p`).  O(bookings of its services + uses of its instances).
 */
int planner_booking_remove(struct planner *p, const char *change, json_t **was);

/*
 * Puts booking `booking` ({"services", "start_ms", "end_ms", "window_uid"}, borrowed;
 * copied) of change `change` into `p` (replacing the one it had), as if planner_new()
 * had read it from its `bookings`: so a re-plan pass keeps one planner and moves each
 * change in it rather than making a planner per change.  Returns 0, or -1 when out of
 * memory (then free `p`).
 */
int planner_booking_add(struct planner *p, const char *change, json_t *booking);

/* The environment of a change that names none, and of windows and freezes that name none. */
#define PLANNER_DEFAULT_ENV "production"

/*
 * Whether calendar instance `inst` (borrowed) concerns `environment` (NULL: production):
 * its "environments" (X-TRANSOM-ENVIRONMENTS) name it, or it names none and the
 * environment is production.
 */
bool planner_env_applies(json_t *inst, const char *environment);

/* What a change asks of the scheduler. */
struct planner_request {
	const char *id;      /* the change ("CHG-12"), or NULL for a hypothetical one */
	json_t *services;    /* array of service names (borrowed) */
	int64_t duration_ms; /* > 0 */
	int64_t not_before_ms, not_after_ms; /* 0: unbounded */
	bool emergency;                      /* ignores windows (respect_window false) */
	bool break_glass;                    /* emergency only: may cross a hard freeze */
};

/*
 * Reads a request from a change record: services, duration (ISO 8601; `default_ms` when
 * absent), not_before and not_after (RFC 3339).  `emergency` is set by the caller.
 * Returns false when the record has no service or a malformed duration or time; `why`
 * (at least 128 bytes) then names the field.
 */
bool planner_request_from(json_t *change, const char *id, int64_t default_ms,
			  struct planner_request *rq, char *why, size_t why_size);

/*
 * Up to `count` (1..50) candidate slots for `rq`, earliest first.  Returns SCHED_OK with
 * *out = {"slots": [slot...], "skipped": [{"window", "start", "end", "reason"}]} (the
 * window instances the search passed over before the first slot), SCHED_NO_SLOT with *out =
 * {"slots": [], "reasons":
 * [{"window", "start", "end", "reason"}]}, or an error (SCHED_ERR_INVALID, SCHED_ERR_OOM)
 * with *out NULL.  A slot is
 *   {"start", "end", "start_ms", "end_ms", "window": {"uid", "summary", "start", "end"} |
 *    null, "soft_freeze": name | null, "broken_freeze": name | null}
 */
enum sched_status planner_slots(struct planner *p, const struct planner_request *rq, int64_t now_ms,
				size_t count, json_t **out);

/*
 * Whether `rq` may still run at exactly [start_ms, start_ms + duration): the slot the
 * scheduler finds from start_ms starts there.  For re-planning after a calendar changed.
 * *soft_freeze (may be NULL) receives the soft freeze that slot lies in, or NULL
 * (borrowed from the planner's input).
 */
bool planner_slot_still_legal(struct planner *p, const struct planner_request *rq, int64_t start_ms,
			      int64_t now_ms, const char **soft_freeze);

/* ---- policies/calendars.json -------------------------------------------------------------- */

/* One remote calendar whose events are read as freezes. */
struct planner_remote {
	char *name;       /* ^[a-z0-9][a-z0-9-]*$, names the cached copy */
	char *url;        /* http:// or https:// (webcal:// and webcals:// read as https://) */
	bool hard;        /* "hardness": "hard" (default) or "soft" */
	json_t *services; /* "*" or an array of names (owned) */
	long refresh_s;   /* "refresh": ISO 8601 duration, default PT6H, at least PT1M */
	long timeout_ms;  /* "timeout": ISO 8601 duration, default PT10S */
	char *timezone;   /* "timezone": zone of its floating times and dates, or NULL */
};

/* The scheduling settings.  Defaults when the file is absent. */
struct planner_config {
	int64_t horizon_ms;          /* "horizon_days", default 180, 1..400 */
	int64_t default_duration_ms; /* "default_duration", default PT1H */
	char *timezone; /* "timezone": the site zone of floating times and dates, or NULL (UTC) */
	struct planner_remote *remote;
	size_t n_remote;
};

/*
 * Parses policies/calendars.json (`text` may be NULL: the defaults).  Returns an owned
 * config, or NULL with every error appended to `diags` as "file: json.path: message".
 */
struct diags;
struct planner_config *planner_config_parse(const char *file, const char *text, size_t len,
					    struct diags *diags);
void planner_config_free(struct planner_config *cfg);

/* Whether window or freeze instance `inst` (a cal_expand object) applies to `service`. */
bool planner_applies(const struct policy_catalog *catalog, json_t *inst, const char *service);

/* planner_applies of an instance whose "services" member is `svcs` (borrowed; may be NULL). */
bool planner_applies_services(const struct policy_catalog *catalog, const json_t *svcs,
			      const char *service);

#endif /* TRANSOM_PLANNER_H */
