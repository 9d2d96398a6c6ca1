/*
 * test_authres.c -- the DMARC verdict of a trusted MTA from Authentication-Results
 * (mail/authres.h): only the trusted authserv-id counts, its topmost header decides,
 * comments and spacing per RFC 8601, header.from must be the From domain.
 */
#include <string.h>

#include "../unit/harness.h"
#include "mail/authres.h"

#define ID "mx.transom.test"

static enum authres_verdict one(const char *h, const char *from)
{
	const char *hs[] = {h};
	return authres_dmarc(hs, 1, ID, from, NULL, 0);
}

static void test_pass_and_failures(void)
{
	CHECK_INT(one(ID "; spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com",
		      "a@example.com"),
		  AUTHRES_PASS);
	CHECK_INT(one("MX.Transom.Test 1; dmarc = pass (p=none) header.from=example.com", NULL),
		  AUTHRES_PASS);
	CHECK_INT(one(ID "; dmarc=fail (p=reject) header.from=example.com", "a@example.com"),
		  AUTHRES_NOT_PASS);
	CHECK_INT(one(ID "; spf=pass", "a@example.com"), AUTHRES_NOT_PASS);
	CHECK_INT(one(ID "; none", "a@example.com"), AUTHRES_NOT_PASS);
	CHECK_INT(one(ID "; dmarc=pass header.from=evil.example", "a@example.com"),
		  AUTHRES_OTHER_DOMAIN);
	CHECK_INT(one("mx.evil.example; dmarc=pass", "a@example.com"), AUTHRES_NO_HEADER);
	/* A comment does not hide or fake a result. */
	CHECK_INT(one(ID " (dmarc=pass); dmarc=fail", NULL), AUTHRES_NOT_PASS);
	CHECK_INT(one(ID "; dmarc=none (dmarc=pass)", NULL), AUTHRES_NOT_PASS);
	CHECK_INT(one("mx.transom.test.evil.example; dmarc=pass", NULL), AUTHRES_NO_HEADER);
}

static void test_topmost_trusted_header_decides(void)
{
	char why[160];
	const char *hs[] = {"mx.evil.example; dmarc=pass", NULL, ID "; dmarc=fail",
			    ID "; dmarc=pass"};
	CHECK_INT(authres_dmarc(hs, 4, ID, "a@example.com", why, sizeof why), AUTHRES_NOT_PASS);
	CHECK_STR(why, "dmarc=fail per " ID);
	const char *none[] = {"mx.evil.example; dmarc=pass"};
	CHECK_INT(authres_dmarc(none, 1, ID, NULL, why, sizeof why), AUTHRES_NO_HEADER);
	CHECK_STR(why, "no Authentication-Results from " ID);
	CHECK_INT(authres_dmarc(NULL, 0, ID, NULL, NULL, 0), AUTHRES_NO_HEADER);
}

TESTS(test_pass_and_failures, test_topmost_trusted_header_decides)
