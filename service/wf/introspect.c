/*
 * introspect.c -- what a loaded workflow says about itself (wf.h): its name, version,
 * states, editable fields, the events an actor may take, the actions it uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf/wf_int.h"

#define NONE ((size_t)-1)

/* ---- introspection ---- */

const char *wf_name(const struct wf *wf)
{
	return wf->name;
}

const char *wf_file(const struct wf *wf)
{
	return wf->file;
}

const char *wf_kind(const struct wf *wf)
{
	return wf_kind_name(wf->kind);
}

const char *wf_initial(const struct wf *wf)
{
	return wf->states[wf->initial].name;
}

uint64_t wf_version(const struct wf *wf)
{
	return wf->version;
}

const char *wf_version_hex(const struct wf *wf)
{
	return wf->version_hex;
}

json_t *wf_definition(const struct wf *wf)
{
	return wf->def;
}

size_t wf_state_count(const struct wf *wf)
{
	return wf->n_states;
}

const char *wf_state_name(const struct wf *wf, size_t i)
{
	return i < wf->n_states ? wf->states[i].name : NULL;
}

bool wf_state_exists(const struct wf *wf, const char *state)
{
	return wf_state_find(wf, state) != NONE;
}

bool wf_state_has_auto(const struct wf *wf, const char *state)
{
	size_t s = wf_state_find(wf, state);
	if (s == NONE)
		return false;
	for (size_t t = 0; t < wf->n_trans; t++)
		for (size_t k = 0; wf->trans[t].is_auto && k < wf->trans[t].n_from; k++)
			if (wf->trans[t].from[k] == s)
				return true;
	return false;
}

bool wf_state_final(const struct wf *wf, const char *state)
{
	size_t s = wf_state_find(wf, state);
	return s != NONE && wf->states[s].final;
}

const char *const *wf_state_editable(const struct wf *wf, const char *state)
{
	static const char *const none[] = {NULL};
	size_t s = wf_state_find(wf, state);
	return s != NONE ? wf->states[s].editable : none;
}

bool wf_field_editable(const struct wf *wf, const char *state, const char *field)
{
	const char *const *v = wf_state_editable(wf, state);
	for (size_t i = 0; field != NULL && v[i] != NULL; i++)
		if (strcmp(v[i], field) == 0)
			return true;
	return false;
}

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

json_t *wf_events_allowed(const struct wf *wf, const char *state, unsigned roles)
{
	json_t *out = json_array();
	size_t s = wf_state_find(wf, state);

	if (out == NULL || s == NONE)
		return out;
	for (size_t i = 0; i < wf->n_trans; i++) {
		const struct wf_transition *t = &wf->trans[i];
		bool dup = false;
		if (t->is_auto || (t->roles & roles) == 0 || !wf_from_has(t, s))
			continue;
		for (size_t j = 0; !dup && j < json_array_size(out); j++)
			dup = strcmp(json_string_value(json_array_get(out, j)), t->event) == 0;
		if (!dup && json_array_append_new(out, json_string(t->event)) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	/* sort: rebuild from a sorted copy of the item pointers */
	size_t n = json_array_size(out);
	json_t **items = calloc(n != 0 ? n : 1, sizeof *items);
	json_t *sorted = json_array();
	if (items == NULL || sorted == NULL) {
		free(items);
		json_decref(sorted);
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		items[i] = json_array_get(out, i);
	qsort(items, n, sizeof *items, cmp_json_str);
	for (size_t i = 0; i < n; i++)
		if (json_array_append(sorted, items[i]) != 0) {
			json_decref(sorted);
			sorted = NULL;
			break;
		}
	free(items);
	json_decref(out);
	return sorted;
}

static bool actions_name(const struct wf_actions *a, const struct wf_action_def *def)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].def == def)
			return true;
	return false;
}

bool wf_uses_action(const struct wf *wf, const char *name)
{
	const struct wf_action_def *def = wf_action_find(name);
	if (def == NULL)
		return false;
	for (size_t i = 0; i < wf->n_states; i++)
		if (actions_name(&wf->states[i].on_enter, def))
			return true;
	for (size_t i = 0; i < wf->n_trans; i++)
		if (actions_name(&wf->trans[i].actions, def))
			return true;
	return false;
}
