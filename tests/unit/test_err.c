/*
 * test_err.c -- the error table and the problem shape's ingredients.
 */
#include "../unit/harness.h"
#include "auth/roles.h"
#include "core/err.h"
#include "crypto/crypto.h"

static void test_every_code_has_a_status_slug_and_title(void)
{
	for (int c = 0; c < TR_CODE_COUNT_; c++) {
		int st = tr_code_http_status((enum tr_code)c);
		CHECKF(st >= 200 && st <= 599, "code %d status %d", c, st);
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

static void test_error_set_formats_and_names_the_field(void)
{
	struct tr_error e;
	CHECK_INT(tr_error_set(&e, TR_E_UNPROCESSABLE, "services", "unknown service '%s'", "x"),
		  TR_E_UNPROCESSABLE);
	CHECK_STR(e.field, "services");
	CHECK_STR(e.detail, "unknown service 'x'");
	tr_error_rule(&e, "sod");
	CHECK_STR(e.rule, "sod");
	CHECK_INT(tr_error_set(NULL, TR_E_CONFLICT, NULL, "ignored"), TR_E_CONFLICT);
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

TESTS(test_every_code_has_a_status_slug_and_title, test_error_set_formats_and_names_the_field,
      test_roles, test_sha256_and_tokens)
