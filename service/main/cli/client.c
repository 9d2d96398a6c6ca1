/*
 * client.c -- JSON requests to transomd for the CLI, over net_send().
 */
#include "main/cli/client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/net.h"

#define URL_MAX (16 * 1024)

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("transom: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *cli_str(const json_t *j, const char *key, const char *def)
{
	const char *v = json_string_value(json_object_get(j, key));
	return v ? v : def;
}

bool cli_status_transient(int status)
{
	return status == 408 || status == 429 || status == 502 || status == 503 || status == 504;
}

/* r->error for a reply that is not 2xx: the problem's fields when it is one. */
static void describe_failure(struct cli_reply *r, const char *method, const char *path,
			     const struct net_reply *rp)
{
	const char *title = cli_str(r->json, "title", NULL);
	const char *detail = cli_str(r->json, "detail", NULL);
	const char *field = cli_str(r->json, "field", NULL);
	const char *rule = cli_str(r->json, "rule", NULL);
	size_t n;

	if (detail == NULL && title == NULL) {
		/* Not problem+json: a proxy's page or an empty reply; show its first line. */
		const char *b = rp->body ? rp->body : "";
		size_t first = strcspn(b, "\r\n");
		snprintf(r->error, sizeof r->error, "%s %s: HTTP %d%s%.*s", method, path, r->status,
			 first > 0 ? ": " : "", (int)(first > 200 ? 200 : first), b);
		return;
	}
	n = (size_t)snprintf(r->error, sizeof r->error, "%s (%d): %s", title ? title : "error",
			     r->status, detail ? detail : "");
	if (field != NULL && n < sizeof r->error)
		n += (size_t)snprintf(r->error + n, sizeof r->error - n, " [field: %s]", field);
	else if (rule != NULL && n < sizeof r->error && (detail == NULL || !strstr(detail, rule)))
		snprintf(r->error + n, sizeof r->error - n, " [rule: %s]", rule);
}

int cli_request(const struct cli *c, const char *method, const char *path, const json_t *body,
		const char *idempotency_key, long timeout_ms, struct cli_reply *r)
{
	struct net_header h[4];
	struct net_reply rp;
	char auth[1024], *url = NULL, *text = NULL;
	size_t nh = 0;
	int ret = -1;

	memset(r, 0, sizeof *r);
	if (strlen(c->token) > sizeof auth - 32 || strpbrk(c->token, "\r\n") != NULL) {
		snprintf(r->error, sizeof r->error, "the token is malformed");
		return -1;
	}
	if (asprintf(&url, "%s%s", c->url, path) < 0 || strlen(url) > URL_MAX) {
		free(url);
		snprintf(r->error, sizeof r->error, "out of memory, or a URL over %d bytes",
			 URL_MAX);
		return -1;
	}
	snprintf(auth, sizeof auth, "Bearer %s", c->token);
	h[nh++] = (struct net_header){"Authorization", auth};
	h[nh++] = (struct net_header){"Accept", "application/json, application/problem+json"};
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL) {
			free(url);
			snprintf(r->error, sizeof r->error, "out of memory");
			return -1;
		}
		h[nh++] = (struct net_header){"Content-Type", "application/json"};
	}
	if (idempotency_key != NULL)
		h[nh++] = (struct net_header){"Idempotency-Key", idempotency_key};

	struct net_request rq = {
		.method = method,
		.url = url,
		.headers = h,
		.n_headers = nh,
		.body = text,
		.len = text ? strlen(text) : 0,
		.timeout_ms = timeout_ms > 0 ? timeout_ms : CLI_TIMEOUT_MS_DEFAULT,
	};
	if (net_send(&rq, &rp) != 0) {
		r->transient = true;
		snprintf(r->error, sizeof r->error, "cannot reach %.200s: %.250s", c->url,
			 rp.error);
		goto out;
	}
	r->status = rp.status;
	if (rp.len > 0)
		r->json = json_loadb(rp.body, rp.len, 0, NULL);
	if (rp.status < 200 || rp.status > 299) {
		r->transient = cli_status_transient(rp.status);
		describe_failure(r, method, path, &rp);
		goto out;
	}
	if (rp.len > 0 && r->json == NULL) {
		snprintf(r->error, sizeof r->error, "%s %s: HTTP %d with a body that is not JSON",
			 method, path, rp.status);
		goto out;
	}
	if (rp.truncated) {
		snprintf(r->error, sizeof r->error, "%s %s: the reply is larger than %u bytes",
			 method, path, NET_MAX_REPLY_DEFAULT);
		goto out;
	}
	ret = 0;
out:
	net_reply_clear(&rp);
	free(text);
	free(url);
	return ret;
}

void cli_reply_clear(struct cli_reply *r)
{
	if (r == NULL)
		return;
	json_decref(r->json);
	memset(r, 0, sizeof *r);
}

bool cli_id_ok(const char *id, const char *what)
{
	size_t n = strlen(id);
	bool ok = n > 0 && n <= 64 &&
		  strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789._-") == n &&
		  strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
	if (!ok)
		cli_error("%s '%s': expected 1 to 64 of A-Z a-z 0-9 . _ -", what, id);
	return ok;
}

void cli_query_add(char *buf, size_t len, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(buf);
	if (n + strlen(key) + 2 >= len)
		return;
	n += (size_t)snprintf(buf + n, len - n, "%c%s=", strchr(buf, '?') ? '&' : '?', key);
	for (const unsigned char *p = (const unsigned char *)value; *p && n + 4 < len; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			buf[n++] = (char)*p;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 15];
		}
	}
	buf[n] = '\0';
}

void cli_json_print(const json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (text != NULL) {
		fputs(text, stdout);
		fputc('\n', stdout);
	}
	free(text);
}

void cli_sleep_ms(long long ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
