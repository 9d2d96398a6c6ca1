/*
 * authres.c -- the DMARC verdict of a trusted MTA from Authentication-Results (authres.h).
 */
#include "mail/authres.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AR_MAX 4096

/* `in` without (nested) comments and with quoted strings kept, into `out` (AR_MAX). */
static void uncomment(const char *in, char *out)
{
	int depth = 0;
	bool quoted = false;
	size_t n = 0;
	for (const char *p = in; *p && n + 1 < AR_MAX; p++) {
		if (quoted) {
			if (*p == '\\' && p[1]) {
				out[n++] = *p++;
				if (n + 1 < AR_MAX)
					out[n++] = *p;
				continue;
			}
			quoted = *p != '"';
			out[n++] = *p;
		} else if (depth > 0) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		} else if (*p == '(') {
			depth = 1;
			out[n++] = ' ';
		} else {
			quoted = *p == '"';
			out[n++] = (*p == '\r' || *p == '\n' || *p == '\t') ? ' ' : *p;
		}
	}
	out[n] = '\0';
}

/* The next whitespace-delimited word of *s into `w` (size), advancing *s; false at end. */
static bool word(char **s, char *w, size_t size)
{
	char *p = *s;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return false;
	size_t n = 0;
	while (*p && *p != ' ') {
		if (n + 1 < size)
			w[n++] = *p;
		p++;
	}
	w[n] = '\0';
	*s = p;
	return true;
}

/* Whether `v` (a header.from value, maybe quoted) names domain `dom`. */
static bool same_domain(const char *v, const char *dom)
{
	size_t n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	const char *at = memchr(v, '@', n); /* a local-part@domain form */
	if (at != NULL) {
		n -= (size_t)(at + 1 - v);
		v = at + 1;
	}
	return strlen(dom) == n && strncasecmp(v, dom, n) == 0;
}

enum authres_verdict authres_dmarc(const char *const *headers, size_t n, const char *authserv_id,
				   const char *from, char *why, size_t whylen)
{
	char buf[AR_MAX], w[512];
	const char *from_dom = from ? strrchr(from, '@') : NULL;
	if (from_dom != NULL)
		from_dom++;
	for (size_t i = 0; i < n; i++) {
		if (headers[i] == NULL)
			continue;
		uncomment(headers[i], buf);
		char *seg = buf, *semi = strchr(seg, ';');
		if (semi != NULL)
			*semi = '\0';
		char *p = seg;
		if (!word(&p, w, sizeof w) || strcasecmp(w, authserv_id) != 0)
			continue;
		/* The trusted MTA's header: its dmarc resinfo decides. */
		char result[64] = "", hfrom[256] = "";
		bool found = false;
		while (semi != NULL && !found) {
			seg = semi + 1;
			semi = strchr(seg, ';');
			if (semi != NULL)
				*semi = '\0';
			p = seg;
			if (!word(&p, w, sizeof w))
				continue;
			/* method[/version]=result, maybe with spaces around '=' */
			char *eq = strchr(w, '=');
			char method[64];
			snprintf(method, sizeof method, "%.*s",
				 (int)(eq ? eq - w : (long)strlen(w)), w);
			char *slash = strchr(method, '/');
			if (slash != NULL)
				*slash = '\0';
			for (char *m = method; *m; m++)
				if (*m == ' ')
					*m = '\0';
			if (strcasecmp(method, "dmarc") != 0)
				continue;
			found = true;
			const char *res = NULL;
			if (eq != NULL && eq[1]) {
				res = eq + 1;
			} else if (word(&p, w, sizeof w) && w[0] == '=') {
				/* "dmarc = pass" */
				res = w[1] ? w + 1 : word(&p, w, sizeof w) ? w : NULL;
			}
			snprintf(result, sizeof result, "%.63s", res ? res : "");
			while (word(&p, w, sizeof w))
				if (strncasecmp(w, "header.from=", 12) == 0)
					snprintf(hfrom, sizeof hfrom, "%.255s", w + 12);
		}
		for (char *r = result; *r; r++)
			*r = (char)tolower((unsigned char)*r);
		if (!found || strcmp(result, "pass") != 0) {
			if (why)
				snprintf(why, whylen, "dmarc=%s per %s", found ? result : "(none)",
					 authserv_id);
			return AUTHRES_NOT_PASS;
		}
		if (hfrom[0] && from_dom != NULL && !same_domain(hfrom, from_dom)) {
			if (why)
				snprintf(why, whylen, "dmarc=pass for header.from=%s, not %s",
					 hfrom, from_dom);
			return AUTHRES_OTHER_DOMAIN;
		}
		if (why)
			snprintf(why, whylen, "dmarc=pass per %s", authserv_id);
		return AUTHRES_PASS;
	}
	if (why)
		snprintf(why, whylen, "no Authentication-Results from %s", authserv_id);
	return AUTHRES_NO_HEADER;
}
