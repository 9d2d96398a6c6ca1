/*
 * multistatus.c -- Multi-Status (RFC 4918 13) and DAV:error replies, written by hand into a
 * growing buffer with XML escaping.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav/dav.h"

static bool grow(struct dav_buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void dav_buf_addn(struct dav_buf *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void dav_buf_add(struct dav_buf *b, const char *s)
{
	dav_buf_addn(b, s, strlen(s));
}

void dav_buf_addf(struct dav_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		dav_buf_addn(b, small, (size_t)n);
		return;
	}
	if (!grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void dav_buf_esc(struct dav_buf *b, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = c == '&'                                            ? "&amp;"
				  : c == '<'                                          ? "&lt;"
				  : c == '>'                                          ? "&gt;"
				  : c == '"'                                          ? "&quot;"
				  : (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ? ""
										      : NULL;
		if (rep == NULL)
			continue;
		dav_buf_addn(b, s + start, i - start);
		dav_buf_add(b, rep);
		start = i + 1;
	}
	dav_buf_addn(b, s + start, n - start);
}

/* The prefix declared for `ns` in dav_ms_begin(), or NULL. */
static const char *prefix_of(const char *ns)
{
	return strcmp(ns, DAV_NS) == 0      ? "D"
	       : strcmp(ns, CALDAV_NS) == 0 ? "C"
	       : strcmp(ns, CS_NS) == 0     ? "CS"
	       : strcmp(ns, ICAL_NS) == 0   ? "ICAL"
					    : NULL;
}

#define NS_DECLS                                                                                   \
	"xmlns:D=\"DAV:\" xmlns:C=\"" CALDAV_NS "\" xmlns:CS=\"" CS_NS "\" xmlns:ICAL=\"" ICAL_NS  \
	"\""

void dav_ms_begin(struct dav_buf *b)
{
	dav_buf_add(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus " NS_DECLS ">");
}

void dav_ms_end(struct dav_buf *b, const char *sync_token)
{
	if (sync_token != NULL) {
		dav_buf_add(b, "<D:sync-token>");
		dav_buf_esc(b, sync_token, strlen(sync_token));
		dav_buf_add(b, "</D:sync-token>");
	}
	dav_buf_add(b, "</D:multistatus>\n");
}

void dav_ms_response_begin(struct dav_buf *b, const char *href)
{
	dav_buf_add(b, "<D:response><D:href>");
	dav_buf_esc(b, href, strlen(href));
	dav_buf_add(b, "</D:href>");
}

void dav_ms_response_end(struct dav_buf *b)
{
	dav_buf_add(b, "</D:response>");
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	default:
		return "Unknown";
	}
}

void dav_ms_response_status(struct dav_buf *b, const char *href, int status)
{
	dav_ms_response_begin(b, href);
	dav_buf_addf(b, "<D:status>HTTP/1.1 %d %s</D:status>", status, reason(status));
	dav_ms_response_end(b);
}

void dav_ms_propstat_begin(struct dav_buf *b)
{
	dav_buf_add(b, "<D:propstat><D:prop>");
}

void dav_ms_propstat_end(struct dav_buf *b, int status)
{
	dav_buf_addf(b, "</D:prop><D:status>HTTP/1.1 %d %s</D:status></D:propstat>", status,
		     reason(status));
}

/* Writes "<P:name" (or "<X:name xmlns:X="ns"") and returns the qualified name's prefix. */
static const char *open_tag(struct dav_buf *b, const char *ns, const char *name)
{
	const char *p = prefix_of(ns);
	dav_buf_addf(b, "<%s:", p ? p : "X");
	dav_buf_esc(b, name, strlen(name));
	if (p == NULL) {
		dav_buf_add(b, " xmlns:X=\"");
		dav_buf_esc(b, ns, strlen(ns));
		dav_buf_add(b, "\"");
	}
	return p ? p : "X";
}

static void close_tag(struct dav_buf *b, const char *prefix, const char *name)
{
	dav_buf_addf(b, "</%s:", prefix);
	dav_buf_esc(b, name, strlen(name));
	dav_buf_add(b, ">");
}

void dav_ms_prop_empty(struct dav_buf *b, const char *ns, const char *name)
{
	if (ns[0] == '\0') { /* an element in no namespace */
		dav_buf_add(b, "<");
		dav_buf_esc(b, name, strlen(name));
		dav_buf_add(b, " xmlns=\"\"/>");
		return;
	}
	open_tag(b, ns, name);
	dav_buf_add(b, "/>");
}

void dav_ms_prop_text(struct dav_buf *b, const char *ns, const char *name, const char *text,
		      size_t len)
{
	const char *p = open_tag(b, ns, name);
	dav_buf_add(b, ">");
	dav_buf_esc(b, text, len);
	close_tag(b, p, name);
}

void dav_ms_prop_xml(struct dav_buf *b, const char *ns, const char *name, const char *xml)
{
	const char *p = open_tag(b, ns, name);
	dav_buf_add(b, ">");
	dav_buf_add(b, xml);
	close_tag(b, p, name);
}

void dav_error_body(struct dav_buf *b, const char *ns, const char *name)
{
	dav_buf_add(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error " NS_DECLS ">");
	dav_ms_prop_empty(b, ns, name);
	dav_buf_add(b, "</D:error>\n");
}
