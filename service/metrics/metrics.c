/*
 * metrics.c -- atomic counters behind metrics.h and their Prometheus rendering.
 */
#include "metrics/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TRANSOM_VERSION
#define TRANSOM_VERSION "0.1.0"
#endif

#define STATUS_MIN  100
#define STATUS_SPAN 500 /* 100..599 */

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				 0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

static const char *const gate_decisions[] = {"allow", "wait", "deny", "other"};
static const char *const gate_reasons[] = {
	"refused",       "preparing",         "rejected",      "cancelled",       "over",
	"implementing",  "emergency",         "unschedulable", "window_open",     "booked",
	"window_passed", "awaiting_approval", "state",         "incident_freeze", "other"};
static const char *const alert_outcomes[] = {"opened",   "updated", "deduped", "resolved",
					     "reopened", "linked",  "refused", "other"};
static const char *const silence_events[] = {"created", "expired", "failed", "other"};
#define NALERT_OUTCOMES (sizeof alert_outcomes / sizeof alert_outcomes[0])
#define NSILENCE_EVENTS (sizeof silence_events / sizeof silence_events[0])
#define NGATE_DECISIONS (sizeof gate_decisions / sizeof gate_decisions[0])
#define NGATE_REASONS   (sizeof gate_reasons / sizeof gate_reasons[0])

struct route_series {
	atomic_uint_fast64_t status[STATUS_SPAN];
	atomic_uint_fast64_t bucket[NBUCKETS + 1]; /* the last is +Inf */
	atomic_uint_fast64_t sum_us;               /* total duration, microseconds */
};

struct metrics {
	const char *const *names;
	size_t nroutes;
	struct route_series *routes; /* nroutes + 1 */
	atomic_uint_fast64_t db_errors, db_reconnects, reloads_ok, reloads_failed;
	atomic_uint_fast64_t gate[NGATE_DECISIONS][NGATE_REASONS];
	atomic_uint_fast64_t alerts_received; /* Alertmanager notifications taken in */
	atomic_uint_fast64_t alerts[NALERT_OUTCOMES];
	atomic_uint_fast64_t silences[NSILENCE_EVENTS];
	atomic_uint_fast64_t observed[2];    /* deployments observed outside: [authorized] */
	atomic_uint_fast64_t checkpoint_ms;  /* wall clock of the last checkpoint, 0: none */
	atomic_uint_fast64_t collect_failed; /* failed collections of the metrics job */
	pthread_mutex_t db_lock;             /* guards db_text: held only to swap or copy */
	char *db_text;                       /* the last published snapshot (owned) */
};

struct metrics *metrics_new(const char *const *names, size_t nroutes)
{
	struct metrics *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->routes = calloc(nroutes + 1, sizeof *m->routes);
	if (m->routes == NULL) {
		free(m);
		return NULL;
	}
	m->names = names;
	m->nroutes = nroutes;
	pthread_mutex_init(&m->db_lock, NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->routes);
	pthread_mutex_destroy(&m->db_lock);
	free(m->db_text);
	free(m);
}

void metrics_request(struct metrics *m, size_t route, int status, double seconds)
{
	struct route_series *s = &m->routes[route < m->nroutes ? route : m->nroutes];
	if (status >= STATUS_MIN && status < STATUS_MIN + STATUS_SPAN)
		atomic_fetch_add(&s->status[status - STATUS_MIN], 1);
	size_t b = 0;
	while (b < NBUCKETS && seconds > buckets[b])
		b++;
	atomic_fetch_add(&s->bucket[b], 1);
	atomic_fetch_add(&s->sum_us, (uint_fast64_t)(seconds * 1e6));
}

void metrics_db_error(struct metrics *m)
{
	atomic_fetch_add(&m->db_errors, 1);
}

void metrics_db_reconnect(struct metrics *m)
{
	atomic_fetch_add(&m->db_reconnects, 1);
}

void metrics_reload(struct metrics *m, bool ok)
{
	atomic_fetch_add(ok ? &m->reloads_ok : &m->reloads_failed, 1);
}

/* The index of `word` in `set` of `n` (the last, "other", when absent). */
static size_t index_of(const char *const *set, size_t n, const char *word)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (word != NULL && strcmp(set[i], word) == 0)
			return i;
	return n - 1;
}

void metrics_gate(struct metrics *m, const char *decision, const char *reason)
{
	atomic_fetch_add(&m->gate[index_of(gate_decisions, NGATE_DECISIONS, decision)]
				 [index_of(gate_reasons, NGATE_REASONS, reason)],
			 1);
}

