/*
 * route.c -- the path matcher: segment by segment, literals and {placeholders}.
 */
#include "http/route.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	enum http_method m;
	const char *name;
} methods[] = {
	{HTTP_GET, "GET"},         {HTTP_HEAD, "HEAD"},         {HTTP_POST, "POST"},
	{HTTP_PUT, "PUT"},         {HTTP_PATCH, "PATCH"},       {HTTP_DELETE, "DELETE"},
	{HTTP_OPTIONS, "OPTIONS"}, {HTTP_PROPFIND, "PROPFIND"}, {HTTP_REPORT, "REPORT"},
};

enum http_method http_method_parse(const char *s)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(s, methods[i].name) == 0)
			return methods[i].m;
	return HTTP_OTHER;
}

char *http_methods_format(unsigned mask, char *out, size_t outlen)
{
	size_t pos = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (!(mask & methods[i].m))
			continue;
		int k = snprintf(out + pos, outlen - pos, "%s%s", pos ? ", " : "", methods[i].name);
		if (k < 0 || (size_t)k >= outlen - pos)
			break;
		pos += (size_t)k;
	}
	return out;
}

/* Length of the segment starting at `s` (up to '/' or the end). */
static size_t seg_len(const char *s)
{
	return strcspn(s, "/");
}

/* Does `path` match `pattern`?  Fills the parameters of `m` when it does. */
static bool match_one(const char *pattern, const char *path, struct route_match *m)
{
	const char *p = pattern, *u = path;
	m->nparams = 0;
	while (*p == '/' && *u == '/') {
		p++;
		u++;
		size_t pl = seg_len(p), ul = seg_len(u);
		if (pl > 2 && p[0] == '{' && p[pl - 1] == '}') {
			if (ul == 0 || ul >= ROUTE_PARAM_MAX || m->nparams >= ROUTE_MAX_PARAMS)
				return false;
			unsigned k = m->nparams++;
			snprintf(m->names[k], sizeof m->names[k], "%.*s", (int)(pl - 2), p + 1);
			memcpy(m->params[k], u, ul);
			m->params[k][ul] = '\0';
		} else if (pl != ul || memcmp(p, u, pl) != 0) {
			return false;
		}
		p += pl;
		u += ul;
	}
	return *p == '\0' && *u == '\0';
}

enum route_result route_match(const struct http_route *table, size_t n, enum http_method method,
			      const char *path, struct route_match *m)
{
	unsigned want = method == HTTP_HEAD ? HTTP_GET | HTTP_HEAD : method;
	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < n; i++) {
		struct route_match tmp;
		if (!match_one(table[i].pattern, path, &tmp))
			continue;
		unsigned allowed = table[i].methods;
		if (allowed & HTTP_GET)
			allowed |= HTTP_HEAD;
		if (want & table[i].methods) {
			*m = tmp;
			m->route = &table[i];
			m->index = i;
			return ROUTE_MATCHED;
		}
		m->allowed |= allowed;
	}
	return m->allowed ? ROUTE_WRONG_METHOD : ROUTE_NO_SUCH_PATH;
}

const char *route_param(const struct route_match *m, const char *name)
{
	for (unsigned i = 0; i < m->nparams; i++)
		if (strcmp(m->names[i], name) == 0)
			return m->params[i];
	return NULL;
}
