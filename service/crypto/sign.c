/*
 * sign.c -- Ed25519 keys and signatures with OpenSSL's EVP interface.
 */
#include "crypto/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PUB_PREFIX "ed25519:"
#define RAW_PUB    32
#define RAW_SIG    64

struct crypto_sign_key {
	EVP_PKEY *pkey;
};

static void say(char *err, size_t errlen, const char *what, const char *path)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", path, what);
}

struct crypto_sign_key *crypto_sign_key_load(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		say(err, errlen, strerror(errno), path);
		return NULL;
	}
	if (fstat(fileno(f), &sb) != 0 || (sb.st_mode & 077) != 0) {
		say(err, errlen, "a private key must be readable by its owner only (chmod 600)",
		    path);
		fclose(f);
		return NULL;
	}
	EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL || EVP_PKEY_id(pkey) != EVP_PKEY_ED25519) {
		say(err, errlen, "not an Ed25519 private key in PEM", path);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	struct crypto_sign_key *key = malloc(sizeof *key);
	if (key == NULL) {
		say(err, errlen, "out of memory", path);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	key->pkey = pkey;
	return key;
}

bool crypto_sign_key_generate(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &pkey) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		say(err, errlen, "cannot generate a key", path);
		return false;
	}
	EVP_PKEY_CTX_free(ctx);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		say(err, errlen, strerror(errno), path);
		if (fd >= 0)
			close(fd);
		EVP_PKEY_free(pkey);
		return false;
	}
	bool ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	EVP_PKEY_free(pkey);
	if (!ok) {
		unlink(path);
		say(err, errlen, "cannot write the key", path);
	}
	return ok;
}

void crypto_sign_key_free(struct crypto_sign_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

bool crypto_sign_key_public(const struct crypto_sign_key *key, char out[CRYPTO_SIGN_PUB_LEN])
{
	unsigned char raw[RAW_PUB];
	size_t len = sizeof raw;
	out[0] = '\0';
	if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &len) != 1 || len != RAW_PUB)
		return false;
	memcpy(out, PUB_PREFIX, sizeof PUB_PREFIX - 1);
	EVP_EncodeBlock((unsigned char *)out + sizeof PUB_PREFIX - 1, raw, RAW_PUB);
	return true;
}

bool crypto_sign(const struct crypto_sign_key *key, const void *msg, size_t len,
		 char out[CRYPTO_SIGN_SIG_LEN])
{
	unsigned char sig[RAW_SIG];
	size_t siglen = sizeof sig;
	out[0] = '\0';
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, key->pkey) == 1 &&
		  EVP_DigestSign(md, sig, &siglen, msg, len) == 1 && siglen == RAW_SIG;
	EVP_MD_CTX_free(md);
	if (ok)
		EVP_EncodeBlock((unsigned char *)out, sig, RAW_SIG);
	return ok;
}

/* Decodes exactly `want` bytes of standard base64 from `b64` into `raw`. */
static bool decode_exact(const char *b64, unsigned char *raw, size_t want)
{
	size_t n = strlen(b64);
	unsigned char buf[128];
	if (n != 4 * ((want + 2) / 3) || n / 4 * 3 > sizeof buf)
		return false;
	int got = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	size_t pad = (b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
	if (got < 0 || (size_t)got - pad != want)
		return false;
	memcpy(raw, buf, want);
	return true;
}

bool crypto_sign_verify(const char *pub, const void *msg, size_t len, const char *sig)
{
	unsigned char rawpub[RAW_PUB], rawsig[RAW_SIG];
	if (pub == NULL || sig == NULL || strncmp(pub, PUB_PREFIX, sizeof PUB_PREFIX - 1) != 0 ||
	    !decode_exact(pub + sizeof PUB_PREFIX - 1, rawpub, RAW_PUB) ||
	    !decode_exact(sig, rawsig, RAW_SIG))
		return false;
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, rawpub, RAW_PUB);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = pkey != NULL && md != NULL &&
		  EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
		  EVP_DigestVerify(md, rawsig, RAW_SIG, msg, len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return ok;
}
