/*
 * workflows.h -- what is loaded, as the API shows it: the workflow definitions (as JSON
 * or as a Graphviz graph), the policies, and the check of the audit chain.
 */
#ifndef TRANSOM_APP_WORKFLOWS_H
#define TRANSOM_APP_WORKFLOWS_H

#include <jansson.h>
#include <stdbool.h>

#include "app/session.h"
#include "core/err.h"

/*
 * Every loaded workflow, *out owned: {"workflows": [{"name", "kind", "description",
 * "applies_to", "initial", "version", "states"}], "definitions_version"}.  503 when no
 * definitions are loaded.
 */
enum tr_code app_workflows_list(struct app_session *s, json_t **out, struct tr_error *err);

/*
 * Workflow `name`: with `dot`, its graph in *dot_text (owned Graphviz text); otherwise
 * *out (owned) {"name", "kind", "version", "definition"}.  404 when there is none, 503
 * when no definitions are loaded.
 */
enum tr_code app_workflow_get(struct app_session *s, const char *name, bool dot, json_t **out,
			      char **dot_text, struct tr_error *err);

/*
 * The loaded policies, *out owned: {"version", "configured", "definitions_version",
 * "files" (those present in the policies folder), "services" (how many), "catalog" (each
 * service: name, description, criticality, team, depends_on), "templates" (each standard-change
 * template: id, title, description, services, max_duration in seconds)}.  503 when no
 * definitions are loaded.
 */
enum tr_code app_policies_show(struct app_session *s, json_t **out, struct tr_error *err);

/* Walks the audit chain (store_audit_verify): *out owned, the verdict. */
enum tr_code app_audit_verify(struct app_session *s, const struct app_actor *who, json_t **out,
			      struct tr_error *err);

#endif /* TRANSOM_APP_WORKFLOWS_H */
