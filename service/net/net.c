/*
 * net.c -- outgoing HTTP over libcurl: cached conditional fetches and plain requests.
 *
 * Each call builds, runs and frees its own easy handle; nothing is shared between calls
 * but the disk cache (cache.c), whose files only ever change by rename (see net.h).
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "crypto/crypto.h"
#include "net/net_int.h"

static bool net_ready; /* set by net_init() before threads start, read-only afterwards */

void net_init(void)
{
	if (net_ready)
		return;
	/* A failure here shows up later as "cannot create a curl handle" per call. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		net_ready = true;
}

void net_cleanup(void)
{
	if (!net_ready)
		return;
	curl_global_cleanup();
	net_ready = false;
}

/* strerror() is not thread-safe; the GNU strerror_r() returns the message. */
const char *net_errstr(int e, char *buf, size_t n)
{
	return strerror_r(e, buf, n);
}

/* --- reply buffer and header capture ------------------------------------------------- */

struct buf {
	char *p;    /* NUL-terminated once buf_finish() ran */
	size_t len; /* bytes kept */
	size_t cap; /* bytes allocated at p, the NUL's byte excluded */
	size_t max; /* most bytes kept */
	bool over;  /* more than max arrived; the transfer was stopped */
	bool oom;   /* an allocation failed; the transfer was stopped */
};

/* libcurl write callback: keeps up to b->max bytes, then stops the transfer. */
static size_t buf_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct buf *b = userp;
	size_t n = size * nmemb, take = n;

	if (b->len + n > b->max || b->len + n < b->len) {
		take = b->max - b->len;
		b->over = true;
	}
	if (b->len + take > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + take)
			cap = cap > b->max / 2 ? b->max : cap * 2;
		char *p = realloc(b->p, cap + 1);
		if (p == NULL) {
			b->oom = true;
			return 0;
		}
		b->p = p;
		b->cap = cap;
	}
	if (take > 0)
		memcpy(b->p + b->len, data, take);
	b->len += take;
	return b->over ? 0 : n;
}

/* Makes b->p a NUL-terminated string (allocating "" for an empty reply).  False on OOM. */
static bool buf_finish(struct buf *b)
{
	if (b->p == NULL) {
		b->p = malloc(1);
		if (b->p == NULL)
			return false;
	}
	b->p[b->len] = '\0';
	return true;
}

/* Copies a header's value (trimmed) when `line` is "name: value", it fits and is clean. */
static void header_take(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vl = (size_t)(end - v);
	if (vl == 0 || vl >= outlen)
		return;
	for (size_t i = 0; i < vl; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return; /* control characters: not a validator worth storing */
	memcpy(out, v, vl);
	out[vl] = '\0';
}

/* libcurl header callback: one call per header line, status lines included. */
static size_t header_line(char *line, size_t size, size_t nmemb, void *userp)
{
	struct validators *v = userp;
	size_t n = size * nmemb;

	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		v->etag[0] = '\0';
		v->last_modified[0] = '\0';
	} else {
		header_take(line, n, "etag", v->etag, sizeof v->etag);
		header_take(line, n, "last-modified", v->last_modified, sizeof v->last_modified);
	}
	return n;
}

/* net_send's header callback: keeps the Cache-Control field of the last response. */
static size_t header_cc(char *line, size_t size, size_t nmemb, void *userp)
{
	char *cc = userp;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0)
		cc[0] = '\0';
	else
		header_take(line, n, "cache-control", cc, NET_CACHE_CONTROL_MAX);
	return n;
}

/* --- checks and the shared easy-handle set-up ----------------------------------------- */

/* An http(s) URL of printable ASCII without spaces, at most URL_MAX bytes. */
static bool url_ok(const char *url, char *err, size_t errlen)
{
	if (url == NULL || url[0] == '\0') {
		snprintf(err, errlen, "no url");
		return false;
	}
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "url scheme not allowed (http and https only)");
		return false;
	}
	size_t n = strnlen(url, URL_MAX + 1);
	if (n > URL_MAX) {
		snprintf(err, errlen, "url longer than %d bytes", URL_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f) {
			snprintf(err, errlen, "url has a space or control character");
			return false;
		}
	return true;
}

