/*
 * def.c -- one workflow definition: JSON text -> validated, immutable `struct wf`.
 *
 * Validation collects every error it finds (it does not stop at the first) and names the
 * file, the JSON path and, for expressions, the column.  Structural checks come first;
 * the graph checks (graph.c: reachability, a path to a final state, ambiguity, timer
 * events, auto loops) run on whatever parts were valid.  What a loaded workflow answers
 * about itself is in introspect.c.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf/wf_int.h"

#define NAME_MAX_LEN 64
#define NONE         ((size_t)-1)

static void oom(struct loader *l)
{
	l->d->oom = true;
}

void *wf_xcalloc(struct loader *l, size_t n, size_t size)
{
	void *p = calloc(n != 0 ? n : 1, size);
	if (p == NULL)
		oom(l);
	return p;
}

/* Whether `s` is [a-z][a-z0-9_]* (plus `extra`), at most NAME_MAX_LEN bytes. */
static bool is_name_with(const char *s, char extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN || !islower((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != extra)
			return false;
	return true;
}

/* A state or event name. */
static bool is_name(const char *s)
{
	return is_name_with(s, '_');
}

/* Reports keys of `obj` not in `allowed` (NULL-terminated). */
static void check_keys(struct loader *l, json_t *obj, const char *path, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (size_t i = 0; !ok && allowed[i] != NULL; i++)
			ok = strcmp(allowed[i], key) == 0;
		if (!ok)
			diags_add(l->d, l->file, path, 0, "unknown key '%s'", key);
	}
}

/* obj[key] as a string; reports a wrong type (and absence when required). */
static const char *get_str(struct loader *l, json_t *obj, const char *key, const char *path,
			   bool required)
{
	char sub[300];
	json_t *v = json_object_get(obj, key);

	wf_pathf(sub, sizeof sub, "%s%s%s", path, path[0] != '\0' ? "." : "", key);
	if (v == NULL) {
		if (required)
			diags_add(l->d, l->file, path, 0, "missing key '%s'", key);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		diags_add(l->d, l->file, sub, 0, "expected a non-empty string");
		return NULL;
	}
	return json_string_value(v);
}

/* obj[key] as a boolean (default false); reports a wrong type. */
static bool get_bool(struct loader *l, json_t *obj, const char *key, const char *path)
{
	char sub[300];
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return false;
	if (!json_is_boolean(v)) {
		wf_pathf(sub, sizeof sub, "%s.%s", path, key);
		diags_add(l->d, l->file, sub, 0, "expected a boolean");
		return false;
	}
	return json_is_true(v);
}

/* Compiles the expression `src` found at `path`; reports errors with their column. */
static struct expr *compile(struct loader *l, const char *src, const char *path)
{
	struct expr_error err = {0};
	struct expr *e;

	if (l->kind_ok)
		e = expr_compile(src, wf_expr_field_known, (void *)wf_kind_name(l->wf->kind), &err);
	else
		e = expr_compile(src, NULL, NULL, &err);
	if (e == NULL)
		diags_add(l->d, l->file, path, err.column, "%s",
			  err.message[0] != '\0' ? err.message : "invalid expression");
	return e;
}

/* Parses "72h", "1d12h", "30m", "45s", "2w" into seconds; -1 when not such a literal. */
static int64_t wf_duration_parse(const char *s)
{
	int64_t total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		int64_t n = 0, unit;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s)) {
			if (n > (INT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*s++ - '0');
		}
		switch (*s++) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		case 'w':
			unit = 604800;
			break;
		default:
			return -1;
		}
		if (n > (INT64_MAX - total) / unit)
			return -1;
		total += n * unit;
	}
	return total;
}

