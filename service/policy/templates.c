/*
 * templates.c -- policies/templates.json: standard-change templates (services they may
 * touch, maximum duration, the condition that keeps them pre-approved) and the check
 * that a change stays within its template.
 */
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "policy/policy_int.h"

#define SERVICES_MAX 256 /* services per template */

static void parse_template(struct pj *p, struct policy_templates *t, size_t i, json_t *obj,
			   size_t *n_lists)
{
	static const char *const keys[] = {"id",       "title",        "description",
					   "services", "max_duration", "preapproved_while",
					   NULL};
	struct policy_template *tp = &t->v[i];
	char path[48], sub[80];

	policy_pj_path(path, sizeof path, "templates[%zu]", i);
	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	tp->id = policy_pj_str(p, obj, "id", path, true);
	if (tp->id != NULL) {
		policy_pj_path(sub, sizeof sub, "%s.id", path);
		long long first = policy_pj_index_get(t->index, tp->id);
		if (!policy_pj_id_valid(tp->id))
			policy_pj_diag(
				p, sub, 0,
				"invalid id '%.100s' (lowercase letters, digits, '-' and '_', not "
				"first, at most 63 characters)",
				tp->id);
		else if (first >= 0)
			policy_pj_diag(p, sub, 0,
				       "template '%.100s' is already defined at templates[%lld]",
				       tp->id, first);
		else if (json_object_set_new(t->index, tp->id, json_integer((json_int_t)i)) != 0)
			p->d->oom = true;
	}
	tp->title = policy_pj_str(p, obj, "title", path, true);
	tp->description = policy_pj_str(p, obj, "description", path, false);
	json_t *services = policy_pj_array(p, obj, "services", path, true, SERVICES_MAX);
	if (services != NULL && json_array_size(services) == 0) {
		policy_pj_path(sub, sizeof sub, "%s.services", path);
		policy_pj_diag(p, sub, 0, "at least one service is required");
	}
	size_t k;
	json_t *v;
	json_array_foreach(services, k, v) {
		policy_pj_path(sub, sizeof sub, "%s.services[%zu]", path, k);
		if (!json_is_string(v) || json_string_length(v) == 0) {
			policy_pj_diag(p, sub, 0, "expected a service name");
			continue;
		}
		for (size_t j = 0; j < k; j++)
			if (json_equal(json_array_get(services, j), v)) {
				policy_pj_diag(p, sub, 0, "service '%.100s' listed twice",
					       json_string_value(v));
				break;
			}
	}
	tp->n_services = json_array_size(services);
	*n_lists += tp->n_services + 1;
	policy_pj_duration(p, obj, "max_duration", path, true, &tp->max_duration);
	t->conditions[i] = policy_pj_expr(p, obj, "preapproved_while", path, false, "templates");
	tp->condition = t->conditions[i] != NULL ? expr_source(t->conditions[i]) : NULL;
}

struct policy_templates *policy_parse_templates(const char *file, const char *text, size_t len,
						struct diags *diags)
{
	static const char *const keys[] = {"templates", NULL};
	struct pj p = {.file = file, .d = diags, .before = diags->n};
	struct policy_templates *t = calloc(1, sizeof *t);
	size_t n_lists = 0;

	if (t == NULL || (t->file = strdup(file)) == NULL) {
		diags->oom = true;
		free(t);
		return NULL;
	}
	t->root = policy_pj_load(&p, text, len);
	if (t->root == NULL)
		goto fail;
	policy_pj_keys(&p, t->root, "", keys);
	json_t *list = policy_pj_array(&p, t->root, "templates", "", true, POLICY_MAX_ITEMS);
	t->n = json_array_size(list);
	t->v = calloc(t->n + 1, sizeof *t->v);
	t->conditions = calloc(t->n + 1, sizeof *t->conditions);
	t->index = json_object();
	if (t->v == NULL || t->conditions == NULL || t->index == NULL) {
		diags->oom = true;
		goto fail;
	}
	for (size_t i = 0; i < t->n; i++)
		parse_template(&p, t, i, json_array_get(list, i), &n_lists);
	if (!policy_pj_ok(&p))
		goto fail;
	t->lists = malloc((n_lists != 0 ? n_lists : 1) * sizeof *t->lists);
	if (t->lists == NULL) {
		diags->oom = true;
		goto fail;
	}
	const char **cur = t->lists;
	for (size_t i = 0; i < t->n; i++) {
		t->v[i].services = policy_pj_list_fill(
			cur, json_object_get(json_array_get(list, i), "services"));
		cur += t->v[i].n_services + 1;
	}
	return t;
fail:
	policy_templates_free(t);
	return NULL;
}

