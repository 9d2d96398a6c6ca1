/*
 * test_metrics_render.c -- the Prometheus rendering: one family's samples together, label values
 * escaped, the database snapshot published by the metrics job and kept when a read fails.
 */
#include <jansson.h>
#include <string.h>

#include "harness.h"
#include "metrics/metrics.h"

static const char *const routes[] = {"/healthz"};

static char *render_with_two_calendars(struct metrics *m)
{
	json_t *remote = json_pack("[{s:s, s:b, s:I}, {s:s, s:b, s:I}]", "name", "say \"hi\"\\",
				   "ok", 1, "last_success_ms", (json_int_t)1500, "name", "b", "ok",
				   0, "last_success_ms", (json_int_t)0);
	char *text = metrics_render(m, true, remote);
	json_decref(remote);
	return text;
}

static void test_a_familys_samples_are_together(void)
{
	struct metrics *m = metrics_new(routes, 1);
	char *text = render_with_two_calendars(m);
	CHECK(text != NULL);
	const char *up_b = strstr(text, "transom_remote_calendar_up{name=\"b\"} 0\n");
	const char *last_type =
		strstr(text, "# TYPE transom_remote_calendar_last_success_seconds gauge\n");
	const char *last_first = strstr(text, "transom_remote_calendar_last_success_seconds{");
	CHECK(up_b != NULL && last_type != NULL && last_first != NULL);
	/* Every _up sample comes before the next family's TYPE line, whose samples follow it. */
	CHECKF(up_b < last_type && last_type < last_first, "%s", text);
	free(text);
	metrics_free(m);
}

static void test_label_values_are_escaped(void)
{
	struct metrics *m = metrics_new(routes, 1);
	char *text = render_with_two_calendars(m);
	CHECKF(text && strstr(text, "transom_remote_calendar_up{name=\"say \\\"hi\\\"\\\\\"} 1\n"),
	       "%s", text);
	CHECK(text && strstr(text, "transom_remote_calendar_last_success_seconds{name=\"say "
				   "\\\"hi\\\"\\\\\"} 1.500\n"));
	free(text);
	metrics_free(m);
}

static void test_families_are_named_without_remote_calendars(void)
{
	struct metrics *m = metrics_new(routes, 1);
	char *text = metrics_render(m, true, NULL);
	CHECK(text && strstr(text, "# TYPE transom_remote_calendar_up gauge\n"));
	CHECK(text && strstr(text, "# TYPE transom_audit_checkpoint_last_timestamp_seconds gauge\n"
				   "transom_audit_checkpoint_last_timestamp_seconds 0.000\n"));
	free(text);
	metrics_free(m);
}

static void test_the_database_snapshot_is_published_and_kept(void)
{
	struct metrics *m = metrics_new(routes, 1);
	char *text = metrics_render(m, true, NULL);
	CHECK(text && strstr(text, "transom_approvals_pending") == NULL); /* none read yet */
	free(text);
	json_t *stats =
		json_pack("{s:[{s:s, s:s, s:i}], s:i, s:f, s:i, s:i, s:i, s:i, s:i}", "changes",
			  "type", "normal", "state", "authorize", "n", 3, "approvals_pending", 3,
			  "approvals_oldest_seconds", 42.5, "webhook_pending", 4, "webhook_dead", 5,
			  "mail_pending", 6, "mail_dead", 7, "outbox_backlog", 8);
	metrics_publish_db(m, stats, 1000.0);
	json_decref(stats);
	metrics_publish_db(m, NULL, 2000.0); /* a failed read keeps the last snapshot */
	metrics_checkpoint(m, 1234.5);
	text = metrics_render(m, true, NULL);
	const char *want[] = {
		"transom_changes{type=\"normal\",state=\"authorize\"} 3\n",
		"transom_approvals_pending 3\n",
		"transom_approvals_oldest_pending_age_seconds 42.500\n",
		"transom_webhook_deliveries_pending 4\n",
		"transom_webhook_deliveries_dead 5\n",
		"transom_mail_invitations_pending 6\n",
		"transom_mail_invitations_dead 7\n",
		"transom_outbox_backlog 8\n",
		"transom_metrics_collected_timestamp_seconds 1000.000\n",
		"transom_metrics_collection_failures_total 1\n",
		"transom_audit_checkpoint_last_timestamp_seconds 1234.500\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		CHECKF(text && strstr(text, want[i]), "missing %s", want[i]);
	free(text);
	metrics_free(m);
}

TESTS(test_a_familys_samples_are_together, test_label_values_are_escaped,
      test_families_are_named_without_remote_calendars,
      test_the_database_snapshot_is_published_and_kept)
