/*
 * changes.c -- `transom changes list`, `transom changes show ID` and `transom approve ID`:
 * the commands for people, with the server's JSON behind --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "main/cli/commands.h"

/* ---- changes list ----------------------------------------------------------------------- */

int cli_changes_list(const struct cli *c, const struct cli_args *a)
{
	static const char *const filters[] = {"state",     "type",  "service",
					      "requester", "limit", "next"};
	char path[4096] = "/v1/changes";
	struct cli_reply r;
	const char *limit = cli_args_get(a, "limit");

	if (limit != NULL &&
	    (strspn(limit, "0123456789") != strlen(limit) || !*limit || strlen(limit) > 4)) {
		cli_error("--limit '%s': expected a number", limit);
		return CLI_ERROR;
	}
	for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
		const char *v = cli_args_get(a, filters[i]);
		if (v != NULL)
			cli_query_add(path, sizeof path, filters[i], v);
	}
	if (cli_request(c, "GET", path, NULL, NULL, 0, &r) != 0) {
		cli_error("%s", r.error);
		cli_reply_clear(&r);
		return CLI_ERROR;
	}
	if (c->json) {
		cli_json_print(r.json);
		cli_reply_clear(&r);
		return CLI_OK;
	}
	json_t *items = json_object_get(r.json, "items"), *it;
	size_t i, wid = 2, wstate = 5, wtype = 4;
	json_array_foreach(items, i, it) {
		size_t n;
		if ((n = strlen(cli_str(it, "id", ""))) > wid)
			wid = n;
		if ((n = strlen(cli_str(it, "state", ""))) > wstate)
			wstate = n;
		if ((n = strlen(cli_str(it, "type", ""))) > wtype)
			wtype = n;
	}
	if (json_array_size(items) == 0) {
		printf("no changes\n");
	} else {
		printf("%-*s  %-*s  %-*s  %s\n", (int)wid, "ID", (int)wstate, "STATE", (int)wtype,
		       "TYPE", "TITLE");
		json_array_foreach(items, i, it) {
			printf("%-*s  %-*s  %-*s  %s\n", (int)wid, cli_str(it, "id", ""),
			       (int)wstate, cli_str(it, "state", ""), (int)wtype,
			       cli_str(it, "type", ""), cli_str(it, "title", ""));
		}
	}
	const char *next = cli_str(r.json, "next", NULL);
	if (next != NULL)
		fprintf(stderr, "transom: more changes: add --next %s\n", next);
	cli_reply_clear(&r);
	return CLI_OK;
}

/* ---- changes show ----------------------------------------------------------------------- */

/* The strings of array `arr` joined with ", " into `out` ("-" when empty). */
static const char *joined(const json_t *arr, char *out, size_t len)
{
	size_t i, n = 0;
	json_t *v;
	out[0] = '\0';
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (s != NULL && n < len)
			n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "", s);
	}
	if (n == 0)
		snprintf(out, len, "-");
	return out;
}

static void show_risk(const json_t *risk)
{
	size_t i;
	json_t *f;
	if (!json_is_object(risk)) {
		printf("  %-11s %s\n", "risk", "not assessed");
		return;
	}
	printf("  %-11s %s (score %lld)\n", "risk", cli_str(risk, "level", "?"),
	       (long long)json_integer_value(json_object_get(risk, "score")));
	json_array_foreach(json_object_get(risk, "factors"), i, f) {
		const char *reason = cli_str(f, "reason", NULL);
		printf("  %-11s +%lld %s%s%s\n", "",
		       (long long)json_integer_value(json_object_get(f, "points")),
		       cli_str(f, "id", "?"), reason ? ": " : "", reason ? reason : "");
	}
}

static void show_approvals(const json_t *ap)
{
	size_t i, k;
	json_t *g, *v;
	char buf[1024];
	if (!json_is_object(ap)) {
		printf("  %-11s %s\n", "approvals", "none asked");
		return;
	}
	const char *verdict = json_is_true(json_object_get(ap, "rejected"))    ? "rejected"
			      : json_is_true(json_object_get(ap, "satisfied")) ? "satisfied"
									       : "pending";
	const char *bg = json_is_object(json_object_get(ap, "break_glass")) ? " (break glass)" : "";
	printf("  %-11s %s%s\n", "approvals", verdict, bg);
	json_array_foreach(json_object_get(ap, "groups"), i, g) {
		size_t n = 0;
		buf[0] = '\0';
		json_array_foreach(json_object_get(g, "voted"), k, v) {
			if (n < sizeof buf)
				n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s %s",
						      n ? ", " : "", cli_str(v, "user", "?"),
						      cli_str(v, "decision", "?"));
		}
		printf("  %-11s %s: %lld/%lld approvals%s%s", "", cli_str(g, "group", "?"),
		       (long long)json_integer_value(json_object_get(g, "approvals")),
		       (long long)json_integer_value(json_object_get(g, "quorum")), n ? "; " : "",
		       buf);
		if (json_array_size(json_object_get(g, "pending")) > 0 &&
		    !json_is_true(json_object_get(g, "satisfied"))) {
			char who[1024];
			printf("; may vote: %s",
			       joined(json_object_get(g, "pending"), who, sizeof who));
		}
		printf("\n");
	}
}