/* RFC 9110 tchar, for methods and header names. */
static bool is_token(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c) != NULL)
			return false;
	}
	return true;
}

/* Appends one line to *l.  False on OOM (*l unchanged). */
static bool slist_line(struct curl_slist **l, const char *line)
{
	struct curl_slist *t = curl_slist_append(*l, line);
	if (t == NULL)
		return false;
	*l = t;
	return true;
}

/* Appends "name: value", or "name;" for an empty value (libcurl's spelling of one). */
static bool slist_add(struct curl_slist **l, const char *name, const char *value)
{
	char *line = NULL;
	int n = value[0] ? asprintf(&line, "%s: %s", name, value) : asprintf(&line, "%s;", name);
	if (n < 0)
		return false;
	bool ok = slist_line(l, line);
	free(line);
	return ok;
}

static long timeout_of(long timeout_ms)
{
	return timeout_ms > 0 ? timeout_ms : NET_TIMEOUT_MS_DEFAULT;
}

/* --- the address guard at connect time --------------------------------------------------- */

struct guard_ctx {
	const struct net_guard *g;
	char why[256]; /* set when a connection was refused */
};

/* CURLOPT_OPENSOCKETFUNCTION: every address libcurl is about to connect to, after DNS. */
static curl_socket_t open_guarded(void *cls, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct guard_ctx *x = cls;
	(void)purpose;
	const char *kind = net_guard_refuses(x->g, &a->addr);
	if (kind != NULL) {
		char ip[INET6_ADDRSTRLEN] = "?";
		if (a->family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&a->addr)->sin_addr, ip,
				  sizeof ip);
		else if (a->family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a->addr)->sin6_addr, ip,
				  sizeof ip);
		snprintf(x->why, sizeof x->why,
			 "refused to connect to %s: %s (not in TRANSOM_WEBHOOK_ALLOW_NETS)", ip,
			 kind);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Installs the guard on `h` (none when x->g is NULL).  False when libcurl refuses. */
static bool guard_install(CURL *h, struct guard_ctx *x)
{
	if (x->g == NULL)
		return true;
	return curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_guarded) == CURLE_OK &&
	       curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x) == CURLE_OK;
}

bool net_guard_check_url(const struct net_guard *g, const char *url, char *why, size_t whylen)
{
	if (!url_ok(url, why, whylen))
		return false;
	CURLU *u = curl_url();
	char *host = NULL;
	bool ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK;
	if (!ok)
		snprintf(why, whylen, "the url does not parse");
	else
		ok = net_guard_check_host(g, host, why, whylen);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* Options every request shares.  False when libcurl refuses one (an old libcurl). */
static bool easy_common(CURL *h, const char *url, long timeout_ms, char *errbuf, struct buf *b)
{
	long connect_ms = timeout_ms < NET_CONNECT_TIMEOUT_MS ? timeout_ms : NET_CONNECT_TIMEOUT_MS;
	bool ok = true;

	ok &= curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
	ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ==
	      CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,
			       (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) == CURLE_OK;
#endif
	ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, b) == CURLE_OK;
	return ok;
}

/* Why a transfer failed, short and lowercase where it is ours. */
static void describe(char *out, size_t outlen, CURLcode rc, const char *errbuf, long timeout_ms,
		     const struct buf *b, const char *what)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (b->oom || rc == CURLE_OUT_OF_MEMORY) {
		snprintf(out, outlen, "out of memory");
		return;
	}
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(out, outlen, "timed out after %ld ms", timeout_ms);
		break;
	case CURLE_FILESIZE_EXCEEDED:
		snprintf(out, outlen, "%s larger than %zu bytes", what, b->max);
		break;
	case CURLE_WRITE_ERROR:
		if (b->over)
			snprintf(out, outlen, "%s larger than %zu bytes", what, b->max);
		else
			snprintf(out, outlen, "transfer failed: %s", detail);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		snprintf(out, outlen, "dns: %s", detail);
		break;
	case CURLE_COULDNT_CONNECT:
		snprintf(out, outlen, "connect: %s", detail);
		break;
	case CURLE_TOO_MANY_REDIRECTS:
		snprintf(out, outlen, "more than %d redirects", NET_MAX_REDIRECTS);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		snprintf(out, outlen, "protocol not allowed: %s", detail);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		snprintf(out, outlen, "tls: %s", detail);
		break;
	default:
		snprintf(out, outlen, "transfer failed: %s", detail);
		break;
	}
}

