/*
 * github.c -- reporting gate decisions to GitHub (github.h).
 */
#include "jobs/github.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/log.h"
#include "net/net.h"
#include "app/records.h"

#define WAIT_AGAIN_MS  5000
#define RETRY_AFTER_MS 30000

/* The comment GitHub shows: the reasons, one per line. */
static void comment_of(json_t *reasons, char *buf, size_t size)
{
	size_t i, used = 0;
	json_t *r;
	buf[0] = '\0';
	json_array_foreach(reasons, i, r) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? "\n" : "",
				 json_string_value(r) ?: "");
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
}

static void report_one(struct app *app, struct rec_ctx *c, json_t *p)
{
	const char *id = json_string_value(json_object_get(p, "id"));
	struct rec_reply out = {0};
	struct tr_error err = {0};
	if (records_deploy_get(c, id, &out, NULL, &err) != TR_OK) {
		records_github_later(c, id, c->now_ms + RETRY_AFTER_MS, err.detail, &err);
		return;
	}
	const char *decision = json_string_value(json_object_get(out.body, "decision"));
	if (strcmp(decision, "wait") == 0) {
		records_github_later(c, id, c->now_ms + WAIT_AGAIN_MS, NULL, &err);
		rec_reply_clear(&out);
		return;
	}
	const char *state = strcmp(decision, "allow") == 0 ? "approved" : "rejected";
	char comment[1024], auth[600];
	comment_of(json_object_get(out.body, "reasons"), comment, sizeof comment);
	json_t *body =
		json_pack("{s:O, s:s, s:s}", "environment_name", json_object_get(p, "environment"),
			  "state", state, "comment", comment);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	snprintf(auth, sizeof auth, "Bearer %s", app->cfg->github_token);
	struct net_header headers[] = {
		{"Content-Type", "application/json"},
		{"Accept", "application/vnd.github+json"},
		{"X-GitHub-Api-Version", "2022-11-28"},
		{"Authorization", auth},
	};
	struct net_request rq = {.method = "POST",
				 .url = json_string_value(json_object_get(p, "callback")),
				 .headers = headers,
				 .n_headers = app->cfg->github_token[0] ? 4 : 3,
				 .body = text,
				 .len = text ? strlen(text) : 0,
				 .timeout_ms = 10000,
				 .guard = app->guard};
	struct net_reply rp = {0};
	int rc = text ? net_send(&rq, &rp) : -1;
	if (rc == 0 && rp.status >= 200 && rp.status < 300) {
		records_github_reported(c, id, state, &err);
		LOG_INFO("event=github_reported deployment=%s state=%s", id, state);
	} else {
		char why[300];
		if (rc == 0)
			snprintf(why, sizeof why, "GitHub answered HTTP %d", rp.status);
		else
			snprintf(why, sizeof why, "%s", text ? rp.error : "out of memory");
		records_github_later(c, id, c->now_ms + RETRY_AFTER_MS, why, &err);
		LOG_WARN("event=github_report_failed deployment=%s error=\"%s\"", id, why);
	}
	net_reply_clear(&rp);
	free(text);
	rec_reply_clear(&out);
}

void github_report(struct app *app, struct rec_ctx *c)
{
	json_t *pending = NULL;
	struct tr_error err = {0};
	if (records_github_due(c, &pending, &err) != TR_OK)
		return;
	size_t i;
	json_t *p;
	json_array_foreach(pending, i, p) {
		report_one(app, c, p);
	}
	json_decref(pending);
}