static void show_schedule(const json_t *s)
{
	char window[128];
	if (!json_is_object(s)) {
		printf("  %-11s %s\n", "schedule", "not scheduled");
		return;
	}
	const char *status = cli_str(s, "status", "?");
	const char *start = cli_str(s, "start", NULL), *end = cli_str(s, "end", NULL);
	if (start != NULL && end != NULL) {
		json_t *w = json_object_get(s, "window");
		const char *summary = cli_str(w, "summary", NULL);
		cli_window_text(start, end, window, sizeof window);
		printf("  %-11s %s %s%s%s%s\n", "schedule", status, window,
		       summary ? " (window \"" : "", summary ? summary : "", summary ? "\")" : "");
	} else {
		printf("  %-11s %s\n", "schedule", status);
	}
	const char *soft = cli_str(s, "soft_freeze", NULL);
	if (soft != NULL)
		printf("  %-11s inside soft freeze '%s'\n", "", soft);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(s, "reasons"), i, r) {
		const char *why =
			json_is_string(r) ? json_string_value(r) : cli_str(r, "reason", "");
		const char *win = cli_str(r, "window", NULL);
		printf("  %-11s %s%s%s\n", "", win ? win : "", win ? ": " : "", why);
	}
}

int cli_changes_show(const struct cli *c, const struct cli_args *a)
{
	char path[128], buf[1024];
	struct cli_reply r;
	const char *id = a->pos[0];

	if (a->n_pos != 1) {
		cli_error("changes show needs a change ID (see --help)");
		return CLI_ERROR;
	}
	if (!cli_id_ok(id, "change id"))
		return CLI_ERROR;
	snprintf(path, sizeof path, "/v1/changes/%s", id);
	if (cli_request(c, "GET", path, NULL, NULL, 0, &r) != 0) {
		cli_error("%s", r.error);
		cli_reply_clear(&r);
		return CLI_ERROR;
	}
	if (c->json) {
		cli_json_print(r.json);
		cli_reply_clear(&r);
		return CLI_OK;
	}
	const json_t *j = r.json;
	printf("%s  %s\n", cli_str(j, "id", id), cli_str(j, "title", ""));
	printf("  %-11s %s (workflow %s)\n", "type", cli_str(j, "type", "?"),
	       cli_str(j, "workflow", "?"));
	printf("  %-11s %s\n", "state", cli_str(j, "state", "?"));
	printf("  %-11s %s\n", "requester", cli_str(j, "requester", "?"));
	printf("  %-11s %s\n", "services", joined(json_object_get(j, "services"), buf, sizeof buf));
	if (cli_str(j, "duration", NULL) != NULL)
		printf("  %-11s %s\n", "duration", cli_str(j, "duration", ""));
	show_risk(json_object_get(j, "risk"));
	show_approvals(json_object_get(j, "approvals"));
	show_schedule(json_object_get(j, "schedule"));
	printf("  %-11s %s\n", "created", cli_str(j, "created_at", "?"));
	printf("  %-11s %s\n", "updated", cli_str(j, "updated_at", "?"));
	printf("  %-11s %s\n", "next events",
	       joined(json_object_get(j, "available_events"), buf, sizeof buf));
	cli_reply_clear(&r);
	return CLI_OK;
}

/* ---- approve ---------------------------------------------------------------------------- */

int cli_approve(const struct cli *c, const struct cli_args *a)
{
	char path[128];
	struct cli_reply r;
	const char *id = a->pos[0], *comment = cli_args_get(a, "comment");

	if (a->n_pos != 1) {
		cli_error("approve needs a change ID (see --help)");
		return CLI_ERROR;
	}
	if (!cli_id_ok(id, "change id"))
		return CLI_ERROR;
	json_t *body = json_pack("{s:s}", "decision", "approve");
	if (body != NULL && comment != NULL &&
	    json_object_set_new(body, "comment", json_string(comment)) != 0) {
		json_decref(body);
		body = NULL;
	}
	if (body == NULL) {
		cli_error("--comment: not valid UTF-8, or out of memory");
		return CLI_ERROR;
	}
	snprintf(path, sizeof path, "/v1/changes/%s/approvals", id);
	int rc = cli_request(c, "POST", path, body, NULL, 0, &r);
	json_decref(body);
	if (rc != 0) {
		cli_error("%s", r.error);
		cli_reply_clear(&r);
		return CLI_ERROR;
	}
	if (c->json) {
		cli_json_print(r.json);
		cli_reply_clear(&r);
		return CLI_OK;
	}
	const json_t *chg = json_object_get(r.json, "change");
	printf("approved %s; approvals %s; the change is %s\n", id,
	       json_is_true(json_object_get(r.json, "satisfied"))  ? "satisfied"
	       : json_is_true(json_object_get(r.json, "rejected")) ? "rejected"
								   : "still pending",
	       cli_str(chg, "state", "?"));
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(r.json, "groups"), i, g) {
		printf("  %s: %lld/%lld approvals\n", cli_str(g, "group", "?"),
		       (long long)json_integer_value(json_object_get(g, "approvals")),
		       (long long)json_integer_value(json_object_get(g, "quorum")));
	}
	cli_reply_clear(&r);
	return CLI_OK;
}
