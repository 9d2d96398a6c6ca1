/*
 * jspec.c -- the field-list checker behind jspec.h.
 */
#include "api/jspec.h"

#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {
	[JSPEC_STRING] = "a string",   [JSPEC_INTEGER] = "an integer",
	[JSPEC_BOOLEAN] = "a boolean", [JSPEC_STRING_ARRAY] = "an array of strings",
	[JSPEC_OBJECT] = "an object",  [JSPEC_ANY] = "a value",
};

static bool type_ok(const json_t *v, enum jspec_type t, size_t *bad_index)
{
	switch (t) {
	case JSPEC_STRING:
		return json_is_string(v);
	case JSPEC_INTEGER:
		return json_is_integer(v);
	case JSPEC_BOOLEAN:
		return json_is_boolean(v);
	case JSPEC_OBJECT:
		return json_is_object(v);
	case JSPEC_ANY:
		return true;
	case JSPEC_STRING_ARRAY: {
		if (!json_is_array(v))
			return false;
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			if (!json_is_string(item)) {
				*bad_index = i;
				return false;
			}
		}
		return true;
	}
	}
	return false;
}

static void store_out(const json_t *v, const struct jspec *s)
{
	if (s->out == NULL)
		return;
	switch (s->type) {
	case JSPEC_STRING:
		*(const char **)s->out = json_string_value(v);
		break;
	case JSPEC_INTEGER:
		*(json_int_t *)s->out = json_integer_value(v);
		break;
	case JSPEC_BOOLEAN:
		*(bool *)s->out = json_is_true(v);
		break;
	case JSPEC_STRING_ARRAY:
	case JSPEC_OBJECT:
	case JSPEC_ANY:
		*(json_t **)s->out = (json_t *)v;
		break;
	}
}

enum tr_code jspec_parse(json_t *obj, const struct jspec *spec, bool strict, struct tr_error *err)
{
	for (const struct jspec *s = spec; s->name != NULL; s++) {
		json_t *v = json_object_get(obj, s->name);
		size_t bad = (size_t)-1;
		if (v == NULL || json_is_null(v)) {
			if (s->required)
				return tr_error_set(err, TR_E_UNPROCESSABLE, s->name,
						    "'%s' is required (%s)", s->name,
						    type_names[s->type]);
			continue;
		}
		if (!type_ok(v, s->type, &bad)) {
			if (bad != (size_t)-1) {
				char field[128];
				snprintf(field, sizeof field, "%s[%zu]", s->name, bad);
				return tr_error_set(err, TR_E_UNPROCESSABLE, field,
						    "'%s' must be a string", field);
			}
			return tr_error_set(err, TR_E_UNPROCESSABLE, s->name, "'%s' must be %s",
					    s->name, type_names[s->type]);
		}
		store_out(v, s);
	}
	if (strict) {
		const char *key;
		json_t *v;
		json_object_foreach(obj, key, v) {
			bool known = false;
			for (const struct jspec *s = spec; s->name != NULL && !known; s++)
				known = strcmp(s->name, key) == 0;
			if (!known)
				return tr_error_set(err, TR_E_UNPROCESSABLE, key,
						    "unknown member '%s'", key);
		}
	}
	return TR_OK;
}