void metrics_alert(struct metrics *m, const char *outcome)
{
	if (outcome == NULL) {
		atomic_fetch_add(&m->alerts_received, 1);
		return;
	}
	atomic_fetch_add(&m->alerts[index_of(alert_outcomes, NALERT_OUTCOMES, outcome)], 1);
}

void metrics_silence(struct metrics *m, const char *event)
{
	atomic_fetch_add(&m->silences[index_of(silence_events, NSILENCE_EVENTS, event)], 1);
}

void metrics_observation(struct metrics *m, bool authorized)
{
	atomic_fetch_add(&m->observed[authorized ? 1 : 0], 1);
}

void metrics_checkpoint(struct metrics *m, double unix_seconds)
{
	atomic_store(&m->checkpoint_ms, (uint_fast64_t)(unix_seconds * 1000.0));
}

/* A growable string for the rendering. */
struct out {
	char *s;
	size_t len, cap;
	bool failed;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	for (int attempt = 0; attempt < 2 && !o->failed; attempt++) {
		va_start(ap, fmt);
		int n = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap + (size_t)n + 1) * 2;
		char *ns = realloc(o->s, cap);
		if (ns == NULL) {
			o->failed = true;
			return;
		}
		o->s = ns;
		o->cap = cap;
	}
}

/* Emits `v` as a label value: backslash, double quote and newline escaped. */
static void emit_label(struct out *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			emit(o, "\\%c", *v);
		else if (*v == '\n')
			emit(o, "\\n");
		else
			emit(o, "%c", *v);
	}
}

/* The string member `key` of `obj`, "" when absent. */
static const char *str_of(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v != NULL ? v : "";
}

static long long num(json_t *stats, const char *key)
{
	return (long long)json_integer_value(json_object_get(stats, key));
}

/*
 * Emits one series of histogram `name` whose label is `label` (NULL: none) = `value`:
 * `le` the cumulative counts at each of `bounds`, `n` the count, `sum` the sum.
 */
static void emit_histogram(struct out *o, const char *name, const char *label, const char *value,
			   json_t *bounds, json_t *le, json_t *n, json_t *sum)
{
	for (size_t k = 0; k <= json_array_size(bounds); k++) {
		emit(o, "%s_bucket{", name);
		if (label != NULL) {
			emit(o, "%s=\"", label);
			emit_label(o, value);
			emit(o, "\",");
		}
		if (k < json_array_size(bounds))
			emit(o, "le=\"%lld\"} %lld\n",
			     (long long)json_integer_value(json_array_get(bounds, k)),
			     (long long)json_integer_value(json_array_get(le, k)));
		else
			emit(o, "le=\"+Inf\"} %lld\n", (long long)json_integer_value(n));
	}
	const char *open = label != NULL ? "{" : "", *close = label != NULL ? "\"}" : "";
	emit(o, "%s_sum%s", name, open);
	if (label != NULL) {
		emit(o, "%s=\"", label);
		emit_label(o, value);
	}
	emit(o, "%s %.3f\n%s_count%s", close, json_number_value(sum), name, open);
	if (label != NULL) {
		emit(o, "%s=\"", label);
		emit_label(o, value);
	}
	emit(o, "%s %lld\n", close, (long long)json_integer_value(n));
}

