/*
 * h_workflows.c -- the loaded workflow definitions, and the audit chain check.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "policy/catalog.h"
#include "policy/policy.h"
#include "store/audit_log.h"
#include "wf/wf.h"

enum tr_code h_workflows_list(struct http_req *req, struct http_reply *rep)
{
	struct defs *d = api_defs(req);
	if (d == NULL)
		return tr_error_set(&req->err, TR_E_NOT_READY, NULL, "no definitions are loaded");
	json_t *list = json_array();
	for (size_t i = 0; i < wf_set_count(d->workflows); i++) {
		const struct wf *wf = wf_set_at(d->workflows, i);
		json_t *def = wf_definition(wf);
		json_t *states = json_array();
		for (size_t k = 0; k < wf_state_count(wf); k++)
			json_array_append_new(states, json_string(wf_state_name(wf, k)));
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:O?, s:O?, s:s, s:s, s:o}", "name",
						wf_name(wf), "kind", wf_kind(wf), "description",
						json_object_get(def, "description"), "applies_to",
						json_object_get(def, "applies_to"), "initial",
						wf_initial(wf), "version", wf_version_hex(wf),
						"states", states));
	}
	return http_reply_json(
		rep, 200,
		json_pack("{s:o, s:s}", "workflows", list, "definitions_version", d->version));
}

enum tr_code h_workflow_get(struct http_req *req, struct http_reply *rep)
{
	struct defs *d = api_defs(req);
	const char *name = route_param(&req->match, "name");
	const char *format = http_req_query(req, "format");
	if (d == NULL)
		return tr_error_set(&req->err, TR_E_NOT_READY, NULL, "no definitions are loaded");
	const struct wf *wf = wf_set_find(d->workflows, name);
	if (wf == NULL)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "name", "no workflow '%s'", name);
	if (format != NULL && strcmp(format, "dot") == 0) {
		char *dot = wf_dot(wf);
		if (dot == NULL)
			return TR_E_NOMEM;
		enum tr_code rc = http_reply_text(rep, 200, "text/vnd.graphviz; charset=utf-8", dot,
						  strlen(dot));
		free(dot);
		return rc;
	}
	if (format != NULL && strcmp(format, "json") != 0)
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "format",
				    "query parameter 'format' must be json or dot");
	return http_reply_json(rep, 200,
			       json_pack("{s:s, s:s, s:s, s:O}", "name", wf_name(wf), "kind",
					 wf_kind(wf), "version", wf_version_hex(wf), "definition",
					 wf_definition(wf)));
}

enum tr_code h_audit_verify(struct http_req *req, struct http_reply *rep)
{
	json_t *result;
	enum db_status s = store_audit_verify(api_store(req), &result);
	if (s < 0)
		return api_db_error(req, s);
	return http_reply_json(rep, 200, result);
}

enum tr_code h_policies(struct http_req *req, struct http_reply *rep)
{
	struct app *app = req->app;
	struct defs *d = api_defs(req);
	if (d == NULL)
		return tr_error_set(&req->err, TR_E_NOT_READY, NULL, "no definitions are loaded");
	json_t *files = json_array();
	static const char *const names[] = {"services.json", "people.json", "risk.json",
					    "approvals.json", "templates.json"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", app->cfg->policies_dir, names[i]);
		if (access(path, F_OK) == 0)
			json_array_append_new(files, json_string(names[i]));
	}
	return http_reply_json(rep, 200,
			       json_pack("{s:s?, s:b, s:s, s:o, s:I}", "version",
					 d->policies ? policy_version(d->policies) : NULL,
					 "configured", d->policies != NULL, "definitions_version",
					 d->version, "files", files, "services",
					 (json_int_t)(d->catalog ? catalog_count(d->catalog) : 0)));
}
