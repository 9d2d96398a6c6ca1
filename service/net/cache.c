/*
 * cache.c -- the disk cache of conditional fetches (net.h): a body and its meta file
 * (validators, length, digest) per URL, written to a temporary file and renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "crypto/crypto.h"
#include "net/net.h"
#include "net/net_int.h"

/* --- the disk cache -------------------------------------------------------------------- */

/* "<dir>/<sha256(url)>" into `out`; false when it does not fit. */
static bool cache_base(const char *dir, const char *url, char out[BASE_MAX],
		       char hex[CRYPTO_SHA256_HEX_LEN])
{
	crypto_sha256_hex(url, strlen(url), hex);
	int n = snprintf(out, BASE_MAX, "%s/%s", dir, hex);
	return n > 0 && n < BASE_MAX;
}

/* Reads a whole file of at most `max` bytes.  0 read; 1 absent; -1 error (errno set). */
static int file_read(const char *path, size_t max, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (unsigned long long)st.st_size > max) {
		close(fd);
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return -1;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *p = malloc(size + 1);
	if (p == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while (got < size) {
		ssize_t n = read(fd, p + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* shrank under us: a writer is not renaming */
			free(p);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	p[size] = '\0';
	*out = p;
	*outlen = size;
	return 0;
}

/* Parses a meta file for `url`.  False when it is not one (wrong magic, url or fields). */
static bool meta_parse(char *text, const char *url, struct cache_meta *m)
{
	bool magic = false, url_seen = false, fetched = false, length = false, sha = false;
	char *save = NULL;

	memset(m, 0, sizeof *m);
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!magic) {
			if (strcmp(line, CACHE_MAGIC) != 0)
				return false;
			magic = true;
			continue;
		}
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		const char *k = line, *v = sp + 1;
		char *end = NULL;
		if (strcmp(k, "url") == 0) {
			if (strcmp(v, url) != 0)
				return false;
			url_seen = true;
		} else if (strcmp(k, "fetched-ms") == 0) {
			errno = 0;
			m->fetched_ms = strtoll(v, &end, 10);
			fetched = errno == 0 && end != v && *end == '\0' && m->fetched_ms >= 0;
		} else if (strcmp(k, "length") == 0) {
			errno = 0;
			unsigned long long n = strtoull(v, &end, 10);
			length = errno == 0 && end != v && *end == '\0' && v[0] != '-' &&
				 n <= (unsigned long long)SIZE_MAX;
			m->length = (size_t)n;
		} else if (strcmp(k, "sha256") == 0) {
			sha = strlen(v) == CRYPTO_SHA256_HEX_LEN - 1;
			if (sha)
				memcpy(m->sha256, v, CRYPTO_SHA256_HEX_LEN);
		} else if (strcmp(k, "etag") == 0 && strlen(v) < sizeof m->etag) {
			strcpy(m->etag, v);
		} else if (strcmp(k, "last-modified") == 0 && strlen(v) < sizeof m->last_modified) {
			strcpy(m->last_modified, v);
		}
	}
	return magic && url_seen && fetched && length && sha;
}

/*
 * Loads the cached copy of `url`.  True with *body (owned) and *m when there is a valid
 * one; false when there is none, with `err` set when one exists but could not be used.
 */
bool net_cache_load(const char *dir, const char *url, size_t max, struct cache_meta *m, char **body,
		    size_t *len, char *err, size_t errlen)
{
	char base[BASE_MAX], path[PATH_MAX], hex[CRYPTO_SHA256_HEX_LEN], eb[128];
	char *text = NULL;
	size_t tlen = 0;

	*body = NULL;
	*len = 0;
	if (!cache_base(dir, url, base, hex)) {
		snprintf(err, errlen, "cache: path too long");
		return false;
	}
	snprintf(path, sizeof path, "%s.meta", base);
	int rc = file_read(path, META_MAX, &text, &tlen);
	if (rc == 1)
		return false;
	if (rc < 0) {
		snprintf(err, errlen, "cache %s.meta: cannot read: %s", hex,
			 net_errstr(errno, eb, sizeof eb));
		return false;
	}
	bool ok = meta_parse(text, url, m);
	free(text);
	if (!ok) {
		snprintf(err, errlen, "cache %s.meta: malformed, ignored", hex);
		return false;
	}
	snprintf(path, sizeof path, "%s.body", base);
	rc = file_read(path, max, body, len);
	if (rc != 0) {
		if (rc < 0)
			snprintf(err, errlen, "cache %s.body: cannot read: %s", hex,
				 net_errstr(errno, eb, sizeof eb));
		else
			snprintf(err, errlen, "cache %s.body: missing, meta ignored", hex);
		return false;
	}
	char sum[CRYPTO_SHA256_HEX_LEN];
	crypto_sha256_hex(*body, *len, sum);
	if (*len != m->length || strcmp(sum, m->sha256) != 0) {
		snprintf(err, errlen, "cache %s.body: does not match its meta, ignored", hex);
		free(*body);
		*body = NULL;
		*len = 0;
		return false;
	}
	return true;
}

/* Writes `len` bytes to a new temporary file "<base>.<suffix>.XXXXXX", fsync'd. */
static bool temp_write(const char *base, const char *suffix, const void *data, size_t len,
		       char *tmp, size_t tmplen, char *err, size_t errlen)
{
	char eb[128];

	snprintf(tmp, tmplen, "%s.%s.XXXXXX", base, suffix);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cache %s: cannot create a temporary file: %s", suffix,
			 net_errstr(errno, eb, sizeof eb));
		tmp[0] = '\0';
		return false;
	}
	const char *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return true;
