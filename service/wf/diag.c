/*
 * diag.c -- validation diagnostics of the workflow loader, and small string helpers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf/wf_int.h"

static char *str_dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

void wf_diag_add(struct wf_diags *d, const char *file, const char *path, int column,
		 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (d->n == d->cap) {
		size_t cap = d->cap != 0 ? d->cap * 2 : 8;
		struct wf_diag *v = realloc(d->v, cap * sizeof *v);
		if (v == NULL) {
			d->oom = true;
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	struct wf_diag *g = &d->v[d->n];
	g->file = str_dup_or_empty(file);
	g->path = str_dup_or_empty(path);
	g->message = strdup(msg);
	g->column = column;
	if (g->file == NULL || g->path == NULL || g->message == NULL) {
		free(g->file);
		free(g->path);
		free(g->message);
		d->oom = true;
		return;
	}
	d->n++;
}

void wf_diags_clear(struct wf_diags *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].path);
		free(d->v[i].message);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

int wf_diag_format(const struct wf_diag *d, char *buf, size_t size)
{
	char col[32] = "";

	if (d->column > 0)
		snprintf(col, sizeof col, "column %d: ", d->column);
	return snprintf(buf, size, "%s: %s%s%s%s", d->file, d->path, d->path[0] != '\0' ? ": " : "",
			col, d->message);
}

char *wf_diags_join(const struct wf_diags *d)
{
	struct wf_buf b = {0};

	wf_buf_puts(&b, "");
	for (size_t i = 0; i < d->n; i++) {
		int need = wf_diag_format(&d->v[i], NULL, 0);
		char *line = malloc((size_t)need + 1);
		if (line == NULL) {
			b.oom = true;
			break;
		}
		wf_diag_format(&d->v[i], line, (size_t)need + 1);
		wf_buf_printf(&b, "%s\n", line);
		free(line);
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

static void buf_reserve(struct wf_buf *b, size_t extra)
{
	if (b->oom)
		return;
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap != 0 ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (s == NULL) {
		b->oom = true;
		return;
	}
	b->s = s;
	b->cap = cap;
}

void wf_buf_printf(struct wf_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	buf_reserve(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void wf_buf_puts(struct wf_buf *b, const char *s)
{
	size_t n = strlen(s);

	buf_reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

void wf_pathf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

uint64_t wf_fnv1a64(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}