/* --- net_fetch ------------------------------------------------------------------------ */

void net_fetch_result_clear(struct net_fetch_result *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* Hands the cached copy (stolen) to `r` as the body in hand. */
static void give_cached(struct net_fetch_result *r, char *cached, size_t clen,
			const struct cache_meta *m)
{
	r->body = cached;
	r->len = clen;
	r->from_cache = true;
	r->fetched_ms = m->fetched_ms;
}

int net_fetch(const struct net_fetch_opts *o, struct net_fetch_result *r)
{
	struct buf b = {0};
	struct validators v = {0};
	struct cache_meta m;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *cached = NULL;
	size_t clen = 0;
	bool have_cache = false, ok = true;
	CURL *h = NULL;
	long status = 0;
	struct guard_ctx gx = {.g = o ? o->guard : NULL};

	memset(r, 0, sizeof *r);
	if (o == NULL) {
		snprintf(r->error, sizeof r->error, "no options");
		return -1;
	}
	if (!url_ok(o->url, r->error, sizeof r->error))
		return -1;
	long timeout_ms = timeout_of(o->timeout_ms);
	b.max = o->max_bytes ? o->max_bytes : NET_MAX_BYTES_DEFAULT;

	if (o->cache_dir != NULL)
		have_cache = net_cache_load(o->cache_dir, o->url, b.max, &m, &cached, &clen,
					    r->cache_error, sizeof r->cache_error);
	if (have_cache && m.etag[0])
		ok &= slist_add(&hdrs, "If-None-Match", m.etag);
	if (have_cache && m.last_modified[0])
		ok &= slist_add(&hdrs, "If-Modified-Since", m.last_modified);
	h = curl_easy_init();
	if (!ok || h == NULL) {
		snprintf(r->error, sizeof r->error, "%s",
			 h == NULL ? "cannot create a curl handle" : "out of memory");
		goto fail;
	}
	ok = easy_common(h, o->url, timeout_ms, errbuf, &b);
	ok &= guard_install(h, &gx);
	ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)NET_MAX_REDIRECTS) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)b.max) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_USERAGENT,
			       o->user_agent ? o->user_agent : NET_USER_AGENT_DEFAULT) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_line) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HEADERDATA, &v) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) == CURLE_OK;
	if (!ok) {
		snprintf(r->error, sizeof r->error, "libcurl refused an option");
		goto fail;
	}

	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	r->http_status = (int)status;
	if (rc != CURLE_OK) {
		if (gx.why[0])
			snprintf(r->error, sizeof r->error, "%s", gx.why);
		else
			describe(r->error, sizeof r->error, rc, errbuf, timeout_ms, &b, "body");
		goto fail;
	}
	if (status >= 200 && status <= 299) {
		if (!buf_finish(&b)) {
			snprintf(r->error, sizeof r->error, "out of memory");
			goto fail;
		}
		r->body = b.p;
		r->len = b.len;
		r->fetched_ms = clock_wall_ms();
		b.p = NULL;
		if (o->cache_dir != NULL) {
			/* A failure replaces what loading said; success keeps it. */
			net_cache_store(o->cache_dir, o->url, &v, r->body, r->len, r->fetched_ms,
					r->cache_error, sizeof r->cache_error);
		}
		free(cached);
		goto done;
	}
	if (status == 304 && have_cache) {
		give_cached(r, cached, clen, &m);
		r->not_modified = true;
		goto done;
	}
	if (status == 304)
		snprintf(r->error, sizeof r->error, "http status 304 without a cached copy");
	else
		snprintf(r->error, sizeof r->error, "http status %ld", status);
fail:
	if (have_cache)
		give_cached(r, cached, clen, &m);
	free(b.p);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return -1;
done:
	free(b.p);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return 0;
}

/* --- net_send ------------------------------------------------------------------------- */

void net_reply_clear(struct net_reply *rp)
{
	if (rp == NULL)
		return;
	free(rp->body);
	memset(rp, 0, sizeof *rp);
}

/*
 * The request's header list, with libcurl's own additions switched off ("Name:" with
 * nothing after it removes a header libcurl would add): no "Expect: 100-continue", and
 * no "Content-Type: application/x-www-form-urlencoded" on a body the caller did not type.
 */
