/*
 * test_crypto.c -- the crypto module against published test vectors: SHA-256 (FIPS 180-2)
 * and HMAC-SHA256 (RFC 4231), plus the shape of random tokens.
 */
#include <string.h>

#include "../unit/harness.h"
#include "crypto/crypto.h"

static void test_sha256_hex_known_answers(void)
{
	char hex[CRYPTO_SHA256_HEX_LEN];
	crypto_sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	crypto_sha256_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* RFC 4231 section 4.3: test case 2, a key shorter than the output. */
static void test_hmac_sha256_rfc4231_case_2(void)
{
	char hex[CRYPTO_SHA256_HEX_LEN];
	const char *data = "what do ya want for nothing?";
	CHECK(crypto_hmac_sha256_hex("Jefe", 4, data, strlen(data), hex));
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* RFC 4231 test cases 1 (20-byte key) and 6 (a key longer than the block: hashed first). */
static void test_hmac_sha256_rfc4231_cases_1_and_6(void)
{
	char hex[CRYPTO_SHA256_HEX_LEN];
	unsigned char key[131];
	memset(key, 0x0b, 20);
	CHECK(crypto_hmac_sha256_hex(key, 20, "Hi There", 8, hex));
	CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	memset(key, 0xaa, sizeof key);
	const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
	CHECK(crypto_hmac_sha256_hex(key, sizeof key, data, strlen(data), hex));
	CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* Empty key and empty message are legal (NULL pointers with zero lengths too). */
static void test_hmac_sha256_empty_inputs(void)
{
	char hex[CRYPTO_SHA256_HEX_LEN];
	CHECK(crypto_hmac_sha256_hex(NULL, 0, NULL, 0, hex));
	CHECK_STR(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	/* a different key gives a different MAC over the same bytes */
	char other[CRYPTO_SHA256_HEX_LEN];
	CHECK(crypto_hmac_sha256_hex("k", 1, NULL, 0, other));
	CHECK(strcmp(hex, other) != 0);
}

static void test_token_has_prefix_and_base64url_body(void)
{
	char a[64], b[64];
	CHECK(crypto_token("whsec_", 24, a, sizeof a));
	CHECK(crypto_token("whsec_", 24, b, sizeof b));
	CHECK(strncmp(a, "whsec_", 6) == 0);
	CHECK_INT(strlen(a), 6 + 32);
	CHECK(strspn(a + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	      32);
	CHECK(strcmp(a, b) != 0);
	CHECK(!crypto_token("whsec_", 24, a, 20)); /* too small a buffer is refused */
}

TESTS(test_sha256_hex_known_answers, test_hmac_sha256_rfc4231_case_2,
      test_hmac_sha256_rfc4231_cases_1_and_6, test_hmac_sha256_empty_inputs,
      test_token_has_prefix_and_base64url_body)
