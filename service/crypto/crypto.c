/*
 * crypto.c -- SHA-256, HMAC-SHA256 and random tokens over OpenSSL's libcrypto.
 */
#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* SHA-256 fetched once: EVP_sha256() makes each digest look the algorithm up again. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int n = 0;
	pthread_once(&sha256_once, sha256_fetch);
	EVP_Digest(data, len, out, &n, sha256_md != NULL ? sha256_md : EVP_sha256(), NULL);
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[CRYPTO_SHA256_LEN];
	crypto_sha256(data, len, md);
	for (size_t i = 0; i < CRYPTO_SHA256_LEN; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * CRYPTO_SHA256_LEN] = '\0';
}

bool crypto_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
			    char out[CRYPTO_SHA256_HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const unsigned char none;
	out[0] = '\0';
	if (keylen > (size_t)__INT_MAX__ ||
	    HMAC(EVP_sha256(), keylen ? key : &none, (int)keylen, len ? data : &none, len, md,
		 &n) == NULL ||
	    n != CRYPTO_SHA256_LEN)
		return false;
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < CRYPTO_SHA256_LEN; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * CRYPTO_SHA256_LEN] = '\0';
	return true;
}

bool crypto_random(void *out, size_t len)
{
	return len <= (size_t)__INT_MAX__ && RAND_bytes(out, (int)len) == 1;
}

/* `prefix` and the `nbytes` bytes of `raw` in unpadded base64url into `out`. */
static bool token_write(const char *prefix, const unsigned char *raw, size_t nbytes, char *out,
			size_t outlen)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t plen = strlen(prefix), pos;

	if (plen + (nbytes * 4 + 2) / 3 + 1 > outlen)
		return false;
	memcpy(out, prefix, plen);
	pos = plen;
	for (size_t i = 0; i < nbytes; i += 3) {
		unsigned v = (unsigned)raw[i] << 16;
		size_t left = nbytes - i;
		if (left > 1)
			v |= (unsigned)raw[i + 1] << 8;
		if (left > 2)
			v |= raw[i + 2];
		out[pos++] = b64[(v >> 18) & 63];
		out[pos++] = b64[(v >> 12) & 63];
		if (left > 1)
			out[pos++] = b64[(v >> 6) & 63];
		if (left > 2)
			out[pos++] = b64[v & 63];
	}
	out[pos] = '\0';
	return true;
}

bool crypto_token(const char *prefix, size_t nbytes, char *out, size_t outlen)
{
	unsigned char raw[64];

	if (nbytes > sizeof raw || strlen(prefix) + (nbytes * 4 + 2) / 3 + 1 > outlen)
		return false;
	if (!crypto_random(raw, nbytes))
		return false;
	return token_write(prefix, raw, nbytes, out, outlen);
}

bool crypto_id(const char *prefix, size_t nbytes, char *out, size_t outlen)
{
	static __thread unsigned char pool[CRYPTO_ID_POOL];
	static __thread size_t left;

	if (nbytes > 64 || strlen(prefix) + (nbytes * 4 + 2) / 3 + 1 > outlen)
		return false;
	if (left < nbytes) {
		if (!crypto_random(pool, sizeof pool))
			return false;
		left = sizeof pool;
	}
	left -= nbytes;
	bool ok = token_write(prefix, pool + left, nbytes, out, outlen);
	crypto_cleanse(pool + left, nbytes); /* each byte serves once */
	return ok;
}

void crypto_cleanse(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

bool crypto_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}
