/*
 * approvals.c -- policies/approvals.json: approval rules (which groups, what quorum, how
 * rejections count, expiry), segregation of duties and break glass; and computing the
 * approvals a change needs.  Checking votes, tallying them and breaking glass: votes.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "policy/policy_int.h"

#define QUORUM_MAX 1000 /* largest quorum a rule may ask */

/* ---- parsing -------------------------------------------------------------------------- */

static void parse_requirement(struct pj *p, struct policy_requirement *q, json_t *obj,
			      const char *path)
{
	static const char *const keys[] = {"group", "service_owners", "quorum",
					   "one_rejection_rejects", NULL};

	snprintf(q->path, sizeof q->path, "%s", path);
	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	q->service_owners = policy_pj_bool(p, obj, "service_owners", path, false);
	bool has_group = json_object_get(obj, "group") != NULL;
	if (q->service_owners && has_group)
		policy_pj_diag(p, path, 0, "give either 'group' or 'service_owners', not both");
	else if (!q->service_owners)
		q->group = policy_pj_str(p, obj, "group", path, true);
	q->quorum = 1;
	policy_pj_int(p, obj, "quorum", path, true, 1, QUORUM_MAX, &q->quorum);
	q->one_rejection_rejects = policy_pj_bool(p, obj, "one_rejection_rejects", path, false);
}

static void parse_rule(struct pj *p, struct policy_approvals *a, json_t *index, size_t i,
		       json_t *obj)
{
	static const char *const keys[] = {
		"id", "description", "when", "require", "expires_after", "expiry_event", NULL};
	struct policy_rule *r = &a->rules[i];
	char path[48], sub[96];

	policy_pj_path(path, sizeof path, "rules[%zu]", i);
	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	r->id = policy_pj_str(p, obj, "id", path, true);
	if (r->id != NULL) {
		policy_pj_path(sub, sizeof sub, "%s.id", path);
		long long first = policy_pj_index_get(index, r->id);
		if (!policy_pj_id_valid(r->id))
			policy_pj_diag(
				p, sub, 0,
				"invalid id '%.100s' (lowercase letters, digits, '-' and '_', not "
				"first, at most 63 characters)",
				r->id);
		else if (first >= 0)
			policy_pj_diag(p, sub, 0, "rule '%.100s' is already defined at rules[%lld]",
				       r->id, first);
		else if (json_object_set_new(index, r->id, json_integer((json_int_t)i)) != 0)
			p->d->oom = true;
	}
	policy_pj_str(p, obj, "description", path, false);
	r->when = policy_pj_expr(p, obj, "when", path, true, "approvals");
	policy_pj_duration(p, obj, "expires_after", path, false, &r->expires_after);
	r->expiry_event = policy_pj_str(p, obj, "expiry_event", path, false);
	if (r->expiry_event != NULL && !policy_pj_id_valid(r->expiry_event)) {
		policy_pj_path(sub, sizeof sub, "%s.expiry_event", path);
		policy_pj_diag(p, sub, 0, "invalid event name '%.100s'", r->expiry_event);
	}
	json_t *req = policy_pj_array(p, obj, "require", path, true, 64);
	if (req != NULL && json_array_size(req) == 0) {
		policy_pj_path(sub, sizeof sub, "%s.require", path);
		policy_pj_diag(p, sub, 0, "at least one group is required");
	}
	r->n_req = json_array_size(req);
	r->req = calloc(r->n_req + 1, sizeof *r->req);
	if (r->req == NULL) {
		p->d->oom = true;
		r->n_req = 0;
		return;
	}
	bool owners = false;
	for (size_t j = 0; j < r->n_req; j++) {
		struct policy_requirement *q = &r->req[j];
		policy_pj_path(sub, sizeof sub, "%s.require[%zu]", path, j);
		parse_requirement(p, q, json_array_get(req, j), sub);
		for (size_t k = 0; k < j; k++) {
			if (q->group != NULL && r->req[k].group != NULL &&
			    strcmp(q->group, r->req[k].group) == 0)
				policy_pj_diag(p, sub, 0,
					       "group '%.100s' is already required at %s", q->group,
					       r->req[k].path);
		}
		if (q->service_owners && owners)
			policy_pj_diag(p, sub, 0,
				       "service owners are already required in this rule");
		owners = owners || q->service_owners;
	}
}

