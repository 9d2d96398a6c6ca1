/*
 * load.c -- the set of workflows: reading a directory, set-wide checks, picking the
 * workflow of a new record.  The only file of the module that does I/O.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf/wf_int.h"

/* Largest workflow file read (a definition is a few KiB). */
#define WF_FILE_MAX (1024 * 1024)

void wf_set_free(struct wf_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		wf_free(set->v[i]);
	free(set->v);
	free(set);
}

size_t wf_set_count(const struct wf_set *set)
{
	return set->n;
}

const struct wf *wf_set_at(const struct wf_set *set, size_t i)
{
	return i < set->n ? set->v[i] : NULL;
}

const struct wf *wf_set_find(const struct wf_set *set, const char *name)
{
	for (size_t i = 0; name != NULL && i < set->n; i++)
		if (strcmp(set->v[i]->name, name) == 0)
			return set->v[i];
	return NULL;
}

static void bind_list(struct wf_actions *list, const struct wf_action_impl *impls)
{
	for (size_t i = 0; i < list->n; i++)
		for (const struct wf_action_impl *m = impls; m->name != NULL; m++)
			if (strcmp(list->v[i].def->name, m->name) == 0)
				list->v[i].apply = m->apply;
}

void wf_set_bind_actions(struct wf_set *set, const struct wf_action_impl *impls)
{
	for (size_t w = 0; w < set->n; w++) {
		struct wf *wf = set->v[w];
		for (size_t i = 0; i < wf->n_states; i++)
			bind_list(&wf->states[i].on_enter, impls);
		for (size_t i = 0; i < wf->n_trans; i++)
			bind_list(&wf->trans[i].actions, impls);
	}
}

static int cmp_wf(const void *a, const void *b)
{
	return strcmp((*(struct wf *const *)a)->name, (*(struct wf *const *)b)->name);
}

/* Whether two `applies_to` objects can match one record: every shared key overlaps. */
static bool objects_overlap(json_t *a, json_t *b)
{
	const char *key;
	json_t *va;

	json_object_foreach(a, key, va) {
		json_t *vb = json_object_get(b, key);
		bool hit = false;
		if (vb == NULL)
			continue;
		size_t na = json_is_array(va) ? json_array_size(va) : 1;
		size_t nb = json_is_array(vb) ? json_array_size(vb) : 1;
		for (size_t i = 0; !hit && i < na; i++)
			for (size_t j = 0; !hit && j < nb; j++)
				hit = json_equal(json_is_array(va) ? json_array_get(va, i) : va,
						 json_is_array(vb) ? json_array_get(vb, j) : vb);
		if (!hit)
			return false;
	}
	return true;
}

/*
 * Whether workflows `a` and `b` (same kind) may both apply to one record.  Expressions
 * cannot be compared in general: only identical texts, or an expression against a
 * workflow applying to all records, count; other overlaps surface in wf_set_select().
 */
static bool selectors_overlap(const struct wf *a, const struct wf *b)
{
	if (a->sel == WF_SEL_ALL || b->sel == WF_SEL_ALL)
		return true;
	if (a->sel == WF_SEL_OBJECT && b->sel == WF_SEL_OBJECT)
		return objects_overlap(a->sel_obj, b->sel_obj);
	if (a->sel == WF_SEL_EXPR && b->sel == WF_SEL_EXPR)
		return strcmp(expr_source(a->sel_expr), expr_source(b->sel_expr)) == 0;
	return false;
}

struct wf_set *wf_set_new(struct wf **wfs, size_t n, struct diags *diags)
{
	size_t before = diags->n;
	struct wf_set *set = calloc(1, sizeof *set);

