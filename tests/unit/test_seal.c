/*
 * test_seal.c -- secrets at rest (crypto/seal.h): a sealed value opens to the secret and
 * shows nothing of it, tampering or another use (associated data) or a foreign key fails,
 * and rotation opens older values and says they are stale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "crypto/seal.h"

static const unsigned char K1[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_seal_open_and_tamper(void)
{
	struct crypto_keyring *k = crypto_keyring_of(K1);
	char *s = crypto_seal(k, "whsec_abc", "use-a");
	CHECK(s != NULL && strncmp(s, "v1:", 3) == 0 && strstr(s, "whsec") == NULL);
	char *again = crypto_seal(k, "whsec_abc", "use-a");
	CHECK(again && strcmp(s, again) != 0); /* a fresh nonce each time */
	bool stale = true;
	char *p = crypto_open(k, s, "use-a", &stale);
	CHECK_STR(p, "whsec_abc");
	CHECK(!stale);
	CHECK(crypto_open(k, s, "use-b", NULL) == NULL);
	size_t n = strlen(s);
	s[n - 1] = s[n - 1] == '0' ? '1' : '0'; /* the tag */
	CHECK(crypto_open(k, s, "use-a", NULL) == NULL);
	s[30] = s[30] == '0' ? '1' : '0';
	CHECK(crypto_open(k, "v1:0000000000000000:00", "use-a", NULL) == NULL);
	CHECK(crypto_open(k, "plain", "use-a", NULL) == NULL);
	free(p);
	free(s);
	free(again);
	crypto_keyring_free(k);
}

static void test_key_file_and_rotation(void)
{
	char dir[] = "/tmp/transom-seal-XXXXXX", path[128], text[512];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/key", dir);
	char err[256];
	bool created = false;
	struct crypto_keyring *k1 = crypto_keyring_load(path, true, &created, err, sizeof err);
	CHECK(k1 != NULL && created);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	char *old = crypto_seal(k1, "s3cret", "x");
	/* Rotation: a new first line; the old key still opens, and says stale. */
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
	if (f)
		fclose(f);
	text[len] = '\0';
	f = fopen(path, "w");
	fprintf(f, "%s\n%s", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		text);
	fclose(f);
	struct crypto_keyring *k2 = crypto_keyring_load(path, false, NULL, err, sizeof err);
	CHECK(k2 != NULL);
	CHECK(strcmp(crypto_keyring_id(k1), crypto_keyring_id(k2)) != 0);
	bool stale = false;
	char *p = crypto_open(k2, old, "x", &stale);
	CHECK_STR(p, "s3cret");
	CHECK(stale);
	free(p);
	/* A key file others can read is refused; so is a malformed line. */
	chmod(path, 0644);
	CHECK(crypto_keyring_load(path, false, NULL, err, sizeof err) == NULL);
	CHECK(strstr(err, "chmod 600") != NULL);
	chmod(path, 0600);
	f = fopen(path, "w");
	fputs("# comment\nnot-hex\n", f);
	fclose(f);
	CHECK(crypto_keyring_load(path, false, NULL, err, sizeof err) == NULL);
	CHECK(strstr(err, "line 2") != NULL);
	free(old);
	crypto_keyring_free(k1);
	crypto_keyring_free(k2);
	unlink(path);
	rmdir(dir);
}

TESTS(test_seal_open_and_tamper, test_key_file_and_rotation)
