/*
 * reports.h -- the reports use case (GET /v1/reports/{name}): how changes and incidents
 * went over time, per day, week or month, as named columns and rows a client can draw or
 * save as CSV.  Change managers and admins read them (the route says so): they run the
 * change process, and the figures span every team's changes.
 */
#ifndef TRANSOM_APP_REPORTS_H
#define TRANSOM_APP_REPORTS_H

#include <jansson.h>

#include "app/session.h"
#include "core/err.h"

/* The reports' names, for the API description and the web app. */
extern const char *const app_report_names[];

/*
 * Report `name` over [from, to) by `bucket` (each may be NULL = not given): `from`, `to`
 * RFC 3339 times or dates (2026-12-05, midnight UTC), by default the 12 weeks up to now;
 * `bucket` "day", "week" (default) or "month", at most 400 buckets.  *out (owned):
 * {"report", "title", "from", "to", "bucket", "columns": [{"name", "title", "unit"}],
 * "rows": [[bucket start date, figures...]]}.  TR_E_NOT_FOUND (field "name") for an
 * unknown report, TR_E_BAD_PARAMETER naming the field, 503 when the database fails.
 */
enum tr_code app_report(struct app_session *s, const struct app_actor *who, const char *name,
			const char *from, const char *to, const char *bucket, json_t **out,
			struct tr_error *err);

#endif /* TRANSOM_APP_REPORTS_H */
