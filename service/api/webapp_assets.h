/*
 * webapp_assets.h -- the web app's files (web/), compiled into the binary by
 * deploy/embed-assets.sh; served by h_webapp.c.
 */
#ifndef TRANSOM_API_WEBAPP_ASSETS_H
#define TRANSOM_API_WEBAPP_ASSETS_H

#include <stddef.h>

struct webapp_asset {
	const char *path;          /* relative to web/, e.g. "app.js", "pages/cab.js" */
	const char *type;          /* Content-Type */
	const unsigned char *data; /* the bytes (index.html: with the version filled in) */
	size_t len;
	const unsigned char *gz; /* the same, gzip'd; NULL when that is not smaller */
	size_t gz_len;
	const char *etag; /* quoted, from the SHA-256 of the bytes */
};

extern const struct webapp_asset webapp_assets[];
extern const size_t webapp_assets_count;
/* The SHA-256 (16 hex digits) of every file but index.html: the /assets/VERSION/ part. */
extern const char webapp_version[];

#endif /* TRANSOM_API_WEBAPP_ASSETS_H */