/* A NULL-terminated array of field names from a JSON array at `path`. */
static const char **field_list(struct loader *l, json_t *arr, const char *path)
{
	char sub[300];
	const char **v;

	if (arr == NULL)
		return wf_xcalloc(l, 1, sizeof *v);
	if (!json_is_array(arr)) {
		diags_add(l->d, l->file, path, 0, "expected an array of field names");
		return wf_xcalloc(l, 1, sizeof *v);
	}
	v = wf_xcalloc(l, json_array_size(arr) + 1, sizeof *v);
	if (v == NULL)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *f = json_string_value(json_array_get(arr, i));
		wf_pathf(sub, sizeof sub, "%s[%zu]", path, i);
		if (f == NULL) {
			diags_add(l->d, l->file, sub, 0, "expected a field name");
			continue;
		}
		if (l->kind_ok && !wf_field_of_kind(l->wf->kind, f)) {
			diags_add(l->d, l->file, sub, 0, "unknown %s field '%s'",
				  wf_kind_name(l->wf->kind), f);
			continue;
		}
		if (wf_field_protected(f)) {
			diags_add(l->d, l->file, sub, 0, "field '%s' is set only by transom", f);
			continue;
		}
		v[n++] = f;
	}
	return v;
}

/* The actions of a JSON array at `path`. */
static void action_list(struct loader *l, json_t *arr, const char *path, struct wf_actions *out)
{
	char sub[300];

	out->v = NULL;
	out->n = 0;
	if (arr == NULL)
		return;
	if (!json_is_array(arr)) {
		diags_add(l->d, l->file, path, 0, "expected an array of actions");
		return;
	}
	out->v = wf_xcalloc(l, json_array_size(arr), sizeof *out->v);
	if (out->v == NULL)
		return;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *obj = json_array_get(arr, i);
		wf_pathf(sub, sizeof sub, "%s[%zu]", path, i);
		const struct wf_action_def *def = wf_action_check(
			obj, l->kind_ok ? l->wf->kind : WF_KIND_CHANGE, l->file, sub, l->d);
		if (def != NULL)
			out->v[out->n++] = (struct wf_action){def, obj, def->apply};
	}
}

size_t wf_state_find(const struct wf *wf, const char *name)
{
	for (size_t i = 0; name != NULL && i < wf->n_states; i++)
		if (strcmp(wf->states[i].name, name) == 0)
			return i;
	return NONE;
}

/* ---- states ---- */

static void parse_timer(struct loader *l, json_t *obj, const char *path, struct wf_timer *t)
{
	static const char *const keys[] = {"after", "event", "when", "description", NULL};
	char sub[300];

	if (!json_is_object(obj)) {
		diags_add(l->d, l->file, path, 0, "expected an object");
		return;
	}
	check_keys(l, obj, path, keys);
	t->event = get_str(l, obj, "event", path, true);
	wf_pathf(sub, sizeof sub, "%s.event", path);
	if (t->event != NULL && !is_name(t->event)) {
		diags_add(l->d, l->file, sub, 0, "invalid event name '%s'", t->event);
		t->event = NULL;
	}
	get_str(l, obj, "description", path, false);
	json_t *after = json_object_get(obj, "after");
	wf_pathf(sub, sizeof sub, "%s.after", path);
	if (after == NULL) {
		diags_add(l->d, l->file, path, 0, "missing key 'after'");
	} else if (json_is_integer(after)) {
		t->after = json_integer_value(after);
		if (t->after <= 0)
			diags_add(l->d, l->file, sub, 0, "must be positive");
	} else if (json_is_string(after)) {
		int64_t s = wf_duration_parse(json_string_value(after));
		if (s > 0)
			t->after = s;
		else if (s == 0)
			diags_add(l->d, l->file, sub, 0, "must be positive");
		else
			t->after_expr = compile(l, json_string_value(after), sub);
	} else {
		diags_add(l->d, l->file, sub, 0,
			  "expected seconds, a duration like \"72h\" or an expression");
	}
	const char *when = get_str(l, obj, "when", path, false);
	wf_pathf(sub, sizeof sub, "%s.when", path);
	if (when != NULL)
		t->when = compile(l, when, sub);
}