static void parse_sod(struct pj *p, struct policy_approvals *a, json_t *obj)
{
	static const char *const keys[] = {"requester_cannot_approve", "one_vote_per_person",
					   "requester_cannot_break_glass", "editors_cannot_approve",
					   NULL};
	const char *path = "segregation_of_duties";

	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	a->requester_cannot_approve = policy_pj_bool(p, obj, keys[0], path, true);
	a->one_vote_per_person = policy_pj_bool(p, obj, keys[1], path, true);
	a->requester_cannot_break_glass = policy_pj_bool(p, obj, keys[2], path, true);
	a->editors_cannot_approve = policy_pj_bool(p, obj, keys[3], path, true);
}

static void parse_ownership(struct pj *p, struct policy_approvals *a, json_t *obj)
{
	static const char *const keys[] = {"team", NULL};
	const char *path = "ownership";

	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	a->owner_team = policy_pj_bool(p, obj, keys[0], path, false);
}

static void parse_break_glass(struct pj *p, struct policy_approvals *a, json_t *obj)
{
	static const char *const keys[] = {"group", "min_justification", "when", NULL};
	const char *path = "break_glass";

	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	a->bg_group = policy_pj_str(p, obj, "group", path, true);
	a->bg_min_justification = 20;
	policy_pj_int(p, obj, "min_justification", path, false, 1, 10000, &a->bg_min_justification);
	a->bg_when = policy_pj_expr(p, obj, "when", path, false, "break_glass");
}

struct policy_approvals *policy_parse_approvals(const char *file, const char *text, size_t len,
						struct diags *diags)
{
	static const char *const keys[] = {"defaults",    "rules",     "segregation_of_duties",
					   "break_glass", "ownership", NULL};
	static const char *const default_keys[] = {"expires_after", "expiry_event", NULL};
	struct pj p = {.file = file, .d = diags, .before = diags->n};
	struct policy_approvals *a = calloc(1, sizeof *a);
	json_t *index = NULL;

	if (a == NULL || (a->file = strdup(file)) == NULL) {
		diags->oom = true;
		free(a);
		return NULL;
	}
	a->requester_cannot_approve = a->one_vote_per_person = true;
	a->requester_cannot_break_glass = a->editors_cannot_approve = true;
	a->root = policy_pj_load(&p, text, len);
	if (a->root == NULL)
		goto fail;
	policy_pj_keys(&p, a->root, "", keys);
	json_t *defaults = json_object_get(a->root, "defaults");
	if (defaults == NULL) {
		policy_pj_diag(&p, "", 0, "missing key 'defaults'");
	} else if (!json_is_object(defaults)) {
		policy_pj_diag(&p, "defaults", 0, "expected an object");
	} else {
		policy_pj_keys(&p, defaults, "defaults", default_keys);
		policy_pj_duration(&p, defaults, "expires_after", "defaults", true,
				   &a->expires_after);
		a->expiry_event = policy_pj_str(&p, defaults, "expiry_event", "defaults", true);
		if (a->expiry_event != NULL && !policy_pj_id_valid(a->expiry_event))
			policy_pj_diag(&p, "defaults.expiry_event", 0,
				       "invalid event name '%.100s'", a->expiry_event);
	}
	json_t *rules = policy_pj_array(&p, a->root, "rules", "", true, POLICY_MAX_ITEMS);
	a->n_rules = json_array_size(rules);
	a->rules = calloc(a->n_rules + 1, sizeof *a->rules);
	index = json_object();
	if (a->rules == NULL || index == NULL) {
		diags->oom = true;
		goto fail;
	}
	for (size_t i = 0; i < a->n_rules; i++)
		parse_rule(&p, a, index, i, json_array_get(rules, i));
	json_t *sod = json_object_get(a->root, "segregation_of_duties");
	if (sod != NULL)
		parse_sod(&p, a, sod);
	json_t *bg = json_object_get(a->root, "break_glass");
	if (bg != NULL)
		parse_break_glass(&p, a, bg);
	json_t *own = json_object_get(a->root, "ownership");
	if (own != NULL)
		parse_ownership(&p, a, own);
	if (!policy_pj_ok(&p))
		goto fail;
	json_decref(index);
	return a;
fail:
	json_decref(index);
	policy_approvals_free(a);
	return NULL;
}

