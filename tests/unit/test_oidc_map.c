/*
 * test_oidc_map.c -- the pure parts of app/oidc_login.h: how policies/identity.json's
 * sign_in maps an ID token's claims to a person (user name claim, e-mail, display name),
 * roles (default roles plus every matching rule) and policy groups.
 */
#include <string.h>

#include "../unit/harness.h"
#include "app/oidc_login.h"
#include "auth/roles.h"

static json_t *policy(void)
{
	json_t *p = json_loads(
		"{\"sign_in\": {\"default_roles\": [\"requester\"], \"rules\": ["
		"{\"match\": {\"groups\": \"transom-cab\"}, \"roles\": [\"cab\"]},"
		"{\"match\": {\"groups\": [\"transom-admins\", \"ops\"]}, \"roles\": [\"admin\"]}],"
		" \"groups\": [{\"match\": {\"groups\": \"transom-cab\"}, \"group\": \"cab\"},"
		"{\"match\": {\"groups\": \"transom-ecab\"}, \"group\": \"ecab\"}]}}",
		0, NULL);
	CHECK(p != NULL);
	return p;
}

static void test_person_and_roles(void)
{
	json_t *p = policy();
	json_t *c = json_loads("{\"sub\": \"0a1b\", \"preferred_username\": \"alice\","
			       " \"email\": \"alice@example.org\", \"name\": \"Alice Martin\","
			       " \"groups\": [\"transom-cab\", \"ops\"]}",
			       0, NULL);
	struct app_user u;
	CHECK(app_oidc_map(p, c, &u));
	CHECK_STR(u.name, "alice");
	CHECK_STR(u.email, "alice@example.org");
	CHECK_STR(u.display_name, "Alice Martin");
	CHECK_INT(u.roles, ROLE_REQUESTER | ROLE_CAB | ROLE_ADMIN); /* every matching rule */
	char groups[128];
	app_oidc_groups(p, c, groups, sizeof groups);
	CHECK_STR(groups, "cab");
	json_decref(c);
	/* no groups: the default roles only, no policy group */
	c = json_loads("{\"sub\": \"0a1c\", \"preferred_username\": \"bob\"}", 0, NULL);
	CHECK(app_oidc_map(p, c, &u));
	CHECK_INT(u.roles, ROLE_REQUESTER);
	CHECK_STR(u.email, "");
	app_oidc_groups(p, c, groups, sizeof groups);
	CHECK_STR(groups, "");
	json_decref(c);
	json_decref(p);
}

static void test_user_name_claim(void)
{
	struct app_user u;
	/* without preferred_username: sub */
	json_t *c = json_loads("{\"sub\": \"s-42\"}", 0, NULL);
	CHECK(app_oidc_map(NULL, c, &u));
	CHECK_STR(u.name, "s-42");
	CHECK_INT(u.roles, 0); /* no policy: no role (the sign-in is then refused) */
	json_decref(c);
	/* a configured claim must be there: no falling back to sub */
	json_t *p = json_loads("{\"sign_in\": {\"user_claim\": \"email\"}}", 0, NULL);
	c = json_loads("{\"sub\": \"s-42\"}", 0, NULL);
	CHECK(!app_oidc_map(p, c, &u));
	json_decref(c);
	/* names with separators are refused */
	c = json_loads("{\"sub\": \"s\", \"email\": \"a,b@example.org\"}", 0, NULL);
	CHECK(!app_oidc_map(p, c, &u));
	json_decref(c);
	c = json_loads("{\"sub\": \"s\", \"email\": \"a/b@example.org\"}", 0, NULL);
	CHECK(!app_oidc_map(p, c, &u));
	json_decref(c);
	json_decref(p);
	/* Transom's own actor is not a name the provider may give */
	c = json_loads("{\"sub\": \"s\", \"preferred_username\": \"system\"}", 0, NULL);
	CHECK(!app_oidc_map(NULL, c, &u));
	json_decref(c);
	p = json_loads("{\"sign_in\": {\"user_claim\": \"email\"}}", 0, NULL);
	c = json_loads("{\"sub\": \"s\", \"email\": \"carol@example.org\"}", 0, NULL);
	CHECK(app_oidc_map(p, c, &u));
	CHECK_STR(u.name, "carol@example.org");
	json_decref(c);
	json_decref(p);
}

TESTS(test_person_and_roles, test_user_name_claim)
