/*
 * net_int.h -- internals of the outgoing HTTP client shared by net.c (requests and
 * fetches) and cache.c (the disk cache of conditional fetches); not for other modules.
 */
#ifndef TRANSOM_NET_INT_H
#define TRANSOM_NET_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "crypto/crypto.h"

#define URL_MAX     4096            /* longest URL accepted */
#define ETAG_MAX    512             /* longest ETag kept as a validator (longer: not kept) */
#define LASTMOD_MAX 128             /* longest Last-Modified kept */
#define META_MAX    8192            /* largest meta file read */
#define BASE_MAX    (PATH_MAX - 32) /* "<dir>/<hex>", leaving room for the suffixes */
#define CACHE_MAGIC "transom-net-cache 1"

/* The validators of the last response seen (redirects and 1xx reset them). */
struct validators {
	char etag[ETAG_MAX];
	char last_modified[LASTMOD_MAX];
};

/* What the cache keeps beside a body (the meta file). */
struct cache_meta {
	long long fetched_ms;
	char etag[ETAG_MAX];
	char last_modified[LASTMOD_MAX];
	size_t length;
	char sha256[CRYPTO_SHA256_HEX_LEN];
};

/* ---- net.c ---- */

const char *net_errstr(int e, char *buf, size_t n);

/* ---- cache.c ---- */

bool net_cache_load(const char *dir, const char *url, size_t max, struct cache_meta *m, char **body,
		    size_t *len, char *err, size_t errlen);
bool net_cache_store(const char *dir, const char *url, const struct validators *v, const char *body,
		     size_t len, long long fetched_ms, char *err, size_t errlen);

#endif /* TRANSOM_NET_INT_H */