void policy_approvals_free(struct policy_approvals *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; a->rules != NULL && i < a->n_rules; i++) {
		expr_free(a->rules[i].when);
		free(a->rules[i].req);
	}
	free(a->rules);
	expr_free(a->bg_when);
	json_decref(a->root);
	free(a->file);
	free(a);
}

/* ---- required approvals --------------------------------------------------------------- */

/* Appends a formatted warning; -1 on OOM. */
static int warn(json_t *warnings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int warn(json_t *warnings, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	policy_utf8_fix(msg);
	return json_array_append_new(warnings, json_string(msg)) == 0 ? 0 : -1;
}

/* Whether JSON array `arr` holds the string `s`. */
bool policy_has_str(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (json_is_string(v) && s != NULL && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* What is being built for policy_approvals_required(). */
struct routing {
	const struct policy_set *set;
	json_t *groups;        /* the output array */
	json_t *warnings;      /* strings */
	const char *requester; /* canonical, may be NULL */
};

/*
 * Adds (or merges) group `name` for rule `rule`; `service` (may be NULL) is the service
 * it owns that brought it in.  Returns -1 on OOM.
 */
static int add_group(struct routing *rt, const char *name, const struct policy_requirement *q,
		     const char *rule, const char *service)
{
	json_t *g = NULL;
	size_t i;
	json_t *v;

	json_array_foreach(rt->groups, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "group")), name) == 0)
			g = v;
	}
	if (g == NULL) {
		const struct policy_group *pg = policy_group_find(rt->set, name);
		json_t *members = json_array(), *eligible = json_array();
		g = json_pack("{s:s, s:I, s:b, s:o, s:o, s:s}", "group", name, "quorum",
			      (json_int_t)q->quorum, "one_rejection_rejects",
			      q->one_rejection_rejects, "members", members, "eligible", eligible,
			      "rule", rule);
		if (g == NULL || json_array_append_new(rt->groups, g) != 0)
			return -1;
		for (size_t k = 0; pg != NULL && k < pg->n_members; k++) {
			const char *m = pg->members[k];
			if (json_array_append_new(members, json_string(m)) != 0)
				return -1;
			if (rt->set->approvals->requester_cannot_approve && rt->requester != NULL &&
			    strcmp(rt->requester, m) == 0)
				continue;
			if (json_array_append_new(eligible, json_string(m)) != 0)
				return -1;
		}
	} else {
		json_t *quorum = json_object_get(g, "quorum");
		if (json_integer_value(quorum) < q->quorum &&
		    json_integer_set(quorum, (json_int_t)q->quorum) != 0)
			return -1;
		if (q->one_rejection_rejects &&
		    json_object_set_new(g, "one_rejection_rejects", json_true()) != 0)
			return -1;
	}
	if (service == NULL)
		return 0;
	json_t *of = json_object_get(g, "service_owner_of");
	if (of == NULL) {
		of = json_array();
		if (json_object_set_new(g, "service_owner_of", of) != 0)
			return -1;
	}
	if (!policy_has_str(of, service) && json_array_append_new(of, json_string(service)) != 0)
		return -1;
	return 0;
}

