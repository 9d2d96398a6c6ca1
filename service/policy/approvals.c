/*
 * approvals.c -- policies/approvals.json: approval rules (which groups, what quorum, how
 * rejections count, expiry), segregation of duties and break glass; and computing the
 * approvals a change needs, checking votes, tallying them, and breaking glass.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "policy/policy_int.h"

#define QUORUM_MAX  1000              /* largest quorum a rule may ask */
#define TIME_MS_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* ---- parsing -------------------------------------------------------------------------- */

static void parse_requirement(struct pj *p, struct policy_requirement *q, json_t *obj,
			      const char *path)
{
	static const char *const keys[] = {"group", "service_owners", "quorum",
					   "one_rejection_rejects", NULL};

	snprintf(q->path, sizeof q->path, "%s", path);
	if (!json_is_object(obj)) {
		pj_diag(p, path, 0, "expected an object");
		return;
	}
	pj_keys(p, obj, path, keys);
	q->service_owners = pj_bool(p, obj, "service_owners", path, false);
	bool has_group = json_object_get(obj, "group") != NULL;
	if (q->service_owners && has_group)
		pj_diag(p, path, 0, "give either 'group' or 'service_owners', not both");
	else if (!q->service_owners)
		q->group = pj_str(p, obj, "group", path, true);
	q->quorum = 1;
	pj_int(p, obj, "quorum", path, true, 1, QUORUM_MAX, &q->quorum);
	q->one_rejection_rejects = pj_bool(p, obj, "one_rejection_rejects", path, false);
}

static void parse_rule(struct pj *p, struct policy_approvals *a, json_t *index, size_t i,
		       json_t *obj)
{
	static const char *const keys[] = {
		"id", "description", "when", "require", "expires_after", "expiry_event", NULL};
	struct policy_rule *r = &a->rules[i];
	char path[48], sub[96];

	pj_path(path, sizeof path, "rules[%zu]", i);
	if (!json_is_object(obj)) {
		pj_diag(p, path, 0, "expected an object");
		return;
	}
	pj_keys(p, obj, path, keys);
	r->id = pj_str(p, obj, "id", path, true);
	if (r->id != NULL) {
		pj_path(sub, sizeof sub, "%s.id", path);
		long long first = pj_index_get(index, r->id);
		if (!pj_id_valid(r->id))
			pj_diag(p, sub, 0,
				"invalid id '%.100s' (lowercase letters, digits, '-' and '_', not "
				"first, at most 63 characters)",
				r->id);
		else if (first >= 0)
			pj_diag(p, sub, 0, "rule '%.100s' is already defined at rules[%lld]", r->id,
				first);
		else if (json_object_set_new(index, r->id, json_integer((json_int_t)i)) != 0)
			p->d->oom = true;
	}
	pj_str(p, obj, "description", path, false);
	r->when = pj_expr(p, obj, "when", path, true, "approvals");
	pj_duration(p, obj, "expires_after", path, false, &r->expires_after);
	r->expiry_event = pj_str(p, obj, "expiry_event", path, false);
	if (r->expiry_event != NULL && !pj_id_valid(r->expiry_event)) {
		pj_path(sub, sizeof sub, "%s.expiry_event", path);
		pj_diag(p, sub, 0, "invalid event name '%.100s'", r->expiry_event);
	}
	json_t *req = pj_array(p, obj, "require", path, true, 64);
	if (req != NULL && json_array_size(req) == 0) {
		pj_path(sub, sizeof sub, "%s.require", path);
		pj_diag(p, sub, 0, "at least one group is required");
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
		pj_path(sub, sizeof sub, "%s.require[%zu]", path, j);
		parse_requirement(p, q, json_array_get(req, j), sub);
		for (size_t k = 0; k < j; k++) {
			if (q->group != NULL && r->req[k].group != NULL &&
			    strcmp(q->group, r->req[k].group) == 0)
				pj_diag(p, sub, 0, "group '%.100s' is already required at %s",
					q->group, r->req[k].path);
		}
		if (q->service_owners && owners)
			pj_diag(p, sub, 0, "service owners are already required in this rule");
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
		pj_diag(p, path, 0, "expected an object");
		return;
	}
	pj_keys(p, obj, path, keys);
	a->requester_cannot_approve = pj_bool(p, obj, keys[0], path, true);
	a->one_vote_per_person = pj_bool(p, obj, keys[1], path, true);
	a->requester_cannot_break_glass = pj_bool(p, obj, keys[2], path, true);
	a->editors_cannot_approve = pj_bool(p, obj, keys[3], path, true);
}

