/*
 * seal.c -- AES-256-GCM sealing of secrets at rest (seal.h).
 */
#include "crypto/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"

#define KEYS_MAX  8
#define NONCE_LEN 12
#define TAG_LEN   16

struct crypto_key {
	unsigned char k[32];
	char id[CRYPTO_KEY_ID_LEN];
};

struct crypto_keyring {
	size_t n;
	struct crypto_key keys[KEYS_MAX];
};

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* `n` bytes from 2n hex digits; false when one is not hex. */
static bool bytes_of(const char *h, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int a = hexval(h[2 * i]), b = a < 0 ? -1 : hexval(h[2 * i + 1]);
		if (a < 0 || b < 0)
			return false;
		out[i] = (unsigned char)(a << 4 | b);
	}
	return true;
}

static void key_set(struct crypto_key *key, const unsigned char k[32])
{
	unsigned char md[CRYPTO_SHA256_LEN];
	memcpy(key->k, k, 32);
	crypto_sha256(k, 32, md);
	hex_of(md, 8, key->id);
}

struct crypto_keyring *crypto_keyring_of(const unsigned char key[32])
{
	struct crypto_keyring *k = calloc(1, sizeof *k);
	if (k != NULL) {
		key_set(&k->keys[0], key);
		k->n = 1;
	}
	return k;
}

void crypto_keyring_free(struct crypto_keyring *k)
{
	if (k != NULL) {
		OPENSSL_cleanse(k, sizeof *k);
		free(k);
	}
}

const char *crypto_keyring_id(const struct crypto_keyring *k)
{
	return k->keys[0].id;
}

/* Writes a new key file at `path` (0600) unless one appeared meanwhile. */
static bool create_file(const char *path, char *err, size_t errlen)
{
	unsigned char k[32];
	char hex[65], tmp[4200];
	if (!crypto_random(k, sizeof k)) {
		snprintf(err, errlen, "no randomness for a new key");
		return false;
	}
	hex_of(k, 32, hex);
	OPENSSL_cleanse(k, sizeof k);
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return false;
	}
	char text[160];
	int n = snprintf(text, sizeof text,
			 "# Transom secrets-at-rest key (first line seals). Keep a backup.\n%s\n",
			 hex);
	OPENSSL_cleanse(hex, sizeof hex);
	bool ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	OPENSSL_cleanse(text, sizeof text);
	close(fd);
	/* link() fails when the file exists: a concurrent creator's key wins. */
	if (ok && link(tmp, path) != 0 && errno != EEXIST)
		ok = false;
	unlink(tmp);
	if (!ok)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	return ok;
}

struct crypto_keyring *crypto_keyring_load(const char *path, bool create, bool *created, char *err,
					   size_t errlen)
{
	if (created != NULL)
		*created = false;
	struct stat sb;
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT || !create) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return NULL;
		}
		if (!create_file(path, err, errlen))
			return NULL;
		if (created != NULL)
			*created = true;
		if (stat(path, &sb) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return NULL;
		}
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s is open to group or others (mode %03o): chmod 600 it",
			 path, (unsigned)(sb.st_mode & 0777));
		return NULL;
	}
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct crypto_keyring *k = calloc(1, sizeof *k);
	char line[256];
	unsigned no = 0;
	bool ok = k != NULL;
	if (k == NULL)
		snprintf(err, errlen, "out of memory");
	while (ok && fgets(line, sizeof line, f) != NULL) {
		no++;
		size_t n = strcspn(line, "\r\n");
		line[n] = '\0';
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		const char *p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		unsigned char b[32];
		if (strlen(p) != 64 || !bytes_of(p, b, 32)) {
			snprintf(err, errlen, "%s line %u: expected 64 hex digits (a 32-byte key)",
				 path, no);
			ok = false;
		} else if (k->n == KEYS_MAX) {
			snprintf(err, errlen, "%s: more than %d keys", path, KEYS_MAX);
			ok = false;
		} else {
			key_set(&k->keys[k->n++], b);
		}
		OPENSSL_cleanse(b, sizeof b);
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(f);
	if (ok && k->n == 0) {
		snprintf(err, errlen, "%s holds no key", path);
		ok = false;
	}
	if (!ok) {
		crypto_keyring_free(k);
		return NULL;
	}
	return k;
}

/* AES-256-GCM; false on any libcrypto failure (or a tag that does not verify). */
static bool gcm(bool enc, const unsigned char key[32], const unsigned char nonce[NONCE_LEN],
		const char *aad, const unsigned char *in, size_t len, unsigned char *out,
		unsigned char tag[TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;
	size_t alen = strlen(aad);
	bool ok = c != NULL && len <= 65536 &&
		  EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
		  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
		  EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) == 1 &&
		  (alen == 0 ||
		   EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)aad, (int)alen) == 1) &&
		  EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + n, &m) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

char *crypto_seal(const struct crypto_keyring *k, const char *plain, const char *aad)
{
	size_t len = strlen(plain), blen = NONCE_LEN + len + TAG_LEN;
	unsigned char *b = malloc(blen);
	char *out = malloc(3 + CRYPTO_KEY_ID_LEN + 2 * blen + 1);
	bool ok = b != NULL && out != NULL && k != NULL && k->n > 0 &&
		  crypto_random(b, NONCE_LEN) &&
		  gcm(true, k->keys[0].k, b, aad ? aad : "", (const unsigned char *)plain, len,
		      b + NONCE_LEN, b + NONCE_LEN + len);
	if (ok) {
		int n = sprintf(out, "v1:%s:", k->keys[0].id);
		hex_of(b, blen, out + n);
	}
	if (b != NULL) {
		OPENSSL_cleanse(b, blen);
		free(b);
	}
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

char *crypto_open(const struct crypto_keyring *k, const char *sealed, const char *aad, bool *stale)
{
	if (stale != NULL)
		*stale = false;
	if (k == NULL || sealed == NULL || strncmp(sealed, "v1:", 3) != 0 ||
	    strlen(sealed) < 3 + 16 + 1 || sealed[3 + 16] != ':')
		return NULL;
	const struct crypto_key *key = NULL;
	for (size_t i = 0; i < k->n && key == NULL; i++)
		if (strncmp(sealed + 3, k->keys[i].id, 16) == 0)
			key = &k->keys[i];
	const char *hex = sealed + 3 + 16 + 1;
	size_t hl = strlen(hex);
	if (key == NULL || hl % 2 != 0 || hl / 2 < NONCE_LEN + TAG_LEN)
		return NULL;
	size_t blen = hl / 2, len = blen - NONCE_LEN - TAG_LEN;
	unsigned char *b = malloc(blen);
	char *out = malloc(len + 1);
	bool ok = b != NULL && out != NULL && bytes_of(hex, b, blen) &&
		  gcm(false, key->k, b, aad ? aad : "", b + NONCE_LEN, len, (unsigned char *)out,
		      b + NONCE_LEN + len) &&
		  memchr(out, '\0', len) == NULL;
	free(b);
	if (!ok) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	if (stale != NULL)
		*stale = key != &k->keys[0];
	return out;
}