/* Adds the groups of the teams owning the change's services. */
static int add_owners(struct routing *rt, const struct policy_catalog *cat, json_t *change,
		      const struct policy_requirement *q, const char *rule)
{
	json_t *names = json_object_get(change, "services");
	size_t n = json_is_array(names) ? json_array_size(names) : 1;
	bool any = false;

	if (cat == NULL)
		return warn(rt->warnings, "rule '%s': service owners unknown without a catalog",
			    rule);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_is_array(names) ? json_array_get(names, i) : names;
		const struct catalog_service *s = catalog_find(cat, json_string_value(v));
		if (s == NULL)
			continue;
		any = true;
		if (policy_group_find(rt->set, s->team) == NULL) {
			if (warn(rt->warnings, "rule '%s': no group for team '%s', owner of '%s'",
				 rule, s->team, s->name) != 0)
				return -1;
			continue;
		}
		if (add_group(rt, s->team, q, rule, s->name) != 0)
			return -1;
	}
	if (!any)
		return warn(rt->warnings, "rule '%s': no known service, so no service owners",
			    rule);
	return 0;
}

/* Bipartite matching of quorum slots to people, for check_reachable(). */
struct matching {
	json_t *groups;      /* required groups */
	json_t *people;      /* name -> index */
	long long *match;    /* per person: the group holding them, or -1 */
	unsigned char *seen; /* per person, this augmentation */
};

/* Finds a person for one more slot of group `g`, moving others along; Kuhn's algorithm. */
static bool augment(struct matching *m, size_t g, unsigned depth)
{
	size_t i;
	json_t *name;

	if (depth > 4096)
		return false;
	json_array_foreach(json_object_get(json_array_get(m->groups, g), "eligible"), i, name) {
		long long p = policy_pj_index_get(m->people, json_string_value(name));
		if (p < 0 || m->seen[p])
			continue;
		m->seen[p] = 1;
		if (m->match[p] < 0 || augment(m, (size_t)m->match[p], depth + 1)) {
			m->match[p] = (long long)g;
			return true;
		}
	}
	return false;
}

/*
 * With one vote per person, a member of several groups counts for one only: warns about
 * groups that cannot all reach their quorums at once.  -1 on OOM.
 */
static int check_shared(struct routing *rt)
{
	struct matching m = {.groups = rt->groups, .people = json_object()};
	size_t n = 0, gi, i;
	json_t *g, *name;
	int rc = -1;

	if (m.people == NULL)
		return -1;
	json_array_foreach(rt->groups, gi, g) {
		json_array_foreach(json_object_get(g, "eligible"), i, name) {
			const char *s = json_string_value(name);
			if (json_object_get(m.people, s) == NULL &&
			    json_object_set_new(m.people, s, json_integer((json_int_t)n++)) != 0)
				goto out;
		}
	}
	m.match = malloc((n + 1) * sizeof *m.match);
	m.seen = malloc(n + 1);
	if (m.match == NULL || m.seen == NULL)
		goto out;
	for (size_t k = 0; k < n; k++)
		m.match[k] = -1;
	json_array_foreach(rt->groups, gi, g) {
		json_int_t quorum = json_integer_value(json_object_get(g, "quorum"));
		size_t eligible = json_array_size(json_object_get(g, "eligible"));
		json_int_t got = 0;
		if ((json_int_t)eligible < quorum)
			continue; /* unreachable anyway, already said; takes nobody from others */
		for (; got < quorum; got++) {
			memset(m.seen, 0, n + 1);
			if (!augment(&m, gi, 0))
				break;
		}
		if (got < quorum &&
		    warn(rt->warnings,
			 "group '%s' cannot reach its quorum of %lld while each person votes once "
			 "(one_vote_per_person): its members are needed by other groups",
			 json_string_value(json_object_get(g, "group")), (long long)quorum) != 0)
			goto out;
	}
	rc = 0;
out:
	free(m.match);
	free(m.seen);
	json_decref(m.people);
	return rc;
}