static bool send_headers(const struct net_request *rq, bool with_body, struct curl_slist **out,
			 char *err, size_t errlen)
{
	bool has_type = false, has_expect = false;

	*out = NULL;
	for (size_t i = 0; i < rq->n_headers; i++) {
		const struct net_header *hd = &rq->headers[i];
		if (!is_token(hd->name) || hd->value == NULL || strpbrk(hd->value, "\r\n")) {
			snprintf(err, errlen, "bad header %zu (%s)", i,
				 is_token(hd->name) ? hd->name : "its name");
			return false;
		}
		has_type |= strcasecmp(hd->name, "content-type") == 0;
		has_expect |= strcasecmp(hd->name, "expect") == 0;
		if (!slist_add(out, hd->name, hd->value))
			goto oom;
	}
	if (!has_expect && !slist_line(out, "Expect:"))
		goto oom;
	if (with_body && !has_type && !slist_line(out, "Content-Type:"))
		goto oom;
	return true;
oom:
	snprintf(err, errlen, "out of memory");
	return false;
}

int net_send(const struct net_request *rq, struct net_reply *rp)
{
	struct buf b = {0};
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = NULL;
	long status = 0;
	int ret = -1;
	struct guard_ctx gx = {.g = rq ? rq->guard : NULL};

	memset(rp, 0, sizeof *rp);
	if (rq == NULL) {
		snprintf(rp->error, sizeof rp->error, "no request");
		return -1;
	}
	if (!url_ok(rq->url, rp->error, sizeof rp->error))
		return -1;
	const char *method = rq->method ? rq->method : rq->body ? "POST" : "GET";
	if (!is_token(method)) {
		snprintf(rp->error, sizeof rp->error, "method is not an http token");
		return -1;
	}
	if (rq->n_headers > 0 && rq->headers == NULL) {
		snprintf(rp->error, sizeof rp->error, "n_headers without headers");
		return -1;
	}
	long timeout_ms = timeout_of(rq->timeout_ms);
	b.max = rq->max_reply ? rq->max_reply : NET_MAX_REPLY_DEFAULT;
	bool with_body = rq->body != NULL || strcmp(method, "POST") == 0 ||
			 strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
	if (!send_headers(rq, with_body, &hdrs, rp->error, sizeof rp->error))
		goto out;
	h = curl_easy_init();
	if (h == NULL) {
		snprintf(rp->error, sizeof rp->error, "cannot create a curl handle");
		goto out;
	}
	bool ok = easy_common(h, rq->url, timeout_ms, errbuf, &b);
	ok &= guard_install(h, &gx);
	ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, NET_USER_AGENT_DEFAULT) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cc) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HEADERDATA, rp->cache_control) == CURLE_OK;
	if (with_body) {
		/* libcurl's POST with the caller's bytes; CUSTOMREQUEST renames the method. */
		ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)(rq->body ? rq->len : 0)) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "") == CURLE_OK;
		if (strcmp(method, "POST") != 0)
			ok &= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
	} else if (strcmp(method, "HEAD") == 0) {
		ok &= curl_easy_setopt(h, CURLOPT_NOBODY, 1L) == CURLE_OK;
	} else if (strcmp(method, "GET") != 0) {
		ok &= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
	}
	if (!ok) {
		snprintf(rp->error, sizeof rp->error, "libcurl refused an option");
		goto out;
	}

	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	rp->status = (int)status;
	if (rc == CURLE_WRITE_ERROR && b.over && !b.oom && status != 0) {
		rp->truncated = true;
		rc = CURLE_OK;
	}
	if (rc != CURLE_OK) {
		if (gx.why[0])
			snprintf(rp->error, sizeof rp->error, "%s", gx.why);
		else
			describe(rp->error, sizeof rp->error, rc, errbuf, timeout_ms, &b, "reply");
		goto out;
	}
	if (b.len > 0) {
		if (!buf_finish(&b)) {
			snprintf(rp->error, sizeof rp->error, "out of memory");
			goto out;
		}
		rp->body = b.p;
		rp->len = b.len;
		b.p = NULL;
	}
	ret = 0;
out:
	free(b.p);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return ret;
}