	if (set != NULL)
		set->v = calloc(n != 0 ? n : 1, sizeof *set->v);
	if (set == NULL || set->v == NULL) {
		diags->oom = true;
		for (size_t i = 0; i < n; i++)
			wf_free(wfs[i]);
		if (set != NULL)
			free(set);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (wfs[i] != NULL)
			set->v[set->n++] = wfs[i];
	qsort(set->v, set->n, sizeof *set->v, cmp_wf);
	for (size_t j = 0; j < set->n; j++) {
		const struct wf *b = set->v[j];
		for (size_t i = 0; i < j; i++) {
			const struct wf *a = set->v[i];
			if (strcmp(a->name, b->name) == 0)
				diags_add(diags, b->file, "", 0,
					  "workflow '%s' is also defined in %s", b->name, a->file);
			else if (a->kind == b->kind && selectors_overlap(a, b))
				diags_add(diags, b->file, "applies_to", 0,
					  "overlaps with workflow '%s': a %s could match both",
					  a->name, wf_kind_name(a->kind));
		}
	}
	if (diags->n != before || diags->oom) {
		wf_set_free(set);
		return NULL;
	}
	return set;
}

/* Reads `path` whole; NULL with a diagnostic on failure.  *len receives the size. */
static char *read_file(const char *path, size_t *len, struct diags *diags)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	if (f == NULL) {
		diags_add(diags, path, "", 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf = malloc(WF_FILE_MAX + 1);
	if (buf == NULL) {
		diags->oom = true;
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, WF_FILE_MAX + 1, f);
	if (ferror(f)) {
		diags_add(diags, path, "", 0, "cannot read: %s", strerror(errno));
		free(buf);
		buf = NULL;
	} else if (*len > WF_FILE_MAX) {
		diags_add(diags, path, "", 0, "file larger than %d bytes", WF_FILE_MAX);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the "*.json" files of `dir` (owned array and strings); NULL on error. */
static char **list_json(const char *dir, size_t *n, struct diags *diags)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t cap = 0;
	struct dirent *e;

	*n = 0;
	if (d == NULL) {
		diags_add(diags, dir, "", 0, "cannot open directory: %s", strerror(errno));
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (*n == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 8;
			char **v = realloc(names, ncap * sizeof *v);
			if (v == NULL)
				goto oom;
			names = v;
			cap = ncap;
		}
		if ((names[*n] = strdup(e->d_name)) == NULL)
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (names == NULL)
		names = calloc(1, sizeof *names);
	if (names == NULL)
		diags->oom = true;
	else
		qsort(names, *n, sizeof *names, cmp_str);
	return names;
oom:
	diags->oom = true;
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free(names[i]);
	free(names);
	return NULL;
}

struct wf_set *wf_set_load_dir(const char *dir, struct diags *diags)
{
	size_t before = diags->n, n = 0, dlen = strlen(dir);
	char **names = list_json(dir, &n, diags);
	struct wf **wfs;

	if (names == NULL)
		return NULL;
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	wfs = calloc(n != 0 ? n : 1, sizeof *wfs);
	if (wfs == NULL)
		diags->oom = true;
	for (size_t i = 0; wfs != NULL && i < n; i++) {
		size_t len = 0;
		char *path = NULL;
		if (asprintf(&path, "%.*s/%s", (int)dlen, dir, names[i]) < 0) {
			diags->oom = true;
			break;
		}
		char *text = read_file(path, &len, diags);
		if (text != NULL)
			wfs[i] = wf_parse(path, text, len, diags);
		free(text);
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (wfs == NULL)
		return NULL;
	if (diags->n != before || diags->oom) {
		for (size_t i = 0; i < n; i++)
			wf_free(wfs[i]);
		free(wfs);
		return NULL;
	}
	struct wf_set *set = wf_set_new(wfs, n, diags);
	free(wfs);
	return set;
}

enum wf_status wf_set_select(const struct wf_set *set, const char *kind, json_t *record,
			     const struct wf **out)
{
	int k = wf_kind_parse(kind);
	const struct wf *found = NULL;

	*out = NULL;
	if (k < 0 || !json_is_object(record))
		return WF_ERR_NO_WORKFLOW;
	for (size_t i = 0; i < set->n; i++) {
		if ((int)set->v[i]->kind != k)
			continue;
		int rc = wf_selects(set->v[i], record);
		if (rc < 0)
			return WF_ERR_EVAL;
		if (rc == 0)
			continue;
		if (found != NULL)
			return WF_ERR_AMBIGUOUS;
		found = set->v[i];
	}
	if (found == NULL)
		return WF_ERR_NO_WORKFLOW;
	*out = found;
	return WF_OK;
}