static void parse_state(struct loader *l, json_t *obj, struct wf_state *st, const char *path)
{
	static const char *const keys[] = {"description", "final",  "editable",
					   "on_enter",    "timers", NULL};
	char sub[300];

	st->editable = NULL;
	if (!json_is_object(obj)) {
		diags_add(l->d, l->file, path, 0, "expected an object");
		st->editable = wf_xcalloc(l, 1, sizeof *st->editable);
		return;
	}
	check_keys(l, obj, path, keys);
	st->description = get_str(l, obj, "description", path, false);
	st->final = get_bool(l, obj, "final", path);
	wf_pathf(sub, sizeof sub, "%s.editable", path);
	st->editable = field_list(l, json_object_get(obj, "editable"), sub);
	wf_pathf(sub, sizeof sub, "%s.on_enter", path);
	action_list(l, json_object_get(obj, "on_enter"), sub, &st->on_enter);

	json_t *timers = json_object_get(obj, "timers");
	wf_pathf(sub, sizeof sub, "%s.timers", path);
	if (timers == NULL)
		return;
	if (!json_is_array(timers)) {
		diags_add(l->d, l->file, sub, 0, "expected an array of timers");
		return;
	}
	st->timers = wf_xcalloc(l, json_array_size(timers), sizeof *st->timers);
	if (st->timers == NULL)
		return;
	st->n_timers = json_array_size(timers);
	for (size_t i = 0; i < st->n_timers; i++) {
		char tp[340];
		wf_pathf(tp, sizeof tp, "%s[%zu]", sub, i);
		parse_timer(l, json_array_get(timers, i), tp, &st->timers[i]);
	}
}

static void parse_states(struct loader *l, json_t *states)
{
	struct wf *wf = l->wf;
	char path[300];
	const char *key;
	json_t *v;

	if (states == NULL) {
		diags_add(l->d, l->file, "", 0, "missing key 'states'");
		return;
	}
	if (!json_is_object(states) || json_object_size(states) == 0) {
		diags_add(l->d, l->file, "states", 0, "expected a non-empty object of states");
		return;
	}
	wf->states = wf_xcalloc(l, json_object_size(states), sizeof *wf->states);
	if (wf->states == NULL)
		return;
	/* names first, so that every state can be referred to */
	json_object_foreach(states, key, v) {
		wf_pathf(path, sizeof path, "states.%s", key);
		if (!is_name(key)) {
			diags_add(l->d, l->file, path, 0,
				  "invalid state name (use lowercase letters, digits, '_')");
			continue;
		}
		wf->states[wf->n_states++].name = key;
	}
	for (size_t i = 0; i < wf->n_states; i++) {
		wf_pathf(path, sizeof path, "states.%s", wf->states[i].name);
		parse_state(l, json_object_get(states, wf->states[i].name), &wf->states[i], path);
	}
}

/* ---- transitions ---- */

/* The state named by JSON string `v` at `path`, or NONE (reported). */
static size_t state_ref(struct loader *l, json_t *v, const char *path)
{
	if (!json_is_string(v)) {
		diags_add(l->d, l->file, path, 0, "expected a state name");
		return NONE;
	}
	size_t s = wf_state_find(l->wf, json_string_value(v));
	if (s == NONE)
		diags_add(l->d, l->file, path, 0, "unknown state '%s'", json_string_value(v));
	return s;
}

static void parse_from(struct loader *l, json_t *obj, struct wf_transition *t, const char *path)
{
	char sub[300];
	json_t *from = json_object_get(obj, "from");

	wf_pathf(sub, sizeof sub, "%s.from", path);
	if (from == NULL) {
		diags_add(l->d, l->file, path, 0, "missing key 'from'");
		return;
	}
	if (json_is_string(from)) {
		t->from = wf_xcalloc(l, 1, sizeof *t->from);
		size_t s = state_ref(l, from, sub);
		if (t->from != NULL && s != NONE)
			t->from[t->n_from++] = s;
		return;
	}
	if (!json_is_array(from) || json_array_size(from) == 0) {
		diags_add(l->d, l->file, sub, 0, "expected a state name or a non-empty array");
		return;
	}
	t->from = wf_xcalloc(l, json_array_size(from), sizeof *t->from);
	if (t->from == NULL)
		return;
	for (size_t i = 0; i < json_array_size(from); i++) {
		char ip[340];
		wf_pathf(ip, sizeof ip, "%s[%zu]", sub, i);
		size_t s = state_ref(l, json_array_get(from, i), ip);
		bool dup = false;
		for (size_t j = 0; j < t->n_from; j++)
			dup = dup || t->from[j] == s;
		if (dup)
			diags_add(l->d, l->file, ip, 0, "state '%s' listed twice",
				  l->wf->states[s].name);
		else if (s != NONE)
			t->from[t->n_from++] = s;
	}
}