static void parse_ownership(struct pj *p, struct policy_approvals *a, json_t *obj)
{
	static const char *const keys[] = {"team", NULL};
	const char *path = "ownership";

	if (!json_is_object(obj)) {
		pj_diag(p, path, 0, "expected an object");
		return;
	}
	pj_keys(p, obj, path, keys);
	a->owner_team = pj_bool(p, obj, keys[0], path, false);
}

static void parse_break_glass(struct pj *p, struct policy_approvals *a, json_t *obj)
{
	static const char *const keys[] = {"group", "min_justification", "when", NULL};
	const char *path = "break_glass";

	if (!json_is_object(obj)) {
		pj_diag(p, path, 0, "expected an object");
		return;
	}
	pj_keys(p, obj, path, keys);
	a->bg_group = pj_str(p, obj, "group", path, true);
	a->bg_min_justification = 20;
	pj_int(p, obj, "min_justification", path, false, 1, 10000, &a->bg_min_justification);
	a->bg_when = pj_expr(p, obj, "when", path, false, "break_glass");
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
	a->root = pj_load(&p, text, len);
	if (a->root == NULL)
		goto fail;
	pj_keys(&p, a->root, "", keys);
	json_t *defaults = json_object_get(a->root, "defaults");
	if (defaults == NULL) {
		pj_diag(&p, "", 0, "missing key 'defaults'");
	} else if (!json_is_object(defaults)) {
		pj_diag(&p, "defaults", 0, "expected an object");
	} else {
		pj_keys(&p, defaults, "defaults", default_keys);
		pj_duration(&p, defaults, "expires_after", "defaults", true, &a->expires_after);
		a->expiry_event = pj_str(&p, defaults, "expiry_event", "defaults", true);
		if (a->expiry_event != NULL && !pj_id_valid(a->expiry_event))
			pj_diag(&p, "defaults.expiry_event", 0, "invalid event name '%.100s'",
				a->expiry_event);
	}
	json_t *rules = pj_array(&p, a->root, "rules", "", true, POLICY_MAX_ITEMS);
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
	if (!pj_ok(&p))
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
static bool has_str(json_t *arr, const char *s)
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
	if (!has_str(of, service) && json_array_append_new(of, json_string(service)) != 0)
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
		long long p = pj_index_get(m->people, json_string_value(name));
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

/* ---- votes ---------------------------------------------------------------------------- */

const char *policy_vote_rule(enum policy_vote_check c)
{
	switch (c) {
	case POLICY_VOTE_OK:
		return "ok";
	case POLICY_VOTE_REQUESTER_CANNOT_APPROVE:
		return "requester_cannot_approve";
	case POLICY_VOTE_NOT_A_MEMBER:
		return "not_a_member";
	case POLICY_VOTE_NOT_REQUIRED:
		return "not_required";
	case POLICY_VOTE_REQUESTER_CANNOT_BREAK_GLASS:
		return "requester_cannot_break_glass";
	case POLICY_VOTE_BREAK_GLASS_NOT_ALLOWED:
		return "break_glass_not_allowed";
	case POLICY_VOTE_JUSTIFICATION_TOO_SHORT:
		return "justification_too_short";
	case POLICY_VOTE_EDITOR_CANNOT_APPROVE:
		return "editor_cannot_approve";
	}
	return "unknown";
}

/* The required group entry named `name`, or NULL. */
static json_t *required_group(json_t *required, const char *name)
{
	size_t i;
	json_t *g;

	json_array_foreach(json_object_get(required, "groups"), i, g) {
		const char *n = json_string_value(json_object_get(g, "group"));
		if (n != NULL && name != NULL && strcmp(n, name) == 0)
			return g;
	}
	return NULL;
}

/* Whether required.groups is usable: every entry an object with a string "group". */
static bool groups_valid(json_t *groups)
{
	size_t i;
	json_t *g;

	if (!json_is_array(groups))
		return false;
	json_array_foreach(groups, i, g) {
		if (!json_is_string(json_object_get(g, "group")))
			return false;
	}
	return true;
}

/*
 * The required group a vote without one goes to: among the groups whose eligible members
 * include `user` (and, when `set` is given, whose current members do), the one with the
 * least slack (eligible members minus quorum), the first on a tie; -1 when none.  So a
 * person needed by a small group is not used up by a large one.
 */
static long long pick_group(const struct policy_set *set, json_t *groups, const char *user)
{
	long long best = -1, best_slack = 0;
	size_t i;
	json_t *g;

	json_array_foreach(groups, i, g) {
		json_t *eligible = json_object_get(g, "eligible");
		const char *name = json_string_value(json_object_get(g, "group"));
		if (!has_str(eligible, user) ||
		    (set != NULL && !policy_people_has(set->people, name, user)))
			continue;
		long long slack = (long long)json_array_size(eligible) -
				  (long long)json_integer_value(json_object_get(g, "quorum"));
		if (best < 0 || slack < best_slack) {
			best = (long long)i;
			best_slack = slack;
		}
	}
	return best;
}

/* Whether `sod` of `required` has `rule` on (absent: on). */
static bool sod_on(json_t *required, const char *rule)
{
	json_t *v = json_object_get(json_object_get(required, "sod"), rule);

	return !json_is_false(v);
}

enum policy_vote_check policy_vote_allowed(const struct policy_set *set, json_t *required,
					   json_t *change, const char *voter, const char *group,
					   const char **group_out, char *reason, size_t reason_size)
{
	const char *who = policy_canonical_user(set, voter);
	const char *requester =
		policy_canonical_user(set, json_string_value(json_object_get(change, "requester")));
	const char *id = json_string_value(json_object_get(change, "id"));

	if (group_out != NULL)
		*group_out = NULL;
	if (who == NULL || who[0] == '\0') {
		policy_say(reason, reason_size, "not_a_member: no voter given");
		return POLICY_VOTE_NOT_A_MEMBER;
	}
	/* the rule holds when the current policy or the request says so */
	if (requester != NULL && strcmp(who, requester) == 0 &&
	    (set->approvals->requester_cannot_approve ||
	     sod_on(required, "requester_cannot_approve"))) {
		policy_say(reason, reason_size,
			   "requester_cannot_approve: %.100s requested %.40s and cannot vote on it",
			   who, id != NULL ? id : "this change");
		return POLICY_VOTE_REQUESTER_CANNOT_APPROVE;
	}
	/* whoever wrote the change's content is no more independent than its requester */
	json_t *editor;
	size_t k;
	json_array_foreach(json_object_get(change, "editors"), k, editor) {
		const char *e = policy_canonical_user(set, json_string_value(editor));
		if (e != NULL && strcmp(e, who) == 0 &&
		    (set->approvals->editors_cannot_approve ||
		     json_is_true(json_object_get(json_object_get(required, "sod"),
						  "editors_cannot_approve")))) {
			policy_say(
				reason, reason_size,
				"editor_cannot_approve: %.100s edited %.40s and cannot vote on it",
				who, id != NULL ? id : "this change");
			return POLICY_VOTE_EDITOR_CANNOT_APPROVE;
		}
	}
	if (group != NULL) {
		json_t *g = required_group(required, group);
		if (g == NULL) {
			policy_say(
				reason, reason_size,
				"not_required: group '%.100s' is not asked to approve this change",
				group);
			return POLICY_VOTE_NOT_REQUIRED;
		}
		if (!policy_people_has(set->people, group, who)) {
			policy_say(reason, reason_size,
				   "not_a_member: %.100s is not a member of group '%.100s'", who,
				   group);
			return POLICY_VOTE_NOT_A_MEMBER;
		}
		if (!has_str(json_object_get(g, "eligible"), who)) {
			policy_say(
				reason, reason_size,
				"not_a_member: %.100s was not an eligible member of '%.100s' when "
				"approvals were requested",
				who, group);
			return POLICY_VOTE_NOT_A_MEMBER;
		}
		if (group_out != NULL)
			*group_out = json_string_value(json_object_get(g, "group"));
		policy_say(reason, reason_size, "ok: %.100s votes for group '%.100s'", who, group);
		return POLICY_VOTE_OK;
	}
	json_t *groups = json_object_get(required, "groups");
	long long pos = groups_valid(groups) ? pick_group(set, groups, who) : -1;
	if (pos >= 0) {
		const char *name = json_string_value(
			json_object_get(json_array_get(groups, (size_t)pos), "group"));
		if (group_out != NULL)
			*group_out = name;
		policy_say(reason, reason_size, "ok: %.100s votes for group '%.100s'", who, name);
		return POLICY_VOTE_OK;
	}
	policy_say(reason, reason_size,
		   "not_a_member: %.100s is not an eligible member of any group asked to approve",
		   who);
	return POLICY_VOTE_NOT_A_MEMBER;
}

bool policy_owner_team(const struct policy_set *set)
{
	return set != NULL && set->approvals->owner_team;
}

/* ---- tally ---------------------------------------------------------------------------- */

/* One vote that passed the checks. */
struct vote {
	const char *user;
	size_t group; /* position in required.groups */
	const char *decision;
	json_t *at;
	bool counts; /* the latest of its user (and group) */
};

/* Checks `v`; fills `out` and returns true, or appends to `ignored` and returns false. */
static bool vote_check(json_t *groups, json_t *v, struct vote *out, json_t *ignored, bool *oom)
{
	const char *user = json_string_value(json_object_get(v, "user"));
	const char *decision = json_string_value(json_object_get(v, "decision"));
	json_t *gv = json_object_get(v, "group");
	char why[POLICY_REASON_MAX];
	long long pos = -1;

	if (user == NULL) {
		policy_say(why, sizeof why, "no user");
	} else if (decision == NULL ||
		   (strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0 &&
		    strcmp(decision, "abstain") != 0)) {
		policy_say(why, sizeof why, "unknown decision '%.40s'",
			   decision != NULL ? decision : "(none)");
	} else if (gv == NULL || json_is_null(gv)) {
		pos = pick_group(NULL, groups, user);
		if (pos < 0)
			policy_say(why, sizeof why, "not eligible in any required group");
	} else if (!json_is_string(gv)) {
		policy_say(why, sizeof why, "group is not a string");
	} else {
		size_t i;
		json_t *g;
		json_array_foreach(groups, i, g) {
			if (strcmp(json_string_value(json_object_get(g, "group")),
				   json_string_value(gv)) == 0)
				pos = (long long)i;
		}
		if (pos < 0)
			policy_say(why, sizeof why, "group '%.100s' is not required",
				   json_string_value(gv));
		else if (!has_str(json_object_get(json_array_get(groups, (size_t)pos), "eligible"),
				  user)) {
			policy_say(why, sizeof why, "not eligible in group '%.100s'",
				   json_string_value(gv));
			pos = -1;
		}
	}
	if (pos >= 0) {
		*out = (struct vote){user, (size_t)pos, decision, json_object_get(v, "at"), false};
		return true;
	}
	if (json_array_append_new(ignored, json_pack("{s:s?, s:s}", "user", user, "reason", why)) !=
	    0)
		*oom = true;
	return false;
}

/* Builds the tally entry of group `gi`. */
static json_t *group_tally(json_t *g, size_t gi, const struct vote *votes, size_t n,
			   bool per_person, bool *rejected)
{
	json_t *eligible = json_object_get(g, "eligible");
	json_int_t quorum = json_integer_value(json_object_get(g, "quorum"));
	bool one_rejection = json_is_true(json_object_get(g, "one_rejection_rejects"));
	long long approvals = 0, rejections = 0, abstentions = 0;
	json_t *voted = json_array(), *pending = json_array();
	size_t i;
	json_t *m;

	if (quorum < 1)
		quorum = 1;
	for (size_t k = 0; voted != NULL && k < n; k++) {
		if (!votes[k].counts || votes[k].group != gi)
			continue;
		if (strcmp(votes[k].decision, "approve") == 0)
			approvals++;
		else if (strcmp(votes[k].decision, "reject") == 0)
			rejections++;
		else
			abstentions++;
		if (json_array_append_new(
			    voted, json_pack("{s:s, s:s, s:O?}", "user", votes[k].user, "decision",
					     votes[k].decision, "at", votes[k].at)) != 0)
			goto nomem;
	}
	json_array_foreach(eligible, i, m) {
		bool has_voted = false;
		for (size_t k = 0; !has_voted && k < n; k++)
			has_voted = votes[k].counts && json_is_string(m) &&
				    strcmp(votes[k].user, json_string_value(m)) == 0 &&
				    (per_person || votes[k].group == gi);
		if (!has_voted && json_is_string(m) && json_array_append(pending, m) != 0)
			goto nomem;
	}
	long long n_eligible = (long long)json_array_size(eligible);
	bool g_rejected = one_rejection ? rejections >= 1
					: rejections > 0 && rejections > n_eligible - quorum;
	bool g_satisfied = !g_rejected && approvals >= quorum;
	*rejected = g_rejected;
	return json_pack("{s:O, s:I, s:I, s:I, s:I, s:b, s:b, s:o, s:o}", "group",
			 json_object_get(g, "group"), "quorum", quorum, "approvals",
			 (json_int_t)approvals, "rejections", (json_int_t)rejections, "abstentions",
			 (json_int_t)abstentions, "satisfied", g_satisfied, "rejected", g_rejected,
			 "voted", voted, "pending", pending);
nomem:
	json_decref(voted);
	json_decref(pending);
	return NULL;
}

json_t *policy_approvals_tally(json_t *required, json_t *votes)
{
	json_t *groups = json_object_get(required, "groups");
	bool per_person = sod_on(required, "one_vote_per_person");
	size_t n = json_array_size(votes), n_ok = 0;
	struct vote *v = NULL;
	json_t *ignored = json_array(), *out_groups = json_array(), *seen = json_object();
	bool oom = false, all_satisfied = true, any_rejected = false;

	if (!groups_valid(groups))
		goto fail;
	v = calloc(n + 1, sizeof *v);
	if (v == NULL || ignored == NULL || out_groups == NULL || seen == NULL)
		goto fail;
	for (size_t i = 0; i < n && !oom; i++)
		if (vote_check(groups, json_array_get(votes, i), &v[n_ok], ignored, &oom))
			n_ok++;
	/* the latest vote per user (and group) counts; earlier ones are replaced */
	for (size_t k = n_ok; k-- > 0 && !oom;) {
		char key[300];
		snprintf(key, sizeof key, "%.200s\n%zu", v[k].user, per_person ? 0 : v[k].group);
		if (json_object_get(seen, key) == NULL) {
			v[k].counts = true;
			oom = json_object_set_new(seen, key, json_true()) != 0;
		}
	}
	for (size_t k = 0; k < n_ok && !oom; k++)
		if (!v[k].counts &&
		    json_array_append_new(ignored,
					  json_pack("{s:s, s:s}", "user", v[k].user, "reason",
						    "replaced by a later vote")) != 0)
			oom = true;
	for (size_t gi = 0; gi < json_array_size(groups) && !oom; gi++) {
		bool rejected = false;
		json_t *t =
			group_tally(json_array_get(groups, gi), gi, v, n_ok, per_person, &rejected);
		if (t == NULL || json_array_append_new(out_groups, t) != 0) {
			oom = true;
			break;
		}
		any_rejected = any_rejected || rejected;
		all_satisfied = all_satisfied && json_is_true(json_object_get(t, "satisfied"));
	}
	if (oom)
		goto fail;
	free(v);
	json_decref(seen);
	bool satisfied = !any_rejected && all_satisfied && json_array_size(groups) > 0;
	return json_pack("{s:b, s:b, s:o, s:o}", "satisfied", satisfied, "rejected", any_rejected,
			 "groups", out_groups, "ignored", ignored);
fail:
	free(v);
	json_decref(ignored);
	json_decref(out_groups);
	json_decref(seen);
	return NULL;
}

/* ---- break glass ---------------------------------------------------------------------- */

/* Characters (code points) of `s` without leading and trailing blanks. */
static size_t trimmed_chars(const char *s)
{
	const char *end = s + strlen(s);
	size_t n = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (; s < end; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

enum policy_vote_check policy_break_glass_allowed(const struct policy_set *set, json_t *change,
						  const char *manager, const char *justification,
						  char *reason, size_t reason_size)
{
	const struct policy_approvals *a = set->approvals;
	const char *who = policy_canonical_user(set, manager);
	const char *requester =
		policy_canonical_user(set, json_string_value(json_object_get(change, "requester")));

	if (a->bg_group == NULL) {
		policy_say(reason, reason_size,
			   "break_glass_not_allowed: break glass is not configured");
		return POLICY_VOTE_BREAK_GLASS_NOT_ALLOWED;
	}
	if (who == NULL || !policy_people_has(set->people, a->bg_group, who)) {
		policy_say(reason, reason_size,
			   "not_a_member: %.100s is not a member of group '%.100s'",
			   who != NULL ? who : "(nobody)", a->bg_group);
		return POLICY_VOTE_NOT_A_MEMBER;
	}
	if (a->requester_cannot_break_glass && requester != NULL && strcmp(requester, who) == 0) {
		policy_say(reason, reason_size,
			   "requester_cannot_break_glass: %.100s requested this change", who);
		return POLICY_VOTE_REQUESTER_CANNOT_BREAK_GLASS;
	}
	if (a->bg_when != NULL) {
		struct policy_env env = {0};
		struct expr_error xe = {0};
		bool yes = false, ok = false;
		if (json_is_object(change) &&
		    policy_env_init(&env, set, NULL, change, NULL, NULL, NULL) == 0)
			ok = expr_eval_bool(a->bg_when, policy_env_get, &env, &yes, &xe);
		else
			policy_say(xe.message, sizeof xe.message, "cannot evaluate");
		policy_env_clear(&env);
		if (!ok || !yes) {
			policy_say(reason, reason_size, "break_glass_not_allowed: %s%.150s",
				   ok ? "the change does not match " : "",
				   ok ? expr_source(a->bg_when) : xe.message);
			return POLICY_VOTE_BREAK_GLASS_NOT_ALLOWED;
		}
	}
	if (justification == NULL ||
	    (long long)trimmed_chars(justification) < a->bg_min_justification) {
		policy_say(reason, reason_size,
			   "justification_too_short: at least %lld characters are required",
			   a->bg_min_justification);
		return POLICY_VOTE_JUSTIFICATION_TOO_SHORT;
	}
	policy_say(reason, reason_size, "ok: %.100s may break glass", who);
	return POLICY_VOTE_OK;
}

json_t *policy_break_glass(const char *manager, const char *justification, long long now_ms)
{
	char at[TIME_RFC3339_LEN];

	if (manager == NULL || justification == NULL || trimmed_chars(manager) == 0 ||
	    trimmed_chars(justification) == 0 || now_ms < 0 || now_ms > TIME_MS_MAX)
		return NULL;
	time_format_ms(now_ms, at);
	json_t *reason = json_sprintf("break glass by %s: %s", manager, justification);
	if (reason == NULL)
		return NULL;
	return json_pack("{s:b, s:b, s:{s:s, s:s, s:s, s:I}, s:{s:b, s:o}}", "satisfied", true,
			 "rejected", false, "break_glass", "by", manager, "justification",
			 justification, "at", at, "at_ms", (json_int_t)now_ms, "review", "required",
			 true, "reason", reason);
}
