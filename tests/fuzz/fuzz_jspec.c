/*
 * fuzz_jspec.c -- libFuzzer target for the request-body decoder: the body is read as the
 * API reads it (json_loadb with JSON_REJECT_DUPLICATES, objects only; see
 * parse_json_body in service/api/dispatch.c), then checked by jspec_parse
 * (service/api/jspec.c) against field lists like the handlers' -- every field type,
 * required and optional, strict and lenient.
 *
 * Besides crashes and sanitizer reports, it traps when an answer breaks the contract: a
 * refusal that is not 422 or names no field (or a field that is neither in the list nor
 * in the body; a member named "" is the one that has no name to give), an acceptance that left a
 * required output unset or set one to a value of the wrong type, or a strict acceptance of a body
 * with a member the list does not know.
 *
 * `make fuzz` builds and runs it on tests/fuzz/corpus/jspec/.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/jspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outs {
	const char *title, *state;
	json_int_t count;
	bool flag;
	json_t *services, *input, *any;
};

/* Whether `field` ("name" or "name[3]") names a member of the list or of `obj`. */
static bool names_something(const char *field, const struct jspec *spec, json_t *obj)
{
	char base[128];
	snprintf(base, sizeof base, "%.*s", (int)strcspn(field, "["), field);
	for (const struct jspec *s = spec; s->name != NULL; s++)
		if (strcmp(s->name, base) == 0 || strcmp(s->name, field) == 0)
			return true;
	if (json_object_get(obj, field) != NULL)
		return true;
	/* A member name longer than the error's field buffer is named by its beginning. */
	const char *key;
	json_t *v;
	size_t n = strlen(field);
	json_object_foreach(obj, key, v)
		if (n + 1 == sizeof((struct tr_error *)0)->field && strncmp(key, field, n) == 0)
			return true;
	return false;
}

static void check(json_t *obj, bool strict, bool required)
{
	struct outs o;
	memset(&o, 0, sizeof o);
	const struct jspec spec[] = {
		{"title", JSPEC_STRING, required, &o.title},
		{"count", JSPEC_INTEGER, false, &o.count},
		{"flag", JSPEC_BOOLEAN, false, &o.flag},
		{"services", JSPEC_STRING_ARRAY, required, &o.services},
		{"input", JSPEC_OBJECT, false, &o.input},
		{"state", JSPEC_STRING, false, &o.state},
		{"any", JSPEC_ANY, false, &o.any},
		{"ignored", JSPEC_STRING, false, NULL},
		JSPEC_END,
	};
	struct tr_error err = {0};
	enum tr_code rc = jspec_parse(obj, spec, strict, &err);
	if (rc != TR_OK) {
		/* The field is empty only for a member named "" (strict). */
		if (rc != TR_E_UNPROCESSABLE || err.code != rc || err.detail[0] == '\0' ||
		    (err.field[0] == '\0' && !(strict && json_object_get(obj, "") != NULL)) ||
		    !names_something(err.field, spec, obj))
			__builtin_trap();
		return;
	}
	if (required && (o.title == NULL || o.services == NULL))
		__builtin_trap();
	if (o.title != NULL && o.title != json_string_value(json_object_get(obj, "title")))
		__builtin_trap();
	if (o.services != NULL) {
		size_t i;
		json_t *v;
		if (!json_is_array(o.services))
			__builtin_trap();
		json_array_foreach(o.services, i, v)
			if (!json_is_string(v))
				__builtin_trap();
	}
	if (o.input != NULL && !json_is_object(o.input))
		__builtin_trap();
	if (strict) {
		const char *key;
		json_t *v;
		json_object_foreach(obj, key, v)
			if (!names_something(key, spec, NULL))
				__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (body == NULL)
		return 0;
	if (json_is_object(body)) {
		for (int strict = 0; strict < 2; strict++)
			for (int required = 0; required < 2; required++)
				check(body, strict, required);
		/* A nested object goes through the same checks (handlers decode "input"). */
		json_t *input = json_object_get(body, "input");
		if (json_is_object(input))
			check(input, true, false);
	}
	json_decref(body);
	return 0;
}