static void parse_roles(struct loader *l, json_t *obj, struct wf_transition *t, const char *path)
{
	char sub[300];
	json_t *roles = json_object_get(obj, "roles");

	wf_pathf(sub, sizeof sub, "%s.roles", path);
	if (t->is_auto) {
		if (roles != NULL)
			diags_add(l->d, l->file, sub, 0,
				  "auto transitions are taken by 'system'; remove roles");
		return;
	}
	if (roles == NULL) {
		diags_add(l->d, l->file, path, 0, "missing key 'roles'");
		return;
	}
	if (!json_is_array(roles) || json_array_size(roles) == 0) {
		diags_add(l->d, l->file, sub, 0, "expected a non-empty array of roles");
		return;
	}
	for (size_t i = 0; i < json_array_size(roles); i++) {
		char ip[340];
		const char *r = json_string_value(json_array_get(roles, i));
		unsigned bit = wf_role_parse(r);
		wf_pathf(ip, sizeof ip, "%s[%zu]", sub, i);
		if (r == NULL)
			diags_add(l->d, l->file, ip, 0, "expected a role name");
		else if (bit == 0)
			diags_add(l->d, l->file, ip, 0, "unknown role '%s'", r);
		t->roles |= bit;
	}
}

static void parse_transition(struct loader *l, json_t *obj, struct wf_transition *t, size_t i)
{
	static const char *const keys[] = {"event",   "description", "from",  "to",
					   "roles",   "when",        "guard", "required",
					   "actions", "auto",        NULL};
	char path[64], sub[300];

	wf_pathf(path, sizeof path, "transitions[%zu]", i);
	snprintf(t->guard_buf, sizeof t->guard_buf, "transitions[%zu].when", i);
	t->index = i;
	t->to = NONE;
	t->guard_name = t->guard_buf;
	if (!json_is_object(obj)) {
		diags_add(l->d, l->file, path, 0, "expected an object");
		t->required = wf_xcalloc(l, 1, sizeof *t->required);
		return;
	}
	check_keys(l, obj, path, keys);
	t->event = get_str(l, obj, "event", path, true);
	wf_pathf(sub, sizeof sub, "%s.event", path);
	if (t->event != NULL && !is_name(t->event)) {
		diags_add(l->d, l->file, sub, 0,
			  "invalid event name '%s' (use lowercase letters, digits, '_')", t->event);
		t->event = NULL;
	}
	get_str(l, obj, "description", path, false);
	t->is_auto = get_bool(l, obj, "auto", path);
	parse_from(l, obj, t, path);
	json_t *to = json_object_get(obj, "to");
	wf_pathf(sub, sizeof sub, "%s.to", path);
	if (to == NULL)
		diags_add(l->d, l->file, path, 0, "missing key 'to'");
	else
		t->to = state_ref(l, to, sub);
	parse_roles(l, obj, t, path);

	const char *when = get_str(l, obj, "when", path, false);
	wf_pathf(sub, sizeof sub, "%s.when", path);
	if (when != NULL)
		t->when = compile(l, when, sub);
	const char *guard = get_str(l, obj, "guard", path, false);
	if (guard != NULL) {
		t->guard_name = guard;
		if (json_object_get(obj, "when") == NULL) {
			wf_pathf(sub, sizeof sub, "%s.guard", path);
			diags_add(l->d, l->file, sub, 0, "a guard name needs a 'when' expression");
		}
	}
	wf_pathf(sub, sizeof sub, "%s.required", path);
	t->required = field_list(l, json_object_get(obj, "required"), sub);
	wf_pathf(sub, sizeof sub, "%s.actions", path);
	action_list(l, json_object_get(obj, "actions"), sub, &t->actions);

	for (size_t k = 0; k < t->n_from; k++)
		if (l->wf->states[t->from[k]].final) {
			wf_pathf(sub, sizeof sub, "%s.from", path);
			diags_add(l->d, l->file, sub, 0, "state '%s' is final",
				  l->wf->states[t->from[k]].name);
		}
}

