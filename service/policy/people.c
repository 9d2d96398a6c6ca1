/*
 * people.c -- policies/people.json: users (name, display name, e-mail and aliases, team)
 * and the groups they belong to; lookups by name, by address, and group membership.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define USER_NAME_MAX 128 /* as for API tokens: 1-128 of A-Z a-z 0-9 . _ @ + - */
#define ADDRESS_MAX   254 /* longest e-mail address */
#define ALIASES_MAX   32  /* aliases per user */

/* Whether `s` is a user name as API tokens accept it. */
static bool user_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > USER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || strchr("._@+-", c) != NULL;
		if (!ok)
			return false;
	}
	return true;
}

/* Whether `s` looks like an e-mail address: local@domain, no blanks, one '@'. */
static bool address_valid(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    n > ADDRESS_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

/* `s` with ASCII letters lowered, into `buf` (ADDRESS_MAX + 1 bytes). */
static void lower_into(char *buf, const char *s)
{
	size_t i = 0;

	for (; s[i] != '\0' && i < ADDRESS_MAX; i++)
		buf[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	buf[i] = '\0';
}

/* Registers address `addr` of user `u` (at `path`); reports a duplicate. */
static void add_address(struct pj *p, json_t *index, const char *addr, size_t u, const char *path)
{
	char low[ADDRESS_MAX + 1];

	if (!address_valid(addr)) {
		policy_pj_diag(p, path, 0, "invalid e-mail address '%.100s'", addr);
		return;
	}
	lower_into(low, addr);
	long long owner = policy_pj_index_get(index, low);
	if (owner == (long long)u)
		policy_pj_diag(p, path, 0, "address '%.100s' listed twice", addr);
	else if (owner >= 0)
		policy_pj_diag(p, path, 0, "address '%.100s' already belongs to users[%lld]", addr,
			       owner);
	else if (json_object_set_new(index, low, json_integer((json_int_t)u)) != 0)
		p->d->oom = true;
}

static void parse_user(struct pj *p, struct policy_people *pp, size_t i, json_t *obj,
		       size_t *n_lists)
{
	static const char *const keys[] = {"name",    "display_name", "email",
					   "aliases", "team",         NULL};
	struct policy_user *u = &pp->users[i];
	char path[48], sub[80];

	policy_pj_path(path, sizeof path, "users[%zu]", i);
	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	u->name = policy_pj_str(p, obj, "name", path, true);
	if (u->name != NULL) {
		policy_pj_path(sub, sizeof sub, "%s.name", path);
		long long first = policy_pj_index_get(pp->user_index, u->name);
		if (!user_name_valid(u->name))
			policy_pj_diag(
				p, sub, 0,
				"invalid user name '%.100s' (1-128 letters, digits and . _ @ + -)",
				u->name);
		else if (first >= 0)
			policy_pj_diag(p, sub, 0, "user '%.100s' is already defined at users[%lld]",
				       u->name, first);
		else if (json_object_set_new(pp->user_index, u->name,
					     json_integer((json_int_t)i)) != 0)
			p->d->oom = true;
	}
	u->display_name = policy_pj_str(p, obj, "display_name", path, true);
	u->email = policy_pj_str(p, obj, "email", path, true);
	if (u->email != NULL) {
		policy_pj_path(sub, sizeof sub, "%s.email", path);
		add_address(p, pp->email_index, u->email, i, sub);
	}
	policy_pj_path(sub, sizeof sub, "%s", path);
	json_t *aliases = policy_pj_array(p, obj, "aliases", sub, false, ALIASES_MAX);
	size_t k;
	json_t *v;
	json_array_foreach(aliases, k, v) {
		policy_pj_path(sub, sizeof sub, "%s.aliases[%zu]", path, k);
		if (!json_is_string(v) || json_string_length(v) == 0)
			policy_pj_diag(p, sub, 0, "expected a non-empty string");
		else
			add_address(p, pp->email_index, json_string_value(v), i, sub);
	}
	*n_lists += json_array_size(aliases) + 1;
	u->team = policy_pj_str(p, obj, "team", path, false);
}

static void parse_group(struct pj *p, struct policy_people *pp, size_t i, json_t *obj,
			size_t *n_lists)
{
	static const char *const keys[] = {"name", "description", "members", "votes_by_calendar",
					   NULL};
	struct policy_group *g = &pp->groups[i];
	char path[48], sub[80];

	policy_pj_path(path, sizeof path, "groups[%zu]", i);
	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	g->name = policy_pj_str(p, obj, "name", path, true);
	if (g->name != NULL) {
		policy_pj_path(sub, sizeof sub, "%s.name", path);
		long long first = policy_pj_index_get(pp->group_index, g->name);
		if (!policy_pj_id_valid(g->name))
			policy_pj_diag(
				p, sub, 0,
				"invalid group name '%.100s' (lowercase letters, digits, '-' and "
				"'_', not first, at most 63 characters)",
				g->name);
		else if (first >= 0)
			policy_pj_diag(p, sub, 0,
				       "group '%.100s' is already defined at groups[%lld]", g->name,
				       first);
		else if (json_object_set_new(pp->group_index, g->name,
					     json_integer((json_int_t)i)) != 0)
			p->d->oom = true;
	}
	g->description = policy_pj_str(p, obj, "description", path, false);
	g->votes_by_calendar = policy_pj_bool(p, obj, "votes_by_calendar", path, false);
	json_t *members = policy_pj_array(p, obj, "members", path, true, POLICY_MAX_ITEMS);
	pp->member_sets[i] = json_object();
	if (pp->member_sets[i] == NULL) {
		p->d->oom = true;
		return;
	}
	size_t k;
	json_t *v;
	json_array_foreach(members, k, v) {
		policy_pj_path(sub, sizeof sub, "%s.members[%zu]", path, k);
		const char *name = json_string_value(v);
		if (name == NULL || name[0] == '\0')
			policy_pj_diag(p, sub, 0, "expected a user name");
		else if (policy_pj_index_get(pp->user_index, name) < 0)
			policy_pj_diag(p, sub, 0, "unknown user '%.100s'", name);
		else if (json_object_get(pp->member_sets[i], name) != NULL)
			policy_pj_diag(p, sub, 0, "user '%.100s' listed twice", name);
		else if (json_object_set_new(pp->member_sets[i], name, json_true()) != 0)
			p->d->oom = true;
	}
	g->n_members = json_array_size(members);
	*n_lists += g->n_members + 1;
}

/* Points every alias and member list into one block; false on OOM. */
static bool build_lists(struct policy_people *pp, json_t *users, json_t *groups, size_t n)
{
	pp->lists = malloc((n != 0 ? n : 1) * sizeof *pp->lists);
	if (pp->lists == NULL)
		return false;
	const char **cur = pp->lists;
	for (size_t i = 0; i < pp->n_users; i++) {
		json_t *aliases = json_object_get(json_array_get(users, i), "aliases");
		pp->users[i].aliases = policy_pj_list_fill(cur, aliases);
		pp->users[i].n_aliases = json_array_size(aliases);
		cur += pp->users[i].n_aliases + 1;
	}
	for (size_t i = 0; i < pp->n_groups; i++) {
		json_t *members = json_object_get(json_array_get(groups, i), "members");
		pp->groups[i].members = policy_pj_list_fill(cur, members);
		cur += pp->groups[i].n_members + 1;
	}
	return true;
}

struct policy_people *policy_parse_people(const char *file, const char *text, size_t len,
					  struct diags *diags)
{
	static const char *const keys[] = {"users", "groups", NULL};
	struct pj p = {.file = file, .d = diags, .before = diags->n};
	struct policy_people *pp = calloc(1, sizeof *pp);
	size_t n_lists = 0;

	if (pp == NULL) {
		diags->oom = true;
		return NULL;
	}
	pp->root = policy_pj_load(&p, text, len);
	if (pp->root == NULL)
		goto fail;
	policy_pj_keys(&p, pp->root, "", keys);
	json_t *users = policy_pj_array(&p, pp->root, "users", "", true, POLICY_MAX_ITEMS);
	json_t *groups = policy_pj_array(&p, pp->root, "groups", "", true, POLICY_MAX_ITEMS);
	pp->n_users = json_array_size(users);
	pp->n_groups = json_array_size(groups);
	pp->users = calloc(pp->n_users + 1, sizeof *pp->users);
	pp->groups = calloc(pp->n_groups + 1, sizeof *pp->groups);
	pp->member_sets = calloc(pp->n_groups + 1, sizeof *pp->member_sets);
	pp->user_index = json_object();
	pp->email_index = json_object();
	pp->group_index = json_object();
	if (pp->users == NULL || pp->groups == NULL || pp->member_sets == NULL ||
	    pp->user_index == NULL || pp->email_index == NULL || pp->group_index == NULL) {
		diags->oom = true;
		goto fail;
	}
	for (size_t i = 0; i < pp->n_users; i++)
		parse_user(&p, pp, i, json_array_get(users, i), &n_lists);
	for (size_t i = 0; i < pp->n_groups; i++)
		parse_group(&p, pp, i, json_array_get(groups, i), &n_lists);
	/* teams name groups: checked once every group is known */
	for (size_t i = 0; i < pp->n_users; i++) {
		const char *team = pp->users[i].team;
		char sub[48];
		if (team != NULL && policy_pj_index_get(pp->group_index, team) < 0) {
			policy_pj_path(sub, sizeof sub, "users[%zu].team", i);
			policy_pj_diag(&p, sub, 0, "unknown group '%.100s'", team);
		}
	}
	if (!policy_pj_ok(&p))
		goto fail;
	if (!build_lists(pp, users, groups, n_lists)) {
		diags->oom = true;
		goto fail;
	}
	return pp;
fail:
	policy_people_free(pp);
	return NULL;
}

void policy_people_free(struct policy_people *pp)
{
	if (pp == NULL)
		return;
	for (size_t i = 0; pp->member_sets != NULL && i < pp->n_groups; i++)
		json_decref(pp->member_sets[i]);
	free(pp->member_sets);
	free(pp->users);
	free(pp->groups);
	free(pp->lists);
	json_decref(pp->user_index);
	json_decref(pp->email_index);
	json_decref(pp->group_index);
	json_decref(pp->root);
	free(pp);
}

/* ---- lookups -------------------------------------------------------------------------- */

const struct policy_user *policy_user_find(const struct policy_set *set, const char *name)
{
	long long i = policy_pj_index_get(set->people->user_index, name);

	return i >= 0 ? &set->people->users[i] : NULL;
}

const struct policy_user *policy_user_by_email(const struct policy_set *set, const char *addr)
{
	char low[ADDRESS_MAX + 1];

	if (addr == NULL || strlen(addr) > ADDRESS_MAX)
		return NULL;
	lower_into(low, addr);
	long long i = policy_pj_index_get(set->people->email_index, low);
	return i >= 0 ? &set->people->users[i] : NULL;
}

const struct policy_user *policy_user_resolve(const struct policy_set *set, const char *who)
{
	const struct policy_user *u = policy_user_find(set, who);

	return u != NULL ? u : policy_user_by_email(set, who);
}

const char *policy_canonical_user(const struct policy_set *set, const char *who)
{
	const struct policy_user *u = who != NULL ? policy_user_resolve(set, who) : NULL;

	return u != NULL ? u->name : who;
}

size_t policy_group_count(const struct policy_set *set)
{
	return set->people->n_groups;
}

const struct policy_group *policy_group_at(const struct policy_set *set, size_t i)
{
	return i < set->people->n_groups ? &set->people->groups[i] : NULL;
}

const struct policy_group *policy_people_group(const struct policy_people *p, const char *name)
{
	long long i = policy_pj_index_get(p->group_index, name);

	return i >= 0 ? &p->groups[i] : NULL;
}

const struct policy_group *policy_group_find(const struct policy_set *set, const char *name)
{
	return policy_people_group(set->people, name);
}

bool policy_people_has(const struct policy_people *p, const char *group, const char *user)
{
	long long i = policy_pj_index_get(p->group_index, group);

	return i >= 0 && user != NULL && json_object_get(p->member_sets[i], user) != NULL;
}

bool policy_group_has(const struct policy_set *set, const char *group, const char *user)
{
	return policy_people_has(set->people, group, policy_canonical_user(set, user));
}

json_t *policy_user_groups(const struct policy_set *set, const char *user)
{
	const char *name = policy_canonical_user(set, user);
	json_t *out = json_array();

	for (size_t i = 0; out != NULL && name != NULL && i < set->people->n_groups; i++) {
		if (json_object_get(set->people->member_sets[i], name) == NULL)
			continue;
		if (json_array_append_new(out, json_string(set->people->groups[i].name)) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}
