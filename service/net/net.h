/*
 * net.h -- outgoing HTTP: conditional fetches with a disk cache, and plain requests.
 *
 * The only module that includes libcurl.  Two entry points:
 *   net_fetch()  GETs a remote file (iCalendar feeds: public holidays, freezes) and keeps
 *                the last good copy on disk, revalidated with If-None-Match /
 *                If-Modified-Since; when the fetch fails the caller still gets that copy.
 *   net_send()   one request with any method, headers and body (webhook delivery,
 *                callbacks); any status counts as a reply.
 *
 * Address guard (SSRF): with a guard (struct net_guard) every connection libcurl opens is
 * checked after DNS resolution (CURLOPT_OPENSOCKETFUNCTION), for every redirect hop and
 * every address tried: loopback, private (RFC 1918, unique local), link-local, carrier-
 * grade NAT, multicast, unspecified, reserved and cloud metadata addresses, IPv4 and IPv6
 * (also IPv4 inside IPv6: mapped, compatible, NAT64), are refused unless the guard's
 * allow-list (TRANSOM_WEBHOOK_ALLOW_NETS) holds them.  Through a proxy (https_proxy) the
 * proxy's address is what is checked: the proxy must then apply the same rule.
 *
 * Every call uses its own curl easy handle, so both are thread-safe once net_init() has
 * run.  Only http:// and https:// are spoken (also after a redirect); TLS peers are
 * verified; libcurl never raises signals (CURLOPT_NOSIGNAL).  Proxies named by the usual
 * environment variables (https_proxy, no_proxy, ...) are honoured, as libcurl does.
 *
 * Cache layout (net_fetch): in `cache_dir`, for each URL, the SHA-256 hex of the URL names
 *   <hex>.body   the last 2xx body, byte for byte
 *   <hex>.meta   text lines "key value": magic "transom-net-cache 1", url, fetched-ms,
 *                etag, last-modified, length and sha256 (of the body)
 * Each file is written to a temporary file in cache_dir, fsync'd and renamed over the old
 * one.  A pair whose meta does not match its body (URL, length or SHA-256 differ: a crash
 * or a concurrent writer between the two renames) is ignored as if absent, and the next
 * 2xx replaces it.  Only a 2xx reply replaces the cache; a 304 leaves it untouched.
 */
#ifndef TRANSOM_NET_H
#define TRANSOM_NET_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

#define NET_TIMEOUT_MS_DEFAULT 30000L             /* when timeout_ms <= 0 */
#define NET_CONNECT_TIMEOUT_MS 10000L             /* connect phase, capped by timeout_ms */
#define NET_MAX_REDIRECTS      5                  /* net_fetch() only */
#define NET_MAX_BYTES_DEFAULT  (8u * 1024 * 1024) /* net_fetch() when max_bytes == 0 */
#define NET_MAX_REPLY_DEFAULT  (1u * 1024 * 1024) /* net_send() when max_reply == 0 */
#define NET_USER_AGENT_DEFAULT "transom/1"

/*
 * Initialises libcurl for the process (curl_global_init).  Call once, single-threaded,
 * before any other net_ function and before threads start.  Idempotent.
 */
void net_init(void);

/* Releases what net_init() set up; call after every other thread stopped.  Idempotent. */
void net_cleanup(void);

/* --- address guard (guard.c) ------------------------------------------------------------ */

struct net_guard;

/*
 * A guard allowing the networks of `cidrs` (comma- or space-separated IPv4/IPv6 CIDRs, a
 * bare address meaning /32 or /128; NULL or "": none) on top of the public internet.
 * Owned (net_guard_free); NULL with `err` on a malformed entry or out of memory.
 */
struct net_guard *net_guard_new(const char *cidrs, char *err, size_t errlen);
void net_guard_free(struct net_guard *g);

/*
 * NULL when `sa` (AF_INET or AF_INET6) may be reached through `g` (NULL: nothing allowed
 * beyond the public internet), else what it is ("loopback", "private", "link-local", "a
 * cloud metadata address", ...).  Thread-safe.
 */
const char *net_guard_refuses(const struct net_guard *g, const struct sockaddr *sa);

/*
 * For an IP literal `host` (brackets allowed): true when `g` lets it be reached, else false
 * with `why`.  A host name is not resolved here (true): it is checked at connect time.
 */
bool net_guard_check_host(const struct net_guard *g, const char *host, char *why, size_t whylen);

/* The same for the host of http(s) URL `url`; false with `why` also when it does not parse. */
bool net_guard_check_url(const struct net_guard *g, const char *url, char *why, size_t whylen);

/* --- conditional fetch ---------------------------------------------------------------- */

struct net_fetch_opts {
	const char *url;               /* http:// or https://; required */
	const char *cache_dir;         /* NULL: no cache; created (mode 0700) when missing */
	long timeout_ms;               /* whole transfer, redirects included; <= 0: default */
	size_t max_bytes;              /* largest body accepted (decoded); 0: default */
	const char *user_agent;        /* NULL: NET_USER_AGENT_DEFAULT */
	const struct net_guard *guard; /* addresses allowed; NULL: no check (tests only) */
};

struct net_fetch_result {
	int http_status;       /* final status after redirects; 0 when no response */
	bool not_modified;     /* 304: the cached copy is current */
	bool from_cache;       /* body is the cached copy (after a 304 or a failed fetch) */
	char *body;            /* owned, NUL-terminated (not counted in len); the fresh
				  body, or the cached copy; NULL when there is neither */
	size_t len;            /* bytes at body */
	char error[256];       /* "" on success, else why the fetch failed */
	char cache_error[256]; /* "" unless reading or writing the cache failed; the
				  fetch's outcome stands either way */
	long long fetched_ms;  /* when the body in hand was fetched (ms since the epoch;
				  from the cache's meta for cached copies); 0 without body */
};