void metrics_publish_db(struct metrics *m, json_t *stats, double unix_seconds)
{
	if (stats == NULL) {
		atomic_fetch_add(&m->collect_failed, 1);
		return;
	}
	struct out o = {.cap = 4096};
	if ((o.s = malloc(o.cap)) == NULL)
		return;
	o.s[0] = '\0';
	emit(&o, "# HELP transom_changes Changes by type and current state (the final states "
		 "are the outcomes).\n"
		 "# TYPE transom_changes gauge\n");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(stats, "changes"), i, c) {
		emit(&o, "transom_changes{type=\"");
		emit_label(&o, str_of(c, "type"));
		emit(&o, "\",state=\"");
		emit_label(&o, str_of(c, "state"));
		emit(&o, "\"} %lld\n", (long long)json_integer_value(json_object_get(c, "n")));
	}
	emit(&o,
	     "# HELP transom_approvals_pending Changes waiting for approval votes.\n"
	     "# TYPE transom_approvals_pending gauge\n"
	     "transom_approvals_pending %lld\n"
	     "# HELP transom_approvals_oldest_pending_age_seconds How long the oldest change "
	     "has waited for approval votes (0: none waits).\n"
	     "# TYPE transom_approvals_oldest_pending_age_seconds gauge\n"
	     "transom_approvals_oldest_pending_age_seconds %.3f\n"
	     "# HELP transom_webhook_deliveries_pending Webhook deliveries not yet made.\n"
	     "# TYPE transom_webhook_deliveries_pending gauge\n"
	     "transom_webhook_deliveries_pending %lld\n"
	     "# HELP transom_webhook_deliveries_dead Webhook deliveries given up after the last "
	     "attempt.\n"
	     "# TYPE transom_webhook_deliveries_dead gauge\n"
	     "transom_webhook_deliveries_dead %lld\n"
	     "# HELP transom_mail_invitations_pending Calendar invitations not yet sent.\n"
	     "# TYPE transom_mail_invitations_pending gauge\n"
	     "transom_mail_invitations_pending %lld\n"
	     "# HELP transom_mail_invitations_dead Calendar invitations given up.\n"
	     "# TYPE transom_mail_invitations_dead gauge\n"
	     "transom_mail_invitations_dead %lld\n"
	     "# HELP transom_outbox_backlog Outbox events not yet fanned out.\n"
	     "# TYPE transom_outbox_backlog gauge\n"
	     "transom_outbox_backlog %lld\n"
	     "# HELP transom_metrics_collected_timestamp_seconds When the database figures "
	     "above were read.\n"
	     "# TYPE transom_metrics_collected_timestamp_seconds gauge\n"
	     "transom_metrics_collected_timestamp_seconds %.3f\n",
	     num(stats, "approvals_pending"),
	     json_number_value(json_object_get(stats, "approvals_oldest_seconds")),
	     num(stats, "webhook_pending"), num(stats, "webhook_dead"), num(stats, "mail_pending"),
	     num(stats, "mail_dead"), num(stats, "outbox_backlog"), unix_seconds);
	json_t *wins = json_object_get(stats, "windows");
	static const char *const win_families[][3] = {
		{"transom_window_capacity_seconds", "capacity_seconds",
		 "Seconds a window offers in the next 7 days (duration times capacity)."},
		{"transom_window_booked_seconds", "booked_seconds",
		 "Seconds booked by changes in a window in the next 7 days."},
	};
	for (size_t f = 0; f < 2; f++) {
		emit(&o, "# HELP %s %s\n# TYPE %s gauge\n", win_families[f][0], win_families[f][2],
		     win_families[f][0]);
		json_array_foreach(wins, i, c) {
			emit(&o, "%s{window=\"", win_families[f][0]);
			emit_label(&o, str_of(c, "window"));
			emit(&o, "\"} %.3f\n",
			     json_number_value(json_object_get(c, win_families[f][1])));
		}
	}
	emit(&o,
	     "# HELP transom_window_utilization_ratio Booked over offered seconds of a window in "
	     "the next 7 days.\n"
	     "# TYPE transom_window_utilization_ratio gauge\n");
	json_array_foreach(wins, i, c) {
		double cap = json_number_value(json_object_get(c, "capacity_seconds"));
		if (cap <= 0)
			continue;
		emit(&o, "transom_window_utilization_ratio{window=\"");
		emit_label(&o, str_of(c, "window"));
		emit(&o, "\"} %.4f\n",
		     json_number_value(json_object_get(c, "booked_seconds")) / cap);
	}
	json_t *lead = json_object_get(stats, "lead_time");
	emit(&o, "# HELP transom_change_lead_time_seconds From creation to the final state, of "
		 "the changes in a final state, by that state (the outcome).\n"
		 "# TYPE transom_change_lead_time_seconds histogram\n");
	json_array_foreach(json_object_get(lead, "series"), i, c) {
		emit_histogram(&o, "transom_change_lead_time_seconds", "outcome",
			       str_of(c, "outcome"), json_object_get(lead, "buckets"),
			       json_object_get(c, "le"), json_object_get(c, "n"),
			       json_object_get(c, "sum"));
	}
	json_t *appr = json_object_get(stats, "approval_latency");
	emit(&o, "# HELP transom_approval_latency_seconds From the approval request to the last "
		 "vote, of the changes whose approvals were decided by votes.\n"
		 "# TYPE transom_approval_latency_seconds histogram\n");
	if (json_is_object(appr))
		emit_histogram(&o, "transom_approval_latency_seconds", NULL, NULL,
			       json_object_get(appr, "buckets"), json_object_get(appr, "le"),
			       json_object_get(appr, "n"), json_object_get(appr, "sum"));
	if (o.failed) {
		free(o.s);
		return;
	}
	pthread_mutex_lock(&m->db_lock);
	char *old = m->db_text;
	m->db_text = o.s;
	pthread_mutex_unlock(&m->db_lock);
	free(old);
}

