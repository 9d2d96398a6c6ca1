/*
 * ops_stats.c -- the database figures of /metrics, read and shaped for the metrics
 * module: lead-time and approval-latency histograms, and window utilisation (see
 * ops_stats.h).
 */
#include "app/ops_stats.h"

#include <string.h>

#include "core/log.h"
#include "defs/defs.h"
#include "store/ops_stats.h"
#include "wf/wf.h"

static json_t *buckets_json(const long long *b, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_integer(b[i]));
	return a;
}

/*
 * Replaces stats["lead"] (every workflow and state) by stats["lead_time"], the histogram
 * of the changes in a final state of their workflow, one series per final state (the
 * outcome): {"buckets", "series": [{"outcome", "n", "sum", "le"}]}; and stats["approval"]
 * by stats["approval_latency"], {"buckets", "n", "sum", "le"}.
 */
static void shape_histograms(json_t *stats, const struct defs *d)
{
	static const long long lead_b[] = OPS_LEAD_BUCKETS, appr_b[] = OPS_APPROVAL_BUCKETS;
	json_t *series = json_object(); /* outcome -> {n, sum, le} */
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(stats, "lead"), i, row) {
		const char *wname = json_string_value(json_object_get(row, "workflow"));
		const char *state = json_string_value(json_object_get(row, "state"));
		const struct wf *wf = d && wname ? wf_set_find(d->workflows, wname) : NULL;
		if (wf == NULL || state == NULL || !wf_state_final(wf, state))
			continue;
		json_t *acc = json_object_get(series, state);
		if (acc == NULL) {
			json_t *zeros = json_array();
			for (size_t k = 0; k < json_array_size(json_object_get(row, "le")); k++)
				json_array_append_new(zeros, json_integer(0));
			acc = json_pack("{s:s, s:i, s:f, s:o}", "outcome", state, "n", 0, "sum",
					0.0, "le", zeros);
			if (acc == NULL)
				continue;
			json_object_set_new(series, state, acc);
		}
		json_object_set_new(acc, "n",
				    json_integer(json_integer_value(json_object_get(acc, "n")) +
						 json_integer_value(json_object_get(row, "n"))));
		json_object_set_new(acc, "sum",
				    json_real(json_number_value(json_object_get(acc, "sum")) +
					      json_number_value(json_object_get(row, "sum"))));
		json_t *le = json_object_get(acc, "le");
		for (size_t k = 0; k < json_array_size(le); k++)
			json_array_set_new(le, k,
					   json_integer(json_integer_value(json_array_get(le, k)) +
							json_integer_value(json_array_get(
								json_object_get(row, "le"), k))));
	}
	json_t *list = json_array();
	const char *key;
	json_t *v;
	json_object_foreach(series, key, v)
		json_array_append(list, v);
	json_decref(series);
	json_object_set_new(stats, "lead_time",
			    json_pack("{s:o, s:o}", "buckets",
				      buckets_json(lead_b, sizeof lead_b / sizeof lead_b[0]),
				      "series", list));
	json_object_del(stats, "lead");
	json_t *a = json_deep_copy(json_object_get(stats, "approval"));
	if (json_is_object(a)) {
		json_object_set_new(a, "buckets",
				    buckets_json(appr_b, sizeof appr_b / sizeof appr_b[0]));
		json_object_set_new(stats, "approval_latency", a);
	} else {
		json_decref(a);
	}
	json_object_del(stats, "approval");
}

#define UTIL_HORIZON_MS (7LL * 24 * 3600 * 1000) /* the booked seconds cover 7 days, too */

/*
 * Replaces stats["booked"] by stats["windows"]: per window of the definitions, the
 * seconds it offers in the next 7 days from `now_ms` (duration x capacity of each
 * instance) and the seconds booked in it, [{"window", "capacity_seconds",
 * "booked_seconds"}].
 */
static void shape_windows(json_t *stats, const struct defs *d, long long now_ms)
{
	json_t *by = json_object(); /* uid -> {window, capacity_seconds, booked_seconds} */
	json_t *inst = d ? defs_instances(d, now_ms, now_ms + UTIL_HORIZON_MS) : NULL;
	size_t i;
	json_t *x;
	json_array_foreach(inst, i, x) {
		const char *kind = json_string_value(json_object_get(x, "kind"));
		const char *uid = json_string_value(json_object_get(x, "uid"));
		if (kind == NULL || strcmp(kind, "window") != 0 || uid == NULL)
			continue;
		long long start = json_integer_value(json_object_get(x, "start_ms"));
		long long end = json_integer_value(json_object_get(x, "end_ms"));
		long long cap = json_integer_value(json_object_get(x, "capacity"));
		start = start < now_ms ? now_ms : start;
		double secs = end > start
				      ? (double)(end - start) / 1000.0 * (double)(cap > 1 ? cap : 1)
				      : 0.0;
		json_t *w = json_object_get(by, uid);
		if (w == NULL) {
			w = json_pack("{s:s, s:f, s:f}", "window", uid, "capacity_seconds", 0.0,
				      "booked_seconds", 0.0);
			if (w == NULL)
				continue;
			json_object_set_new(by, uid, w);
		}
		json_object_set_new(
			w, "capacity_seconds",
			json_real(json_number_value(json_object_get(w, "capacity_seconds")) +
				  secs));
	}
	json_decref(inst);
	json_array_foreach(json_object_get(stats, "booked"), i, x) {
		json_t *w = json_object_get(by, json_string_value(json_object_get(x, "window")));
		if (w != NULL) /* a window no longer defined offers nothing to measure against */
			json_object_set_new(
				w, "booked_seconds",
				json_real(json_number_value(json_object_get(x, "secs"))));
	}
	json_t *list = json_array();
	const char *key;
	json_object_foreach(by, key, x)
		json_array_append(list, x);
	json_decref(by);
	json_object_set_new(stats, "windows", list);
	json_object_del(stats, "booked");
}

json_t *app_ops_stats(struct app_session *s, long long now_ms)
{
	json_t *stats = NULL;
	enum db_status st = store_ops_stats(s->store, &stats);
	if (st != DB_ONE) {
		LOG_WARN("event=metrics_collect_failed error=\"%s\"", store_last_error(s->store));
		json_decref(stats);
		return NULL;
	}
	struct defs *d = app_session_defs(s);
	shape_histograms(stats, d);
	shape_windows(stats, d, now_ms);
	return stats;
}