void policy_templates_free(struct policy_templates *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; t->conditions != NULL && i < t->n; i++)
		expr_free(t->conditions[i]);
	free(t->conditions);
	free(t->v);
	free(t->lists);
	json_decref(t->index);
	json_decref(t->root);
	free(t->file);
	free(t);
}

/* ---- lookups and the pre-approval check ----------------------------------------------- */

size_t policy_template_count(const struct policy_set *set)
{
	return set->templates != NULL ? set->templates->n : 0;
}

const struct policy_template *policy_template_at(const struct policy_set *set, size_t i)
{
	return i < policy_template_count(set) ? &set->templates->v[i] : NULL;
}

const struct policy_template *policy_template_find(const struct policy_set *set, const char *id)
{
	long long i = set->templates != NULL ? policy_pj_index_get(set->templates->index, id) : -1;

	return i >= 0 ? &set->templates->v[i] : NULL;
}

/* Whether template `t` lists service `name`. */
static bool covers(const struct policy_template *t, const char *name)
{
	for (size_t i = 0; i < t->n_services; i++)
		if (strcmp(t->services[i], name) == 0)
			return true;
	return false;
}

/* Checks the services of `change` against `t`; false with `reason` filled. */
static bool services_ok(const struct policy_template *t, json_t *change, char *reason, size_t size)
{
	json_t *services = json_object_get(change, "services");
	size_t n = json_is_array(services) ? json_array_size(services) : 1;
	size_t named = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *v = json_is_array(services) ? json_array_get(services, i) : services;
		const char *name = json_string_value(v);
		if (name == NULL)
			continue;
		named++;
		if (!covers(t, name)) {
			policy_say(reason, size,
				   "service '%.100s' is not covered by template '%.100s'", name,
				   t->id);
			return false;
		}
	}
	if (named == 0) {
		policy_say(reason, size, "the change names no service");
		return false;
	}
	return true;
}

bool policy_template_preapproved(const struct policy_set *set, const char *id, json_t *change,
				 json_t *history, char *reason, size_t reason_size)
{
	char have[48], max[48];

	if (!json_is_object(change)) {
		policy_say(reason, reason_size, "the change is not a JSON object");
		return false;
	}
	if (id == NULL)
		id = json_string_value(json_object_get(change, "template"));
	if (id == NULL) {
		policy_say(reason, reason_size, "the change names no template");
		return false;
	}
	const struct policy_template *t = policy_template_find(set, id);
	if (t == NULL) {
		policy_say(reason, reason_size, "unknown template '%.100s'", id);
		return false;
	}
	if (!services_ok(t, change, reason, reason_size))
		return false;
	json_t *dur = json_object_get(change, "duration");
	long long secs = -1;
	if (json_is_integer(dur) && json_integer_value(dur) >= 0)
		secs = json_integer_value(dur);
	else if (json_is_string(dur) && !time_parse_duration(json_string_value(dur), &secs))
		secs = -1;
	policy_duration_text(t->max_duration, max, sizeof max);
	if (secs < 0) {
		policy_say(reason, reason_size,
			   "the change has no valid duration (template '%.100s' "
			   "allows at most %s)",
			   t->id, max);
		return false;
	}
	policy_duration_text(secs, have, sizeof have);
	if (secs > t->max_duration) {
		policy_say(reason, reason_size,
			   "duration %s exceeds the maximum %s of template '%.100s'", have, max,
			   t->id);
		return false;
	}
	struct expr *cond = set->templates->conditions[t - set->templates->v];
	if (cond != NULL) {
		struct policy_env env;
		struct expr_error xe = {0};
		bool yes = false, ok = false;
		if (policy_env_init(&env, set, NULL, change, NULL, history, t->id) == 0)
			ok = expr_eval_bool(cond, policy_env_get, &env, &yes, &xe);
		else
			policy_say(xe.message, sizeof xe.message, "out of memory");
		policy_env_clear(&env);
		if (!ok) {
			policy_say(reason, reason_size,
				   "template '%.100s': preapproved_while failed: column %d: %s",
				   t->id, xe.column, xe.message);
			return false;
		}
		if (!yes) {
			policy_say(
				reason, reason_size,
				"template '%.100s' is no longer pre-approved: %.150s does not hold",
				t->id, expr_source(cond));
			return false;
		}
	}
	policy_say(
		reason, reason_size,
		"pre-approved under template '%.100s': services covered, duration %s within %s%s",
		t->id, have, max, cond != NULL ? ", condition holds" : "");
	return true;
}
