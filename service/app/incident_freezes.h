/*
 * incident_freezes.h -- an open incident of a freezing priority (policies/incidents.json:
 * P1 and P2 by default) is a dynamic hard freeze on its service and, by default, on the
 * services depending on it: the gate denies (rule incident_freeze), the scheduler places
 * nothing there, GET /v1/freezes lists it; it lifts when the incident resolves.  An
 * emergency change naming the incident in fixes_incident is exempt (it is the fix).
 *
 * To the planner an incident freeze is one more hard-freeze calendar instance, from the
 * incident's opening to `hold` beyond now, rounded up to a whole hour (the policy's guess
 * of how long it lasts; each planning decision sees it pushed on while the incident stays
 * open, so the re-plan moves the changes booked just after it at most once an hour).  It
 * concerns production only (incidents name no environment).
 */
#ifndef TRANSOM_APP_INCIDENT_FREEZES_H
#define TRANSOM_APP_INCIDENT_FREEZES_H

#include <jansson.h>
#include <stdbool.h>

#include "app/records.h"
#include "calendar/calendar.h"

/* The uid prefix of an incident freeze's instance: "transom-incident-freeze-INC-7". */
#define INCIDENT_FREEZE_UID "transom-incident-freeze-"

/*
 * The incident freezes in force at c->now_ms: an owned array (empty when none) of
 *   {"uid", "summary", "kind": "freeze", "hard": true, "services": [...], "environments":
 *    ["production"], "start", "end", "start_ms", "end_ms", "incident", "priority",
 *    "service", "title"}
 * -- the shape of a calendar freeze instance (cal_expand), plus the incident.  `end` is
 * now + the policy's hold, up to a whole hour.  A database error is returned as is.
 */
enum db_status incident_freezes_list(const struct rec_ctx *c, json_t **out);

/*
 * Appends the freezes of incident_freezes_list (`freezes`, borrowed: the instances'
 * strings point into it, so it must outlive `l`'s use) to `l` as hard-freeze instances.
 * Returns 0, or -1 on OOM.
 */
int incident_freezes_append(json_t *freezes, struct cal_instances *l);

/*
 * Whether change `record` is exempt from the calendar instance of uid `uid` when that is
 * an incident freeze: an emergency change naming the incident in fixes_incident (with the
 * policy's "emergency": "all", every emergency change).  False for any other instance.
 */
bool incident_freeze_exempt(const struct rec_ctx *c, const char *uid, json_t *record);

/*
 * The incident freezes (owned array, shaped as incident_freezes_list's) that hold the
 * hypothetical or real change `record` (its services, not exempt): what GET /v1/slots
 * shows as "incident_freezes".  Production only.  A database error is returned as is.
 */
enum db_status incident_freezes_holding(const struct rec_ctx *c, json_t *record, json_t **out);

/*
 * The incident freeze (from incident_freezes_list) covering `service` now, as a borrowed
 * member of `freezes`, or NULL.
 */
json_t *incident_freeze_of(json_t *freezes, const char *service);

#endif /* TRANSOM_APP_INCIDENT_FREEZES_H */
