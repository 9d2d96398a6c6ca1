/*
 * reports.c -- the reports use case (see reports.h): checks the period and bucket, takes
 * the figures from store/reports.c and names their columns.
 */
#include "app/reports.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/timeutil.h"
#include "store/reports.h"

#define DAY_MS     86400000LL
#define MAX_BUCKET 400

struct report_def {
	const char *name, *title;
	enum store_report_kind kind;
	const char *columns[6][3]; /* name, title, unit; after the bucket column */
};

static const struct report_def reports[] = {
	{"change-success",
	 "Change success rate",
	 STORE_REPORT_CHANGE_SUCCESS,
	 {{"carried_out", "Carried out", "changes"},
	  {"succeeded", "Succeeded", "changes"},
	  {"failed", "Failed", "changes"}}},
	{"lead-time",
	 "Lead time (created to carried out)",
	 STORE_REPORT_LEAD_TIME,
	 {{"changes", "Changes", "changes"},
	  {"mean_hours", "Mean", "hours"},
	  {"median_hours", "Median", "hours"}}},
	{"risk-levels",
	 "Changes by risk level",
	 STORE_REPORT_RISK_LEVELS,
	 {{"low", "Low", "changes"},
	  {"medium", "Medium", "changes"},
	  {"high", "High", "changes"},
	  {"critical", "Critical", "changes"},
	  {"unassessed", "Not assessed", "changes"}}},
	{"change-incidents",
	 "Change-caused incidents",
	 STORE_REPORT_CHANGE_INCIDENTS,
	 {{"incidents", "Incidents", "incidents"},
	  {"change_caused", "Caused by a change", "incidents"}}},
	{"approval-latency",
	 "Approval latency (authorize to approved)",
	 STORE_REPORT_APPROVAL_LATENCY,
	 {{"approved", "Approved", "changes"},
	  {"mean_hours", "Mean", "hours"},
	  {"median_hours", "Median", "hours"}}},
	{"gate-decisions",
	 "Deployment gate decisions",
	 STORE_REPORT_GATE_DECISIONS,
	 {{"requested", "Asked for", "deployments"},
	  {"denied", "Denied", "deployments"},
	  {"succeeded", "Succeeded", "deployments"},
	  {"failed", "Failed", "deployments"},
	  {"expired", "Lease expired", "deployments"},
	  {"open", "Open", "deployments"}}},
};

const char *const app_report_names[] = {
	"change-success",   "lead-time",      "risk-levels", "change-incidents",
	"approval-latency", "gate-decisions", NULL};

enum tr_code app_report(struct app_session *s, const struct app_actor *who, const char *name,
			const char *from, const char *to, const char *bucket, json_t **out,
			struct tr_error *err)
{
	const struct report_def *r = NULL;
	*out = NULL;
	for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++)
		if (name != NULL && strcmp(reports[i].name, name) == 0)
			r = &reports[i];
	if (r == NULL)
		return tr_error_set(err, TR_E_NOT_FOUND, "name",
				    "no report '%s': change-success, lead-time, risk-levels, "
				    "change-incidents, approval-latency or gate-decisions",
				    name ? name : "");
	if (bucket == NULL)
		bucket = "week";
	long long width = strcmp(bucket, "day") == 0     ? DAY_MS
			  : strcmp(bucket, "week") == 0  ? 7 * DAY_MS
			  : strcmp(bucket, "month") == 0 ? 28 * DAY_MS
							 : 0;
	if (width == 0)
		return tr_error_set(err, TR_E_BAD_PARAMETER, "bucket",
				    "'bucket' must be day, week or month");
	long long to_ms = clock_now_ms(), from_ms;
	if (!app_time_arg("to", to, &to_ms, err))
		return err->code;
	from_ms = to_ms - 84 * DAY_MS;
	if (!app_time_arg("from", from, &from_ms, err))
		return err->code;
	if (to_ms <= from_ms)
		return tr_error_set(err, TR_E_BAD_PARAMETER, "to",
				    "'to' must be later than 'from'");
	if ((to_ms - from_ms) / width > MAX_BUCKET)
		return tr_error_set(err, TR_E_BAD_PARAMETER, "to",
				    "at most %d buckets: choose a shorter period or a wider bucket",
				    MAX_BUCKET);
	json_t *rows;
	int st = store_report(s->store, r->kind, bucket, from_ms, to_ms, &rows);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	json_t *cols = json_array();
	json_array_append_new(cols, json_pack("{s:s, s:s, s:s}", "name", "bucket", "title", "From",
					      "unit", "date"));
	for (size_t c = 0; c < 6 && r->columns[c][0] != NULL; c++)
		json_array_append_new(cols, json_pack("{s:s, s:s, s:s}", "name", r->columns[c][0],
						      "title", r->columns[c][1], "unit",
						      r->columns[c][2]));
	char f[TIME_RFC3339_LEN], t[TIME_RFC3339_LEN];
	time_format_ms(from_ms, f);
	time_format_ms(to_ms, t);
	*out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "report", r->name, "title",
			 r->title, "from", f, "to", t, "bucket", bucket, "columns", cols, "rows",
			 rows);
	return *out != NULL ? TR_OK : tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
}
