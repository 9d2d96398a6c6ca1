/*
 * workflows.c -- the loaded workflow definitions and policies as the API shows them,
 * and the audit chain check (see workflows.h).
 */
#include "app/workflows.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "policy/catalog.h"
#include "policy/policy.h"
#include "store/audit_log.h"
#include "wf/wf.h"

/* The definitions of `s`; NULL with 503 set in `err` when none are loaded. */
static struct defs *loaded(struct app_session *s, struct tr_error *err)
{
	struct defs *d = app_session_defs(s);
	if (d == NULL)
		tr_error_set(err, TR_E_NOT_READY, NULL, "no definitions are loaded");
	return d;
}

enum tr_code app_workflows_list(struct app_session *s, json_t **out, struct tr_error *err)
{
	struct defs *d = loaded(s, err);
	*out = NULL;
	if (d == NULL)
		return TR_E_NOT_READY;
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
	*out = json_pack("{s:o, s:s}", "workflows", list, "definitions_version", d->version);
	return TR_OK;
}

enum tr_code app_workflow_get(struct app_session *s, const char *name, bool dot, json_t **out,
			      char **dot_text, struct tr_error *err)
{
	struct defs *d = loaded(s, err);
	*out = NULL;
	*dot_text = NULL;
	if (d == NULL)
		return TR_E_NOT_READY;
	const struct wf *wf = wf_set_find(d->workflows, name);
	if (wf == NULL)
		return tr_error_set(err, TR_E_NOT_FOUND, "name", "no workflow '%s'", name);
	if (dot) {
		*dot_text = wf_dot(wf);
		return *dot_text ? TR_OK : TR_E_NOMEM;
	}
	*out = json_pack("{s:s, s:s, s:s, s:O}", "name", wf_name(wf), "kind", wf_kind(wf),
			 "version", wf_version_hex(wf), "definition", wf_definition(wf));
	return TR_OK;
}

/* The service catalog as the RFC form shows it: [{name, description, criticality, team,
 * depends_on}] in file order (empty without a catalog).  Owned; NULL on out of memory. */
static json_t *catalog_json(const struct policy_catalog *cat)
{
	json_t *arr = json_array();
	size_t n = cat ? catalog_count(cat) : 0;
	for (size_t i = 0; arr != NULL && i < n; i++) {
		const struct catalog_service *sv = catalog_at(cat, i);
		json_t *deps = json_array();
		for (size_t k = 0; deps != NULL && k < sv->n_depends_on; k++)
			json_array_append_new(deps, json_string(sv->depends_on[k]));
		if (json_array_append_new(arr, json_pack("{s:s, s:s?, s:s, s:s, s:o}", "name",
							 sv->name, "description", sv->description,
							 "criticality", sv->criticality_name,
							 "team", sv->team, "depends_on", deps)) !=
		    0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The standard-change templates: [{id, title, description, services, max_duration
 * (seconds)}] in file order (empty without policies).  Owned; NULL on out of memory. */
static json_t *templates_json(const struct policy_set *set)
{
	json_t *arr = json_array();
	size_t n = set ? policy_template_count(set) : 0;
	for (size_t i = 0; arr != NULL && i < n; i++) {
		const struct policy_template *t = policy_template_at(set, i);
		json_t *svcs = json_array();
		for (size_t k = 0; svcs != NULL && k < t->n_services; k++)
			json_array_append_new(svcs, json_string(t->services[k]));
		if (json_array_append_new(
			    arr, json_pack("{s:s, s:s, s:s?, s:o, s:I}", "id", t->id, "title",
					   t->title, "description", t->description, "services",
					   svcs, "max_duration", (json_int_t)t->max_duration)) !=
		    0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

enum tr_code app_policies_show(struct app_session *s, json_t **out, struct tr_error *err)
{
	struct app *app = s->app;
	struct defs *d = loaded(s, err);
	*out = NULL;
	if (d == NULL)
		return TR_E_NOT_READY;
	json_t *files = json_array();
	static const char *const names[] = {"services.json", "people.json", "risk.json",
					    "approvals.json", "templates.json"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", app->cfg->policies_dir, names[i]);
		if (access(path, F_OK) == 0)
			json_array_append_new(files, json_string(names[i]));
	}
	*out = json_pack("{s:s?, s:b, s:s, s:o, s:I, s:o, s:o}", "version",
			 d->policies ? policy_version(d->policies) : NULL, "configured",
			 d->policies != NULL, "definitions_version", d->version, "files", files,
			 "services", (json_int_t)(d->catalog ? catalog_count(d->catalog) : 0),
			 "catalog", catalog_json(d->catalog), "templates",
			 templates_json(d->policies));
	return *out != NULL ? TR_OK : TR_E_NOMEM;
}

enum tr_code app_audit_verify(struct app_session *s, const struct app_actor *who, json_t **out,
			      struct tr_error *err)
{
	*out = NULL;
	enum db_status st = store_audit_verify(s->store, out);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	return TR_OK;
}
