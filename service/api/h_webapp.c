/*
 * h_webapp.c -- the web app's files (web/, compiled in: webapp_assets.h).
 *
 * GET / and every /app/... page answer index.html (the page's script reads the path):
 * never cached long, so a new version is picked up at the next load.  It names the
 * version's files as /assets/VERSION/FILE, which are immutable and cached for a year.
 * Everything is public: the files hold no data; the data comes from the JSON API, behind
 * the session cookie or a token.  A gzip'd copy is sent to clients that accept it.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/webapp_assets.h"

/* What the pages may load and talk to: this origin only; no framing. */
#define WEBAPP_CSP                                                                                 \
	"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "          \
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "        \
	"object-src 'none'"

static const struct webapp_asset *asset_find(const char *path)
{
	for (size_t i = 0; i < webapp_assets_count; i++)
		if (strcmp(webapp_assets[i].path, path) == 0)
			return &webapp_assets[i];
	return NULL;
}

/* Whether the request's Accept-Encoding allows gzip (not "gzip;q=0"). */
static bool accepts_gzip(const struct http_req *req)
{
	const char *ae = http_req_header(req, "Accept-Encoding");
	const char *g = ae ? strstr(ae, "gzip") : NULL;
	return g != NULL && strncmp(g + 4, ";q=0", 4) != 0 && strncmp(g + 4, "; q=0", 5) != 0;
}

/* Does If-None-Match list `etag` (or "*")? */
static bool not_modified(const struct http_req *req, const char *etag)
{
	const char *inm = http_req_header(req, "If-None-Match");
	return inm != NULL && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0);
}

static enum tr_code send_asset(struct http_req *req, struct http_reply *rep,
			       const struct webapp_asset *a, const char *cache)
{
	bool gz = a->gz != NULL && accepts_gzip(req);
	enum tr_code rc = not_modified(req, a->etag) ? http_reply_text(rep, 304, NULL, "", 0)
			  : gz ? http_reply_text(rep, 200, a->type, (const char *)a->gz, a->gz_len)
			       : http_reply_text(rep, 200, a->type, (const char *)a->data, a->len);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "ETag", a->etag);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Cache-Control", cache);
	if (rc == TR_OK && a->gz != NULL)
		rc = http_reply_header(rep, "Vary", "Accept-Encoding");
	if (rc == TR_OK && gz && rep->status == 200)
		rc = http_reply_header(rep, "Content-Encoding", "gzip");
	if (rc == TR_OK)
		rc = http_reply_header(rep, "X-Content-Type-Options", "nosniff");
	return rc;
}

enum tr_code h_webapp_page(struct http_req *req, struct http_reply *rep)
{
	const struct webapp_asset *a = asset_find("index.html");
	if (a == NULL)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, NULL, "this build has no web app");
	enum tr_code rc = send_asset(req, rep, a, "no-cache");
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Content-Security-Policy", WEBAPP_CSP);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Referrer-Policy", "no-referrer");
	return rc;
}

enum tr_code h_webapp_asset(struct http_req *req, struct http_reply *rep)
{
	const char *version = route_param(&req->match, "version");
	const char *dir = route_param(&req->match, "dir");
	const char *file = route_param(&req->match, "file");
	char path[2 * ROUTE_PARAM_MAX + 2];
	snprintf(path, sizeof path, "%s%s%s", dir ? dir : "", dir ? "/" : "", file);
	const struct webapp_asset *a = strcmp(path, "index.html") == 0 ? NULL : asset_find(path);
	if (a == NULL)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, NULL, "no web app file '%s'", path);
	/* Another version's name (a page loaded before an upgrade): this version's file,
	 * not cached, rather than a broken page. */
	bool current = strcmp(version, webapp_version) == 0;
	return send_asset(req, rep, a,
			  current ? "public, max-age=31536000, immutable" : "no-cache");
}