fail:
	snprintf(err, errlen, "cache %s: cannot write: %s", suffix,
		 net_errstr(errno, eb, sizeof eb));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	tmp[0] = '\0';
	return false;
}

/* Replaces the cached copy of `url` with `body`.  False with `err` when it could not. */
bool net_cache_store(const char *dir, const char *url, const struct validators *v, const char *body,
		     size_t len, long long fetched_ms, char *err, size_t errlen)
{
	char base[BASE_MAX], hex[CRYPTO_SHA256_HEX_LEN], sum[CRYPTO_SHA256_HEX_LEN];
	char tmp_body[PATH_MAX], tmp_meta[PATH_MAX], path[PATH_MAX], eb[128];
	char *meta = NULL;
	bool ok = false;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cache: cannot create the directory: %s",
			 net_errstr(errno, eb, sizeof eb));
		return false;
	}
	if (!cache_base(dir, url, base, hex)) {
		snprintf(err, errlen, "cache: path too long");
		return false;
	}
	crypto_sha256_hex(body, len, sum);
	int n = asprintf(&meta,
			 CACHE_MAGIC "\nurl %s\nfetched-ms %lld\netag %s\nlast-modified %s\n"
				     "length %zu\nsha256 %s\n",
			 url, fetched_ms, v->etag, v->last_modified, len, sum);
	if (n < 0) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	tmp_meta[0] = '\0';
	if (!temp_write(base, "body", body, len, tmp_body, sizeof tmp_body, err, errlen))
		goto out;
	if (!temp_write(base, "meta", meta, (size_t)n, tmp_meta, sizeof tmp_meta, err, errlen))
		goto out;
	/* Body first: a crash between the renames leaves a pair that fails the SHA check. */
	snprintf(path, sizeof path, "%s.body", base);
	if (rename(tmp_body, path) != 0) {
		snprintf(err, errlen, "cache body: cannot rename: %s",
			 net_errstr(errno, eb, sizeof eb));
		goto out;
	}
	tmp_body[0] = '\0';
	snprintf(path, sizeof path, "%s.meta", base);
	if (rename(tmp_meta, path) != 0) {
		snprintf(err, errlen, "cache meta: cannot rename: %s",
			 net_errstr(errno, eb, sizeof eb));
		goto out;
	}
	tmp_meta[0] = '\0';
	ok = true;
out:
	if (tmp_body[0])
		unlink(tmp_body);
	if (tmp_meta[0])
		unlink(tmp_meta);
	free(meta);
	return ok;
}
