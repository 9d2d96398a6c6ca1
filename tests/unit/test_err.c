/*
 * test_err.c -- the error table and the problem shape's ingredients.
 */
#include "../unit/harness.h"
#include "auth/roles.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "policy/policy.h"

#include <ctype.h>

static void test_every_code_has_a_status_slug_and_title(void)
{
	for (int c = 0; c < TR_CODE_COUNT_; c++) {
		int st = tr_code_http_status((enum tr_code)c);
		CHECKF(st >= 200 && st <= 599, "code %d status %d", c, st);
		CHECKF(c == TR_OK || st >= 400, "code %s status %d", tr_code_name(c), st);
		CHECK(strlen(tr_code_slug((enum tr_code)c)) > 0);
		CHECK(strlen(tr_code_title((enum tr_code)c)) > 0);
		for (int d = 0; d < c; d++)
			CHECKF(strcmp(tr_code_slug((enum tr_code)c),
				      tr_code_slug((enum tr_code)d)) != 0,
			       "codes %d and %d share a slug", c, d);
	}
	CHECK_INT(tr_code_http_status(TR_E_NOT_FOUND), 404);
	CHECK_INT(tr_code_http_status(TR_E_PRECONDITION_REQUIRED), 428);
	CHECK_INT(tr_code_http_status((enum tr_code)9999), 500);
}

/* Code names are unique, the slug in upper case, and every row is documented. */
static void test_every_code_has_a_unique_documented_name(void)
{
	for (int c = 0; c < TR_CODE_COUNT_; c++) {
		const char *name = tr_code_name((enum tr_code)c), *slug = tr_code_slug(c);
		CHECKF(strlen(name) > 0 && strlen(name) == strlen(slug), "code %d '%s'", c, name);
		for (size_t i = 0; name[i] && slug[i]; i++) {
			char want = slug[i] == '-' ? '_' : (char)toupper((unsigned char)slug[i]);
			CHECKF(name[i] == want, "code %s is not its slug '%s' in upper case", name,
			       slug);
		}
		for (int d = 0; d < c; d++)
			CHECKF(strcmp(name, tr_code_name((enum tr_code)d)) != 0,
			       "codes %d and %d share the name %s", c, d, name);
		const char *m = tr_code_meaning((enum tr_code)c);
		CHECKF(strlen(m) >= 20 && m[strlen(m) - 1] == '.',
		       "code %s has no meaning paragraph", name);
		if (tr_code_is_rule((enum tr_code)c))
			CHECK_INT(tr_code_of_rule(slug), c);
	}
	CHECK_STR(tr_code_name(TR_E_NOT_FOUND), "NOT_FOUND");
	CHECK_STR(tr_code_name(TR_R_REQUESTER_CANNOT_APPROVE), "REQUESTER_CANNOT_APPROVE");
	CHECK(!tr_code_is_rule(TR_E_CONFLICT) && tr_code_is_rule(TR_R_STATE));
	CHECK_INT(tr_code_of_rule("no such rule"), TR_OK);
	CHECK_INT(tr_code_of_rule(NULL), TR_OK);
}

/* Every rule policy_vote_rule() can name is registered (approvals pass it on). */
static void test_every_vote_rule_is_registered(void)
{
	for (int c = POLICY_VOTE_REQUESTER_CANNOT_APPROVE; c <= POLICY_VOTE_EDITOR_CANNOT_APPROVE;
	     c++) {
		const char *rule = policy_vote_rule((enum policy_vote_check)c);
		enum tr_code code = tr_code_of_rule(rule);
		CHECKF(tr_code_is_rule(code), "vote rule '%s' is not registered", rule);
		int want = c == POLICY_VOTE_JUSTIFICATION_TOO_SHORT ? 422 : 403;
		CHECKF(tr_code_http_status(code) == want, "vote rule '%s' status %d", rule,
		       tr_code_http_status(code));
	}
}

static void test_error_set_formats_and_names_the_field(void)
{
	struct tr_error e;
	CHECK_INT(tr_error_set(&e, TR_E_UNPROCESSABLE, "services", "unknown service '%s'", "x"),
		  TR_E_UNPROCESSABLE);
	CHECK_STR(e.field, "services");
	CHECK_STR(e.detail, "unknown service 'x'");
	CHECK_INT(tr_error_public_code(&e), TR_E_UNPROCESSABLE);
	tr_error_rule(&e, TR_R_CATALOG);
	CHECK_STR(e.rule, "catalog");
	CHECK_INT(tr_error_public_code(&e), TR_R_CATALOG);
	tr_error_rule_as(&e, TR_R_GUARD, "has_backout_plan");
	CHECK_STR(e.rule, "has_backout_plan");
	CHECK_STR(tr_code_name(tr_error_public_code(&e)), "GUARD");
	tr_error_rule(&e, TR_E_CONFLICT); /* not a rule: clears it */
	CHECK_STR(e.rule, "");
	CHECK_INT(tr_error_public_code(&e), TR_E_UNPROCESSABLE);
	tr_error_rule(&e, TR_R_STATE);
	tr_error_set(&e, TR_E_CONFLICT, NULL, "again"); /* a new error has no rule */
	CHECK_INT(tr_error_public_code(&e), TR_E_CONFLICT);
	CHECK_INT(tr_error_set(NULL, TR_E_CONFLICT, NULL, "ignored"), TR_E_CONFLICT);
	tr_error_rule(NULL, TR_R_STATE);
}

static void test_roles(void)
{
	unsigned m;
	char bad[32], out[128];
	CHECK_INT(roles_parse("cab,admin", &m, bad, sizeof bad), 0);
	CHECK_INT(m, ROLE_CAB | ROLE_ADMIN);
	CHECK_STR(roles_format(m, out, sizeof out), "cab,admin");
	CHECK_INT(roles_parse("cab,,admin", &m, bad, sizeof bad), -1);
	CHECK_INT(roles_parse("cab,wizard", &m, bad, sizeof bad), -1);
	CHECK_STR(bad, "wizard");
	CHECK(role_from_name("pipeline") == ROLE_PIPELINE);
	CHECK(role_name(ROLE_CAB | ROLE_ADMIN) == NULL);
}

static void test_sha256_and_tokens(void)
{
	char hex[CRYPTO_SHA256_HEX_LEN], t1[64], t2[64];
	crypto_sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(crypto_token("trn_", 32, t1, sizeof t1));
	CHECK(crypto_token("trn_", 32, t2, sizeof t2));
	CHECK_INT(strlen(t1), 4 + 43);
	CHECK(strcmp(t1, t2) != 0);
	CHECK(strspn(t1 + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	      43);
	CHECK(!crypto_token("trn_", 32, t1, 20)); /* too small a buffer */
}

TESTS(test_every_code_has_a_status_slug_and_title, test_every_code_has_a_unique_documented_name,
      test_every_vote_rule_is_registered, test_error_set_formats_and_names_the_field, test_roles,
      test_sha256_and_tokens)
