/*
 * diag.c -- validation diagnostics shared by the definition loaders (diag.h).
 */
#include "core/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *str_dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

void diags_add(struct diags *d, const char *file, const char *path, int column, const char *fmt,
	       ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (d->n == d->cap) {
		size_t cap = d->cap != 0 ? d->cap * 2 : 8;
		struct diag *v = realloc(d->v, cap * sizeof *v);
		if (v == NULL) {
			d->oom = true;
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	struct diag *g = &d->v[d->n];
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

void diags_clear(struct diags *d)
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

int diag_format(const struct diag *d, char *buf, size_t size)
{
	char col[32] = "";

	if (d->column > 0)
		snprintf(col, sizeof col, "column %d: ", d->column);
	return snprintf(buf, size, "%s: %s%s%s%s", d->file, d->path, d->path[0] != '\0' ? ": " : "",
			col, d->message);
}

char *diags_join(const struct diags *d)
{
	size_t len = 0;

	for (size_t i = 0; i < d->n; i++)
		len += (size_t)diag_format(&d->v[i], NULL, 0) + 1;
	char *s = malloc(len + 1);
	if (s == NULL)
		return NULL;
	size_t at = 0;
	for (size_t i = 0; i < d->n; i++) {
		at += (size_t)diag_format(&d->v[i], s + at, len + 1 - at);
		s[at++] = '\n';
	}
	s[at] = '\0';
	return s;
}