/*
 * GETs o->url, following up to NET_MAX_REDIRECTS redirects.  With a cache_dir and a cached
 * copy it sends If-None-Match (the stored ETag) and If-Modified-Since (the stored
 * Last-Modified).  `r` is overwritten (not freed first): release it with
 * net_fetch_result_clear().
 *
 * Returns 0 when the body in hand is current:
 *   2xx: body is the fresh reply (from_cache false); the cache now holds it
 *   304: body is the cached copy (not_modified and from_cache true)
 * Returns -1 when the fetch failed: bad options, a URL that is not http(s), DNS, connect,
 * TLS, timeout, too many redirects, a body over max_bytes, a status other than 2xx and
 * 304, or a 304 with no cached copy.  r->error says which ("http status 500", "timed out
 * after 300 ms", "body larger than 1024 bytes", ...); r->http_status is the status when
 * one arrived; r->body is the last good copy (from_cache true) when the cache has one.
 * Allocation failure is reported the same way ("out of memory").
 *
 * Thread-safe, also for the same URL and cache_dir in several threads.  Blocks for up to
 * timeout_ms.  Reads the wall clock (for fetched_ms).
 */
int net_fetch(const struct net_fetch_opts *o, struct net_fetch_result *r);

/* Frees r->body and resets `r` to zeroes.  NULL is a no-op. */
void net_fetch_result_clear(struct net_fetch_result *r);

/* --- generic request ------------------------------------------------------------------- */

struct net_header {
	const char *name;  /* a header field name; no ':', CR or LF */
	const char *value; /* may be ""; no CR or LF */
};

struct net_request {
	const char *method;               /* "POST", "PUT", ...; NULL: GET, or POST with a body */
	const char *url;                  /* http:// or https://; required */
	const struct net_header *headers; /* n_headers of them; may be NULL when 0 */
	size_t n_headers;
	const char *body; /* len bytes sent as the body; NULL: no body */
	size_t len;
	long timeout_ms;               /* whole exchange; <= 0: default */
	size_t max_reply;              /* reply bytes kept; 0: default */
	const struct net_guard *guard; /* addresses allowed; NULL: no check (tests only) */
};

#define NET_CACHE_CONTROL_MAX 256

struct net_reply {
	int status;                                /* the HTTP status; 0 when no response arrived */
	char cache_control[NET_CACHE_CONTROL_MAX]; /* the reply's Cache-Control; "" if none */
	char *body;      /* owned, NUL-terminated (not counted in len); NULL when empty */
	size_t len;      /* bytes at body */
	bool truncated;  /* the reply had more than max_reply bytes; the rest was not read */
	char error[256]; /* "" when a response arrived, else why not */
};

/*
 * Sends one request and reads the reply.  Redirects are not followed (a 3xx is returned
 * as is).  libcurl's defaults that would change what the caller sent are switched off: no
 * "Expect: 100-continue", and no made-up Content-Type (set one in `headers` when sending a
 * body).  Headers in rq->headers replace libcurl's own (Host, User-Agent, Accept...).
 * `rp` is overwritten (not freed first): release it with net_reply_clear().
 *
 * Returns 0 when a response arrived, whatever its status (a reply longer than max_reply
 * is cut there and counts, with rp->truncated set).  Returns -1 with rp->error on bad
 * arguments (a method that is not an HTTP token, CR or LF in a header), a URL that is not
 * http(s), DNS, connect, TLS, timeout, or out of memory.  Thread-safe; blocks for up to
 * timeout_ms.
 */
int net_send(const struct net_request *rq, struct net_reply *rp);

/* Frees rp->body and resets `rp` to zeroes.  NULL is a no-op. */
void net_reply_clear(struct net_reply *rp);

/* --- mail: SMTP submission and IMAP polling (mailnet.c) --------------------------------- */

struct net_mail_opts {
	const char *url;      /* smtp(s)://host:port or imap(s)://host:port/MAILBOX; required */
	const char *user;     /* may be NULL: no login (or credentials in the URL) */
	const char *password; /* may be NULL */
	long timeout_ms;      /* whole exchange; <= 0: default */
};

/*
 * Submits message `msg` (`len` bytes, CRLF lines) from envelope sender `from` to the one
 * recipient `to` (bare addresses).  0 when the server accepted it, else -1 with `err`.
 * Thread-safe; blocks for up to the timeout.
 */
int net_smtp_send(const struct net_mail_opts *o, const char *from, const char *to, const char *msg,
		  size_t len, char *err, size_t errlen);

/* The UIDs of unseen messages of the mailbox (at most `max`, into uids, count in *n). */
int net_imap_unseen(const struct net_mail_opts *o, unsigned long *uids, size_t max, size_t *n,
		    char *err, size_t errlen);

/*
 * Message `uid` of the mailbox, byte for byte (owned in *body, NUL-terminated, `len`
 * bytes); the server marks it seen.  -1 with `err` when larger than max_bytes or failed.
 */
int net_imap_fetch(const struct net_mail_opts *o, unsigned long uid, size_t max_bytes, char **body,
		   size_t *len, char *err, size_t errlen);

/* Sets (`seen`) or clears the \Seen flag of message `uid`.  0, or -1 with `err`. */
int net_imap_flag_seen(const struct net_mail_opts *o, unsigned long uid, bool seen, char *err,
		       size_t errlen);

#endif /* TRANSOM_NET_H */
