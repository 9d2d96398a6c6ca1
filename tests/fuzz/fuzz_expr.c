/*
 * fuzz_expr.c -- libFuzzer target for the expression language (service/expr/).
 *
 * Compiles the input as expression source with every field accepted and, when it
 * compiles, evaluates it against a small fixed record, both as a value and as a
 * condition.  Besides crashes, leaks and sanitizer reports, it traps when the two
 * evaluations disagree, when an error has no message, or when a column points past
 * the end of the source.
 *
 * `make fuzz` builds and runs it on tests/fuzz/corpus/expr/; by hand, compile this
 * file with service/expr/ *.c (no space) and -fsanitize=fuzzer,address,undefined.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr.h"

static const char record_json[] =
	"{\"change.type\": \"normal\", \"change.services\": [\"payments\", \"web\"],"
	" \"change.rollback_plan\": \"\", \"change.title\": \"Upgrade Payments DB\","
	" \"change.window\": 7200, \"risk.level\": \"medium\", \"risk.score\": 42,"
	" \"history.failure_rate\": 0.25, \"approvals.satisfied\": true,"
	" \"change.approvers\": [{\"role\": \"cab\", \"name\": \"ann\"}, {\"role\": \"owner\"}],"
	" \"change.flags\": [true, 0, \"\", null, 1.5, [1, [2]]], \"change.nested\": {\"a\": {}},"
	" \"big\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],"
	" \"max\": 9223372036854775807, \"min\": -9223372036854775808}";

static bool accept_all(void *cls, const char *path)
{
	return true;
}

static json_t *get_field(void *cls, const char *path)
{
	return json_object_get(cls, path);
}

static void count_field(void *cls, const char *path)
{
	if (path == NULL || path[0] == '\0')
		__builtin_trap();
	(*(int *)cls)++;
}

/* Characters in `s`, for the largest column an error may name (one past the end). */
static int chars(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void check_error(const struct expr_error *err, const char *src)
{
	if (err->message[0] == '\0' || err->column < 0 || err->column > chars(src) + 1)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *record; /* built once, never freed: still reachable, not a leak */
	struct expr_error err;
	struct expr *e;
	char *src;
	json_t *v = NULL;
	bool b = false;
	int nfields = 0;

	if (record == NULL && (record = json_loads(record_json, 0, NULL)) == NULL)
		__builtin_trap();
	src = malloc(size + 1);
	if (src == NULL)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';

	e = expr_compile(src, accept_all, NULL, &err);
	if (e == NULL) {
		check_error(&err, src);
		free(src);
		return 0;
	}
	if (strcmp(expr_source(e), src) != 0)
		__builtin_trap();
	expr_fields_foreach(e, count_field, &nfields);
	if (expr_eval(e, get_field, record, &v, &err)) {
		if (!expr_eval_bool(e, get_field, record, &b, &err))
			__builtin_trap();
		/* truthiness as documented: false, null, 0, 0.0, "" and [] are false */
		bool t = !(json_is_null(v) || json_is_false(v) ||
			   (json_is_integer(v) && json_integer_value(v) == 0) ||
			   (json_is_real(v) && json_real_value(v) == 0.0) ||
			   (json_is_string(v) && json_string_length(v) == 0) ||
			   (json_is_array(v) && json_array_size(v) == 0));
		if (b != t)
			__builtin_trap();
		json_decref(v);
	} else {
		check_error(&err, src);
		if (expr_eval_bool(e, get_field, record, &b, &err))
			__builtin_trap();
	}
	/* no record at all: every field is null */
	if (!expr_eval_bool(e, NULL, NULL, &b, &err))
		check_error(&err, src);
	expr_free(e);
	free(src);
	return 0;
}