char *metrics_render(const struct metrics *m, bool definitions_ok, json_t *remote)
{
	struct out o = {.cap = 16384};
	o.s = malloc(o.cap);
	if (o.s == NULL)
		return NULL;
	o.s[0] = '\0';

	emit(&o,
	     "# HELP transom_build_info Build information.\n"
	     "# TYPE transom_build_info gauge\n"
	     "transom_build_info{version=\"%s\"} 1\n",
	     TRANSOM_VERSION);
	emit(&o, "# HELP transom_http_requests_total HTTP requests by route and status.\n"
		 "# TYPE transom_http_requests_total counter\n");
	for (size_t r = 0; r <= m->nroutes; r++) {
		const char *name = r < m->nroutes ? m->names[r] : "unmatched";
		for (int st = 0; st < STATUS_SPAN; st++) {
			uint_fast64_t n = atomic_load(&m->routes[r].status[st]);
			if (n > 0)
				emit(&o,
				     "transom_http_requests_total{route=\"%s\",status=\"%d\"} "
				     "%llu\n",
				     name, st + STATUS_MIN, (unsigned long long)n);
		}
	}
	emit(&o, "# HELP transom_http_request_duration_seconds Request duration by route.\n"
		 "# TYPE transom_http_request_duration_seconds histogram\n");
	for (size_t r = 0; r <= m->nroutes; r++) {
		const struct route_series *s = &m->routes[r];
		const char *name = r < m->nroutes ? m->names[r] : "unmatched";
		unsigned long long cum = 0;
		for (size_t b = 0; b <= NBUCKETS; b++)
			cum += atomic_load(&s->bucket[b]);
		if (cum == 0)
			continue;
		cum = 0;
		for (size_t b = 0; b <= NBUCKETS; b++) {
			cum += atomic_load(&s->bucket[b]);
			if (b < NBUCKETS)
				emit(&o,
				     "transom_http_request_duration_seconds_bucket{route=\"%s\","
				     "le=\"%g\"} %llu\n",
				     name, buckets[b], cum);
			else
				emit(&o,
				     "transom_http_request_duration_seconds_bucket{route=\"%s\","
				     "le=\"+Inf\"} %llu\n",
				     name, cum);
		}
		emit(&o, "transom_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
		     (double)atomic_load(&s->sum_us) / 1e6);
		emit(&o, "transom_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
		     cum);
	}
	emit(&o,
	     "# HELP transom_db_errors_total Database errors seen by requests.\n"
	     "# TYPE transom_db_errors_total counter\n"
	     "transom_db_errors_total %llu\n"
	     "# HELP transom_db_reconnects_total Database connections re-established.\n"
	     "# TYPE transom_db_reconnects_total counter\n"
	     "transom_db_reconnects_total %llu\n",
	     (unsigned long long)atomic_load(&m->db_errors),
	     (unsigned long long)atomic_load(&m->db_reconnects));
	emit(&o,
	     "# HELP transom_definitions_reloads_total Reloads of workflows and policies.\n"
	     "# TYPE transom_definitions_reloads_total counter\n"
	     "transom_definitions_reloads_total{result=\"ok\"} %llu\n"
	     "transom_definitions_reloads_total{result=\"failed\"} %llu\n"
	     "# HELP transom_definitions_valid Whether the files on disk loaded at the last "
	     "(re)load.\n"
	     "# TYPE transom_definitions_valid gauge\n"
	     "transom_definitions_valid %d\n",
	     (unsigned long long)atomic_load(&m->reloads_ok),
	     (unsigned long long)atomic_load(&m->reloads_failed), definitions_ok ? 1 : 0);
	/* One family at a time (Prometheus wants a family's samples together), named even
	 * without remote calendars so that rules and dashboards can refer to them. */
	size_t i;
	json_t *r;
	emit(&o, "# HELP transom_remote_calendar_up Whether the last fetch of a remote "
		 "calendar succeeded.\n"
		 "# TYPE transom_remote_calendar_up gauge\n");
	json_array_foreach(remote, i, r) {
		emit(&o, "transom_remote_calendar_up{name=\"");
		emit_label(&o, str_of(r, "name"));
		emit(&o, "\"} %d\n", json_is_true(json_object_get(r, "ok")) ? 1 : 0);
	}
	emit(&o, "# HELP transom_remote_calendar_last_success_seconds When a remote "
		 "calendar was last fetched successfully (0: never).\n"
		 "# TYPE transom_remote_calendar_last_success_seconds gauge\n");
	json_array_foreach(remote, i, r) {
		emit(&o, "transom_remote_calendar_last_success_seconds{name=\"");
		emit_label(&o, str_of(r, "name"));
		emit(&o, "\"} %.3f\n",
		     (double)json_integer_value(json_object_get(r, "last_success_ms")) / 1000.0);
	}
	emit(&o, "# HELP transom_gate_decisions_total Answers of the deployment gate by decision "
		 "and reason.\n"
		 "# TYPE transom_gate_decisions_total counter\n");
	for (size_t d = 0; d < NGATE_DECISIONS; d++)
		for (size_t g = 0; g < NGATE_REASONS; g++) {
			uint_fast64_t n = atomic_load(&m->gate[d][g]);
			if (n > 0)
				emit(&o,
				     "transom_gate_decisions_total{decision=\"%s\",reason=\"%s\"} "
				     "%llu\n",
				     gate_decisions[d], gate_reasons[g], (unsigned long long)n);
		}
	emit(&o,
	     "# HELP transom_alerts_received_total Alertmanager notifications (alert groups) "
	     "taken in.\n"
	     "# TYPE transom_alerts_received_total counter\n"
	     "transom_alerts_received_total %llu\n"
	     "# HELP transom_alerts_total What Alertmanager notifications did: opened, updated, "
	     "deduped, resolved or reopened an incident, linked to a change, refused.\n"
	     "# TYPE transom_alerts_total counter\n",
	     (unsigned long long)atomic_load(&m->alerts_received));
	for (size_t k = 0; k < NALERT_OUTCOMES; k++)
		emit(&o, "transom_alerts_total{outcome=\"%s\"} %llu\n", alert_outcomes[k],
		     (unsigned long long)atomic_load(&m->alerts[k]));
	emit(&o, "# HELP transom_silences_total Maintenance silences in Alertmanager: created, "
		 "expired, and failed calls (retried).\n"
		 "# TYPE transom_silences_total counter\n");
	for (size_t k = 0; k < NSILENCE_EVENTS; k++)
		emit(&o, "transom_silences_total{event=\"%s\"} %llu\n", silence_events[k],
		     (unsigned long long)atomic_load(&m->silences[k]));
	emit(&o,
	     "# HELP transom_observed_deployments_total Deployments observed outside Transom "
	     "(GitHub deployment_status, POST /v1/observations) that this replica judged, by "
	     "whether a change authorized them.\n"
	     "# TYPE transom_observed_deployments_total counter\n"
	     "transom_observed_deployments_total{authorized=\"true\"} %llu\n"
	     "transom_observed_deployments_total{authorized=\"false\"} %llu\n",
	     (unsigned long long)atomic_load(&m->observed[1]),
	     (unsigned long long)atomic_load(&m->observed[0]));
	emit(&o,
	     "# HELP transom_audit_checkpoint_last_timestamp_seconds When this replica last "
	     "wrote a signed audit checkpoint (0: none yet).\n"
	     "# TYPE transom_audit_checkpoint_last_timestamp_seconds gauge\n"
	     "transom_audit_checkpoint_last_timestamp_seconds %.3f\n"
	     "# HELP transom_metrics_collection_failures_total Failed reads of the database "
	     "figures by the metrics job.\n"
	     "# TYPE transom_metrics_collection_failures_total counter\n"
	     "transom_metrics_collection_failures_total %llu\n",
	     (double)atomic_load(&m->checkpoint_ms) / 1000.0,
	     (unsigned long long)atomic_load(&m->collect_failed));
	struct metrics *mm = (struct metrics *)m; /* the lock, not the figures, changes */
	pthread_mutex_lock(&mm->db_lock);
	if (mm->db_text != NULL)
		emit(&o, "%s", mm->db_text);
	pthread_mutex_unlock(&mm->db_lock);
	if (o.failed) {
		free(o.s);
		return NULL;
	}
	return o.s;
}
