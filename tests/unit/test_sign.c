/*
 * test_sign.c -- Ed25519 (crypto/sign.c) against RFC 8032's first test vector, and the
 * audit checkpoint (audit/checkpoint.c): round trip, signature over every field and
 * the hash list, malformed lines refused with a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "audit/checkpoint.h"
#include "crypto/sign.h"

/* RFC 8032 section 7.1, TEST 1: the secret key as PKCS #8 PEM, its public key, and the
 * signature of the empty message. */
static const char rfc_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			      "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
			      "-----END PRIVATE KEY-----\n";
static const char rfc_pub[] = "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rfc_sig[] = "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr"
			      "0lv18FlbviRlUUFDjnoQCw==";

static const char *write_key(const char *pem, mode_t mode)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/transom-sign-%d.pem", (int)getpid());
	unlink(path);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs(pem, f);
		fclose(f);
	}
	chmod(path, mode);
	return path;
}

static void test_rfc8032_test_1(void)
{
	char err[256], pub[CRYPTO_SIGN_PUB_LEN], sig[CRYPTO_SIGN_SIG_LEN];
	const char *path = write_key(rfc_pem, 0600);
	struct crypto_sign_key *key = crypto_sign_key_load(path, err, sizeof err);
	CHECKF(key != NULL, "%s", err);
	if (key == NULL)
		return;
	CHECK(crypto_sign_key_public(key, pub));
	CHECK_STR(pub, rfc_pub);
	CHECK(crypto_sign(key, "", 0, sig));
	CHECK_STR(sig, rfc_sig);
	CHECK(crypto_sign_verify(rfc_pub, "", 0, rfc_sig));
	CHECK(!crypto_sign_verify(rfc_pub, "x", 1, rfc_sig));
	crypto_sign_key_free(key);
	unlink(path);
}

static void test_key_files_are_checked(void)
{
	char err[256];
	const char *path = write_key(rfc_pem, 0644);
	CHECK(crypto_sign_key_load(path, err, sizeof err) == NULL);
	CHECK(strstr(err, "chmod 600") != NULL);
	path = write_key("not a key\n", 0600);
	CHECK(crypto_sign_key_load(path, err, sizeof err) == NULL);
	CHECK(strstr(err, "not an Ed25519 private key") != NULL);
	unlink(path);
	/* keygen: a fresh key, mode 0600, never over an existing file */
	CHECK(crypto_sign_key_generate(path, err, sizeof err));
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK(!crypto_sign_key_generate(path, err, sizeof err));
	struct crypto_sign_key *key = crypto_sign_key_load(path, err, sizeof err);
	CHECK(key != NULL);
	crypto_sign_key_free(key);
	unlink(path);
}

static void test_malformed_public_keys_and_signatures_do_not_verify(void)
{
	CHECK(!crypto_sign_verify("ed25519:", "", 0, rfc_sig));
	CHECK(!crypto_sign_verify("rsa:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "", 0,
				  rfc_sig));
	CHECK(!crypto_sign_verify(rfc_pub, "", 0, "5VZD"));
	CHECK(!crypto_sign_verify(rfc_pub, "", 0, ""));
	CHECK(!crypto_sign_verify(NULL, "", 0, rfc_sig));
}

static const char h1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char h2[] = "2222222222222222222222222222222222222222222222222222222222222222";

static void test_checkpoint_round_trip_and_tampering(void)
{
	char err[256], why[128];
	const char *path = write_key(rfc_pem, 0600);
	struct crypto_sign_key *key = crypto_sign_key_load(path, err, sizeof err);
	unlink(path);
	CHECK(key != NULL);
	if (key == NULL)
		return;
	struct audit_checkpoint c = {.seq = 7, .prev_seq = 5};
	snprintf(c.hash, sizeof c.hash, "%s", h2);
	snprintf(c.at, sizeof c.at, "2026-12-07T00:00:00Z");
	CHECK(audit_checkpoint_add_hash(&c, h1));
	CHECK(audit_checkpoint_add_hash(&c, h2));
	CHECK(!audit_checkpoint_add_hash(&c, "XYZ"));
	CHECK(crypto_sign_key_public(key, c.key));
	char *msg = audit_checkpoint_message(&c);
	CHECK(msg != NULL && strstr(msg, "seq=7\nhash=2222") != NULL);
	CHECK(crypto_sign(key, msg, strlen(msg), c.sig));
	free(msg);
	char *line = audit_checkpoint_line(&c);
	audit_checkpoint_clear(&c);

	struct audit_checkpoint p;
	CHECKF(audit_checkpoint_parse(line, &p, why, sizeof why), "%s", why);
	CHECK(p.seq == 7 && p.prev_seq == 5 && p.nhashes == 2);
	CHECK(audit_checkpoint_verify(&p, rfc_pub));
	/* Any field changed breaks the signature: the head, and the listed hashes. */
	p.seq = 8;
	CHECK(!audit_checkpoint_verify(&p, rfc_pub));
	p.seq = 7;
	p.hashes[0][0] = '3';
	CHECK(!audit_checkpoint_verify(&p, rfc_pub));
	audit_checkpoint_clear(&p);

	/* Malformed lines are refused with a reason. */
	CHECK(!audit_checkpoint_parse("[]", &p, why, sizeof why));
	CHECK(!audit_checkpoint_parse("{\"seq\": 7, \"prev_seq\": 7}", &p, why, sizeof why));
	CHECK(strstr(why, "prev_seq") != NULL);
	char *shortened = strdup(line);
	char *at = strstr(shortened, h1) - 1;      /* the opening quote */
	memmove(at, at + 67, strlen(at + 67) + 1); /* drop "111...1", */
	CHECK(!audit_checkpoint_parse(shortened, &p, why, sizeof why));
	CHECK(strstr(why, "one hash per event") != NULL);
	free(shortened);
	free(line);
	crypto_sign_key_free(key);
}

TESTS(test_rfc8032_test_1, test_key_files_are_checked,
      test_malformed_public_keys_and_signatures_do_not_verify,
      test_checkpoint_round_trip_and_tampering)