static void parse_transitions(struct loader *l, json_t *arr)
{
	struct wf *wf = l->wf;

	if (arr == NULL) {
		diags_add(l->d, l->file, "", 0, "missing key 'transitions'");
		return;
	}
	if (!json_is_array(arr)) {
		diags_add(l->d, l->file, "transitions", 0, "expected an array of transitions");
		return;
	}
	wf->trans = wf_xcalloc(l, json_array_size(arr), sizeof *wf->trans);
	if (wf->trans == NULL)
		return;
	wf->n_trans = json_array_size(arr);
	for (size_t i = 0; i < wf->n_trans; i++)
		parse_transition(l, json_array_get(arr, i), &wf->trans[i], i);
}

/* ---- applies_to ---- */

static bool scalar(json_t *v)
{
	return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

static void parse_selector(struct loader *l, json_t *sel)
{
	struct wf *wf = l->wf;
	const char *key;
	json_t *v;
	char sub[300];

	wf->sel = WF_SEL_ALL;
	if (sel == NULL)
		return;
	if (json_is_string(sel)) {
		wf->sel_expr = compile(l, json_string_value(sel), "applies_to");
		wf->sel = WF_SEL_EXPR;
		return;
	}
	if (!json_is_object(sel)) {
		diags_add(l->d, l->file, "applies_to", 0,
			  "expected an object of field values or an expression");
		return;
	}
	wf->sel = WF_SEL_OBJECT;
	wf->sel_obj = sel;
	json_object_foreach(sel, key, v) {
		wf_pathf(sub, sizeof sub, "applies_to.%s", key);
		if (l->kind_ok && !wf_field_of_kind(wf->kind, key))
			diags_add(l->d, l->file, sub, 0, "unknown %s field '%s'",
				  wf_kind_name(wf->kind), key);
		bool ok = scalar(v) || (json_is_array(v) && json_array_size(v) > 0);
		for (size_t i = 0; ok && json_is_array(v) && i < json_array_size(v); i++)
			ok = scalar(json_array_get(v, i));
		if (!ok)
			diags_add(
				l->d, l->file, sub, 0,
				"expected a string, number, boolean or a non-empty array of them");
	}
}

int wf_selects(const struct wf *wf, json_t *record)
{
	const char *key;
	json_t *want;

	switch (wf->sel) {
	case WF_SEL_ALL:
		return 1;
	case WF_SEL_OBJECT:
		json_object_foreach(wf->sel_obj, key, want) {
			json_t *have = json_object_get(record, key);
			bool ok = false;
			if (have == NULL)
				return 0;
			if (json_is_array(want)) {
				for (size_t i = 0; !ok && i < json_array_size(want); i++)
					ok = json_equal(have, json_array_get(want, i));
			} else {
				ok = json_equal(have, want);
			}
			if (!ok)
				return 0;
		}
		return 1;
	case WF_SEL_EXPR:
		break;
	}
	struct wf_env env = {
		.kind = wf->kind, .record = record, .actor = "system", .roles = WF_ROLE_SYSTEM};
	struct expr_error err;
	bool yes = false;
	int rc = wf_env_eval_bool(&env, wf->sel_expr, &yes, &err);
	json_decref(env.scratch);
	return rc != 0 ? -1 : yes ? 1 : 0;
}

/* ---- the whole definition ---- */

static void state_free(struct wf_state *st)
{
	free(st->editable);
	free(st->on_enter.v);
	for (size_t k = 0; k < st->n_timers; k++) {
		expr_free(st->timers[k].after_expr);
		expr_free(st->timers[k].when);
	}
	free(st->timers);
}

void wf_free(struct wf *wf)
{
	if (wf == NULL)
		return;
	for (size_t i = 0; i < wf->n_states; i++)
		state_free(&wf->states[i]);
	free(wf->states);
	for (size_t i = 0; i < wf->n_trans; i++) {
		struct wf_transition *t = &wf->trans[i];
		free(t->from);
		expr_free(t->when);
		free(t->required);
		free(t->actions.v);
	}
	free(wf->trans);
	expr_free(wf->sel_expr);
	json_decref(wf->def);
	free(wf->file);
	free(wf->name);
	free(wf);
}

/* The workflow name a file gives: its base name without ".json". */
static char *name_of_file(const char *file)
{
	const char *base = strrchr(file, '/');
	base = base != NULL ? base + 1 : file;
	size_t n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	return strndup(base, n);
}

static void set_version(struct loader *l)
{
	struct wf *wf = l->wf;
	char *canon = json_dumps(wf->def, JSON_SORT_KEYS | JSON_COMPACT);

	if (canon == NULL) {
		oom(l);
		return;
	}
	wf->version = wf_fnv1a64(canon, strlen(canon));
	snprintf(wf->version_hex, sizeof wf->version_hex, "%016llx",
		 (unsigned long long)wf->version);
	free(canon);
}

static void parse_root(struct loader *l, json_t *root)
{
	static const char *const keys[] = {"name",    "description", "kind",        "applies_to",
					   "initial", "states",      "transitions", NULL};
	struct wf *wf = l->wf;

	if (!json_is_object(root)) {
		diags_add(l->d, l->file, "", 0, "expected a JSON object");
		return;
	}
	check_keys(l, root, "", keys);
	const char *name = get_str(l, root, "name", "", false);
	if (name != NULL && strcmp(name, wf->name) != 0)
		diags_add(l->d, l->file, "name", 0, "name '%s' differs from the file's '%s'", name,
			  wf->name);
	get_str(l, root, "description", "", false);
	const char *kind = get_str(l, root, "kind", "", true);
	if (kind != NULL) {
		int k = wf_kind_parse(kind);
		if (k < 0)
			diags_add(l->d, l->file, "kind", 0,
				  "unknown kind '%s' (change, incident or problem)", kind);
		else
			wf->kind = (enum wf_kind_id)k;
		l->kind_ok = k >= 0;
	}
	parse_selector(l, json_object_get(root, "applies_to"));
	parse_states(l, json_object_get(root, "states"));
	const char *initial = get_str(l, root, "initial", "", true);
	wf->initial = NONE;
	if (initial != NULL && wf->states != NULL) {
		wf->initial = wf_state_find(wf, initial);
		if (wf->initial == NONE)
			diags_add(l->d, l->file, "initial", 0, "unknown state '%s'", initial);
	}
	parse_transitions(l, json_object_get(root, "transitions"));
	if (l->d->oom)
		return;
	if (wf->initial != NONE)
		wf_check_reachability(l);
	wf_check_ambiguity(l);
	wf_check_timers(l);
	wf_check_auto_loops(l);
	set_version(l);
}

struct wf *wf_parse(const char *file, const char *text, size_t len, struct diags *diags)
{
	struct loader l = {.file = file, .d = diags};
	json_error_t jerr;
	size_t before = diags->n;
	char where[48] = "";

	l.wf = calloc(1, sizeof *l.wf);
	if (l.wf == NULL) {
		diags->oom = true;
		return NULL;
	}
	l.wf->file = strdup(file);
	l.wf->name = name_of_file(file);
	if (l.wf->file == NULL || l.wf->name == NULL) {
		diags->oom = true;
		wf_free(l.wf);
		return NULL;
	}
	l.wf->def = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (l.wf->def == NULL) {
		if (jerr.line > 0)
			snprintf(where, sizeof where, "line %d", jerr.line);
		diags_add(diags, file, where, jerr.line > 0 ? jerr.column : 0, "invalid json: %s",
			  jerr.text);
		wf_free(l.wf);
		return NULL;
	}
	if (!is_name_with(l.wf->name, '-'))
		diags_add(diags, file, "", 0,
			  "file name must be a workflow name (lowercase letters, digits, "
			  "'_', '-') ending in .json");
	parse_root(&l, l.wf->def);
	if (diags->n != before || diags->oom) {
		wf_free(l.wf);
		return NULL;
	}
	return l.wf;
}
