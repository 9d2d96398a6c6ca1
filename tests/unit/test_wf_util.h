/*
 * test_wf_util.h -- helpers shared by the workflow engine's unit tests.
 *
 * Workflow JSON in tests is written with ' for " and ` for \" (a quote inside an
 * expression string) so that it stays readable in C string literals.
 */
#ifndef TRANSOM_TEST_WF_UTIL_H
#define TRANSOM_TEST_WF_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf/wf.h"

#define T_NOW 1700000000

/* `src` with ' -> " and ` -> \" (owned). */
static inline char *tw_json(const char *src)
{
	size_t n = strlen(src);
	char *out = malloc(2 * n + 1), *o = out;

	if (out == NULL)
		abort();
	for (const char *s = src; *s != '\0'; s++) {
		if (*s == '\'')
			*o++ = '"';
		else if (*s == '`') {
			*o++ = '\\';
			*o++ = '"';
		} else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* Parses test JSON as file "workflows/<name>.json"; diagnostics go to `d`. */
static inline struct wf *tw_parse_as(const char *name, const char *src, struct diags *d)
{
	char file[128];
	char *text = tw_json(src);

	snprintf(file, sizeof file, "workflows/%s.json", name);
	struct wf *wf = wf_parse(file, text, strlen(text), d);
	free(text);
	return wf;
}

static inline struct wf *tw_parse(const char *src, struct diags *d)
{
	return tw_parse_as("t", src, d);
}

/* The i-th diagnostic, formatted (static buffer). */
static inline const char *tw_diag(const struct diags *d, size_t i)
{
	static char line[1024];

	if (i >= d->n)
		return "(none)";
	diag_format(&d->v[i], line, sizeof line);
	return line;
}

/* Whether some diagnostic formats exactly to `want`. */
static inline bool tw_has_line(const struct diags *d, const char *want)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(tw_diag(d, i), want) == 0)
			return true;
	return false;
}

/* Whether some diagnostic at JSON path `path` has `needle` in its message. */
static inline bool tw_has(const struct diags *d, const char *path, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].path, path) == 0 && strstr(d->v[i].message, needle) != NULL)
			return true;
	return false;
}

/* Prints every diagnostic (to see why a check failed). */
static inline void tw_dump(const struct diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "    diag: %s\n", tw_diag(d, i));
}

/* Whether JSON array `arr` of strings equals the NULL-terminated list. */
static inline bool tw_strs(json_t *arr, const char *const *want)
{
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	if (!json_is_array(arr) || json_array_size(arr) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s == NULL || strcmp(s, want[i]) != 0)
			return false;
	}
	return true;
}

/* Text of a JSON value (static buffer), for messages. */
static inline const char *tw_show(json_t *v)
{
	static char buf[2048];
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	snprintf(buf, sizeof buf, "%s", s != NULL ? s : "(null)");
	free(s);
	return buf;
}

#endif /* TRANSOM_TEST_WF_UTIL_H */
