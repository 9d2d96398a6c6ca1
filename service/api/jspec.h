/*
 * jspec.h -- request bodies checked against a declarative field list.
 *
 * A handler describes the fields it takes; jspec_parse() checks presence and types and
 * names the failing field in the error (422), so every handler reports bad input the
 * same way.  Values are borrowed from the JSON object.
 */
#ifndef TRANSOM_JSPEC_H
#define TRANSOM_JSPEC_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

enum jspec_type {
	JSPEC_STRING,       /* out: const char ** */
	JSPEC_INTEGER,      /* out: json_int_t * */
	JSPEC_BOOLEAN,      /* out: bool * */
	JSPEC_STRING_ARRAY, /* out: json_t ** (an array whose items are all strings) */
	JSPEC_OBJECT,       /* out: json_t ** */
	JSPEC_ANY,          /* out: json_t ** */
};

struct jspec {
	const char *name;
	enum jspec_type type;
	bool required;
	void *out; /* left untouched when an optional field is absent or null */
};

#define JSPEC_END                                                                                  \
	{                                                                                          \
		NULL, JSPEC_ANY, false, NULL                                                       \
	}

/*
 * Checks `obj` against `spec` (terminated by JSPEC_END).  With `strict`, a member not in
 * the spec is an error too.  Returns TR_OK, or TR_E_UNPROCESSABLE with `err->field`
 * naming the member ("roles[2]" for an array item) and a detail saying what was expected.
 */
enum tr_code jspec_parse(json_t *obj, const struct jspec *spec, bool strict, struct tr_error *err);

#endif /* TRANSOM_JSPEC_H */
