/*
 * test_identity.c -- the pure parts of app/identity.h: which bearer tokens are taken for
 * JWTs, and how policies/identity.json maps verified claims to a user, roles and a
 * pipeline's services (the first matching rule decides; string or array claims).
 */
#include <string.h>

#include "../unit/harness.h"
#include "app/identity.h"
#include "auth/roles.h"

static void test_jwt_shape(void)
{
	CHECK(identity_is_jwt("eyJh.eyJz.c2ln"));
	CHECK(identity_is_jwt("eyJh.eyJz.")); /* alg none has an empty signature */
	CHECK(!identity_is_jwt("trn_abc.def.ghi"));
	CHECK(!identity_is_jwt("trn_0123456789abcdefABCDEF-_"));
	CHECK(!identity_is_jwt("a.b"));
	CHECK(!identity_is_jwt("a.b.c.d"));
	CHECK(!identity_is_jwt(".b.c"));
	CHECK(!identity_is_jwt("a..c"));
	CHECK(!identity_is_jwt("a.b+/.c"));
	CHECK(!identity_is_jwt(""));
}

static void test_claim_mapping(void)
{
	json_t *policy = json_loads(
		"{\"rules\": ["
		"{\"match\": {\"repository\": \"acme/payments\", \"ref\": [\"refs/heads/main\","
		" \"refs/tags/v1\"]}, \"user\": \"ci-payments\", \"roles\": [\"pipeline\"],"
		" \"services\": [\"payments\", \"payments-db\"]},"
		"{\"match\": {\"groups\": \"change-managers\"}, \"roles\": [\"change_manager\","
		" \"requester\"]}]}",
		0, NULL);
	CHECK(policy != NULL);
	struct identity_user u;
	json_t *c =
		json_loads("{\"sub\": \"repo:acme/payments\", \"repository\": \"acme/payments\","
			   " \"ref\": \"refs/tags/v1\"}",
			   0, NULL);
	CHECK(identity_map(policy, c, &u));
	CHECK_STR(u.user.name, "ci-payments");
	CHECK_INT(u.user.roles, ROLE_PIPELINE);
	CHECK(u.scoped);
	CHECK_STR(u.services, "payments payments-db");
	json_decref(c);
	/* every member of match must hold: another ref matches no rule, so no role */
	c = json_loads("{\"sub\": \"repo:acme/payments\", \"repository\": \"acme/payments\","
		       " \"ref\": \"refs/heads/dev\"}",
		       0, NULL);
	CHECK(identity_map(policy, c, &u));
	CHECK_STR(u.user.name, "repo:acme/payments");
	CHECK_INT(u.user.roles, 0);
	CHECK(!u.scoped);
	json_decref(c);
	/* an array claim (groups) contains the value; no user in the rule: the sub */
	c = json_loads("{\"sub\": \"alice\", \"email\": \"alice@example.org\","
		       " \"groups\": [\"staff\", \"change-managers\"]}",
		       0, NULL);
	CHECK(identity_map(policy, c, &u));
	CHECK_STR(u.user.name, "alice");
	CHECK_STR(u.user.email, "alice@example.org");
	CHECK_INT(u.user.roles, ROLE_CHANGE_MANAGER | ROLE_REQUESTER);
	CHECK(!u.scoped);
	json_decref(c);
	/* no policy: known, without roles; a sub too long for a user name is refused */
	c = json_loads("{\"sub\": \"bob\"}", 0, NULL);
	CHECK(identity_map(NULL, c, &u));
	CHECK_INT(u.user.roles, 0);
	json_decref(c);
	char longsub[300];
	memset(longsub, 'x', sizeof longsub - 1);
	longsub[sizeof longsub - 1] = '\0';
	c = json_pack("{s:s}", "sub", longsub);
	CHECK(!identity_map(NULL, c, &u));
	json_decref(c);
	json_decref(policy);
}

static void test_no_issuer_refuses_every_jwt(void)
{
	json_t *claims = NULL;
	struct tr_error e = {0};
	CHECK_INT(identity_verify(NULL, "eyJh.eyJz.c2ln", "aud", 0, &claims, &e),
		  TR_E_UNAUTHENTICATED);
	CHECK_INT(e.rule_code, TR_R_TOKEN_NOT_ACCEPTED);
	CHECK(claims == NULL);
}

TESTS(test_jwt_shape, test_claim_mapping, test_no_issuer_refuses_every_jwt)