/* Warns about groups that cannot reach their quorum; -1 on OOM. */
static int check_reachable(struct routing *rt)
{
	size_t i;
	json_t *g;

	json_array_foreach(rt->groups, i, g) {
		json_int_t quorum = json_integer_value(json_object_get(g, "quorum"));
		size_t n = json_array_size(json_object_get(g, "eligible"));
		if ((json_int_t)n < quorum &&
		    warn(rt->warnings, "group '%s' has %zu eligible members for a quorum of %lld",
			 json_string_value(json_object_get(g, "group")), n, (long long)quorum) != 0)
			return -1;
	}
	if (rt->set->approvals->one_vote_per_person && json_array_size(rt->groups) > 1)
		return check_shared(rt);
	return 0;
}

json_t *policy_approvals_required(const struct policy_set *set,
				  const struct policy_catalog *catalog, json_t *change,
				  json_t *risk, struct policy_error *err)
{
	const struct policy_approvals *a = set->approvals;
	struct policy_env env;
	struct routing rt = {.set = set};
	json_t *matched = NULL, *out = NULL;
	long long expires = 0;
	const char *event = NULL;
	bool any_one_rejection = false;

	if (!json_is_object(change)) {
		policy_err(err, "the change is not a JSON object");
		return NULL;
	}
	if (policy_env_init(&env, set, catalog, change, risk, NULL, NULL) != 0)
		goto nomem;
	rt.requester =
		policy_canonical_user(set, json_string_value(json_object_get(change, "requester")));
	rt.groups = json_array();
	rt.warnings = json_array();
	matched = json_array();
	if (rt.groups == NULL || rt.warnings == NULL || matched == NULL)
		goto nomem;
	for (size_t i = 0; i < a->n_rules; i++) {
		const struct policy_rule *r = &a->rules[i];
		struct expr_error xe = {0};
		bool yes = false;
		if (!expr_eval_bool(r->when, policy_env_get, &env, &yes, &xe)) {
			if (strcmp(xe.message, "out of memory") == 0)
				goto nomem;
			policy_err(err, "approval rule '%s': when: column %d: %s", r->id, xe.column,
				   xe.message);
			goto fail;
		}
		if (!yes)
			continue;
		if (json_array_append_new(matched, json_string(r->id)) != 0)
			goto nomem;
		for (size_t j = 0; j < r->n_req; j++) {
			const struct policy_requirement *q = &r->req[j];
			int rc = q->service_owners ? add_owners(&rt, catalog, change, q, r->id)
						   : add_group(&rt, q->group, q, r->id, NULL);
			if (rc != 0)
				goto nomem;
			any_one_rejection = any_one_rejection || q->one_rejection_rejects;
		}
		long long e = r->expires_after > 0 ? r->expires_after : a->expires_after;
		if (expires == 0 || e < expires) {
			expires = e;
			event = r->expiry_event != NULL ? r->expiry_event : a->expiry_event;
		}
	}
	if (expires == 0) {
		expires = a->expires_after;
		event = a->expiry_event;
	}
	if (check_reachable(&rt) != 0)
		goto nomem;
	bool unmatched = json_array_size(matched) == 0;
	if (unmatched &&
	    warn(rt.warnings, "no approval rule matched: a change manager decides") != 0)
		goto nomem;
	json_t *sod = json_pack("{s:b, s:b, s:b, s:s?}", "requester_cannot_approve",
				a->requester_cannot_approve, "one_vote_per_person",
				a->one_vote_per_person, "editors_cannot_approve",
				a->editors_cannot_approve, "requester", rt.requester);
	out = json_pack("{s:o, s:o, s:b, s:I, s:s, s:o, s:b, s:o, s:s}", "rules_matched", matched,
			"groups", rt.groups, "one_rejection_rejects", any_one_rejection,
			"expires_after", (json_int_t)expires, "expiry_event", event, "sod", sod,
			"unmatched", unmatched, "warnings", rt.warnings, "policy_version",
			set->version);
	matched = rt.groups = rt.warnings = NULL; /* stolen, also on failure */
	if (out == NULL)
		goto nomem;
	policy_env_clear(&env);
	return out;
nomem:
	policy_err(err, "out of memory");
fail:
	json_decref(matched);
	json_decref(rt.groups);
	json_decref(rt.warnings);
	policy_env_clear(&env);
	return NULL;
}
