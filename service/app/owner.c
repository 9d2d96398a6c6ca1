/*
 * owner.c -- who a change belongs to.  Its requester (and, when approvals.json says
 * "ownership": {"team": true}, the requester's team) may edit, submit and cancel it; so
 * may a change manager or an admin.  Everyone else may read it.  The same answer filters
 * available_events (records.c).
 */
#include <stdio.h>
#include <string.h>

#include "auth/roles.h"
#include "app/records_int.h"

bool rec_may_manage(const struct rec_ctx *c, const char *kind, json_t *record)
{
	if (kind == NULL || strcmp(kind, "change") != 0)
		return true;
	if ((c->roles & (ROLE_CHANGE_MANAGER | ROLE_ADMIN)) != 0 || c->actor == NULL ||
	    strcmp(c->actor, "system") == 0)
		return true;
	const char *requester = json_string_value(json_object_get(record, "requester"));
	if (requester == NULL || strcmp(requester, c->actor) == 0)
		return true;
	const struct policy_set *set = c->defs->policies;
	const struct policy_user *me = policy_user_resolve(set, c->actor);
	const struct policy_user *them = policy_user_resolve(set, requester);
	if (me != NULL && me == them)
		return true; /* the same person under an alias */
	return policy_owner_team(set) && me != NULL && them != NULL && me->team != NULL &&
	       them->team != NULL && strcmp(me->team, them->team) == 0;
}

enum db_status rec_refuse_not_owner(struct rec_job *j, json_t *record, const char *what)
{
	const char *requester = json_string_value(json_object_get(record, "requester"));
	tr_error_set(j->err, TR_E_FORBIDDEN, NULL,
		     "owner_only: %s belongs to %s; only its requester%s, a change manager or an "
		     "admin may %s it",
		     j->id ? j->id : "this change", requester ? requester : "its requester",
		     policy_owner_team(j->c->defs->policies) ? " (or the requester's team)" : "",
		     what);
	tr_error_rule(j->err, TR_R_OWNER_ONLY);
	return rec_refuse(j, TR_E_FORBIDDEN);
}
