/*
 * test_expr.c -- unit tests of the expression language (service/expr/).
 *
 * Mostly tables: source text and the value it must evaluate to, or the column and
 * message of the error it must give, against one fixed record whose keys are the
 * dotted field paths themselves.
 */
#include <pthread.h>
#include <stdint.h>

#include "expr/expr.h"
#include "harness.h"

/* The record every table is evaluated against. */
static const char record_json[] = "{"
				  "\"change.type\": \"normal\","
				  "\"change.services\": [\"payments\", \"web\"],"
				  "\"change.rollback_plan\": \"\","
				  "\"change.title\": \"Upgrade Payments DB\","
				  "\"change.window\": 7200,"
				  "\"change.approvers\": ["
				  "  {\"role\": \"cab\", \"name\": \"ann\"},"
				  "  {\"role\": \"owner\", \"name\": \"bob\"}],"
				  "\"change.tags\": [],"
				  "\"change.flags\": [true, 0, \"\"],"
				  "\"change.nested\": {\"a\": {\"b\": 1}},"
				  "\"risk.level\": \"medium\","
				  "\"risk.score\": 42,"
				  "\"history.failure_rate\": 0.25,"
				  "\"approvals.satisfied\": true"
				  "}";

static json_t *record(void)
{
	static json_t *rec;

	if (rec == NULL) {
		json_t *big = json_array(), *deep = json_array(), *inner = deep;
		char *bigstr = calloc(1, 100001);

		rec = json_loads(record_json, 0, NULL);
		if (rec == NULL || big == NULL || deep == NULL || bigstr == NULL) {
			fprintf(stderr, "test record: out of memory or bad JSON\n");
			exit(2);
		}
		for (int i = 0; i < 1000; i++)
			json_array_append_new(big, json_integer(i));
		json_object_set_new(rec, "big", big);
		for (int i = 0; i < 100; i++) {
			json_t *next = json_array();

			json_array_append_new(inner, next);
			inner = next;
		}
		json_object_set_new(rec, "deep", deep);
		memset(bigstr, 'A', 100000);
		json_object_set_new(rec, "bigstr", json_string(bigstr));
		free(bigstr);
	}
	return rec;
}

static json_t *get_field(void *cls, const char *path)
{
	return json_object_get(cls, path);
}

/* ---- value tables ------------------------------------------------------------------------ */

struct value_case {
	const char *src;
	const char *want; /* JSON text of the expected value */
};

static void run_value_cases(const struct value_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct expr_error err;
		struct expr *e = expr_compile(cases[i].src, NULL, NULL, &err);
		json_t *got = NULL, *want = json_loads(cases[i].want, JSON_DECODE_ANY, NULL);

		CHECKF(want != NULL, "bad expected JSON %s", cases[i].want);
		CHECKF(e != NULL, "%s: compile error at %d: %s", cases[i].src, err.column,
		       err.message);
		if (e != NULL && want != NULL) {
			bool ok = expr_eval(e, get_field, record(), &got, &err);

			CHECKF(ok, "%s: eval error at %d: %s", cases[i].src, err.column,
			       err.message);
			if (ok) {
				char *text = json_dumps(got, JSON_ENCODE_ANY);

				CHECKF(json_equal(got, want), "%s: got %s, want %s", cases[i].src,
				       text ? text : "?", cases[i].want);
				free(text);
			}
		}
		json_decref(got);
		json_decref(want);
		expr_free(e);
	}
}

#define RUN_VALUES(t) run_value_cases(t, sizeof(t) / sizeof((t)[0]))

static void test_literals(void)
{
	static const struct value_case cases[] = {
		{"42", "42"},
		{"4.5", "4.5"},
		{"0.0", "0.0"},
		{"007", "7"},
		{"00.5", "0.5"},
		{"\"a\\\"b\\\\c\\nd\\te\"", "\"a\\\"b\\\\c\\nd\\te\""},
		{"\"h\xc3\xa9llo\"", "\"h\xc3\xa9llo\""},
		{"\"\"", "\"\""},
		{"true", "true"},
		{"false", "false"},
		{"null", "null"},
		{"[1, \"a\", null, [true]]", "[1, \"a\", null, [true]]"},
		{"[]", "[]"},
		{"[risk.score, 1 + 1]", "[42, 2]"},
		{"-3", "-3"},
		{"- -3", "3"},
		{"-2.5", "-2.5"},
		{"[-1, -0.5]", "[-1, -0.5]"},
		{"  \n 1\t", "1"},
		{"9223372036854775807", "9223372036854775807"},
	};
	RUN_VALUES(cases);
}

static void test_durations(void)
{
	static const struct value_case cases[] = {
		{"45s", "45"},
		{"30m", "1800"},
		{"2h", "7200"},
		{"1d", "86400"},
		{"1w", "604800"},
		{"1h30m", "5400"},
		{"1w1d1h1m1s", "694861"},
		{"0s", "0"},
		{"2h == 120m", "true"},
		{"change.window >= 2h", "true"},
		{"change.window > 1h59m59s", "true"},
		{"change.window > 2h", "false"},
		{"1d / 1h", "24"},
		{"90m / 1h", "1.5"},
	};
	RUN_VALUES(cases);
}

static void test_arithmetic(void)
{
	static const struct value_case cases[] = {
		{"1 + 2 * 3", "7"},
		{"(1 + 2) * 3", "9"},
		{"10 - 4 - 3", "3"},
		{"1 - 2 * 3 + 4", "-1"},
		{"100 / 8 / 5", "2.5"},
		{"7 / 2", "3.5"},
		{"6 / 2", "3"},
		{"-6 / 4", "-1.5"},
		{"1 + 0.5", "1.5"},
		{"2 * 1.5", "3.0"},
		{"1.0 + 1", "2.0"},
		{"-(2 + 3)", "-5"},
		{"2 - -3", "5"},
		{"-risk.score", "-42"},
		{"-history.failure_rate", "-0.25"},
		{"risk.score + 8", "50"},
		{"history.failure_rate * 4", "1.0"},
		{"9223372036854775807 - 1", "9223372036854775806"},
		{"-9223372036854775807 - 1", "-9223372036854775808"},
	};
	RUN_VALUES(cases);
}

static void test_comparison(void)
{
	static const struct value_case cases[] = {
		{"1 == 1.0", "true"},
		{"1 != 2", "true"},
		{"1 < 2", "true"},
		{"2 <= 2", "true"},
		{"3 > 2.5", "true"},
		{"2 >= 3", "false"},
		{"3 == 3.5", "false"},
		{"3 < 3.5", "true"},
		{"-1 < -0.5", "true"},
		{"-1 > -1.5", "true"},
		/* 2^63 - 1 is not the double 2^63 it rounds to */
		{"9223372036854775807 < 9223372036854775807.0", "true"},
		{"9223372036854775807 == 9223372036854775807.0", "false"},
		{"\"abc\" < \"abd\"", "true"},
		{"\"ab\" < \"abc\"", "true"},
		{"\"b\" > \"abc\"", "true"},
		{"\"a\" <= \"a\"", "true"},
		{"risk.level == \"medium\"", "true"},
		{"1 == \"1\"", "false"},
		{"1 != \"1\"", "true"},
		{"null == null", "true"},
		{"null == false", "false"},
		{"0 == false", "false"},
		{"true == true", "true"},
		{"true != false", "true"},
		{"change.missing == null", "true"},
		{"[1, 2] == [1, 2]", "true"},
		{"[1, 2] == [2, 1]", "false"},
		{"[1, [2]] == [1, [2.0]]", "true"},
		{"change.services == [\"payments\", \"web\"]", "true"},
		{"change.nested == change.nested", "true"},
		{"change.nested == change.approvers", "false"},
	};
	RUN_VALUES(cases);
}

static void test_logic(void)
{
	static const struct value_case cases[] = {
		{"true && false", "false"},
		{"true && true", "true"},
		{"true || false", "true"},
		{"false || false", "false"},
		{"!true", "false"},
		{"!0", "true"},
		{"!\"\"", "true"},
		{"![]", "true"},
		{"![0]", "false"},
		{"!!risk.score", "true"},
		{"1 && \"x\"", "true"},
		{"0 || \"\"", "false"},
		{"null || 3", "true"},
		/* ! is below the comparisons: !(1 == 2) */
		{"!1 == 2", "true"},
		/* && binds tighter than || */
		{"true || false && false", "true"},
		{"(true || false) && false", "false"},
		{"false && true || true", "true"},
		/* short-circuit: the right side would be a type error */
		{"false && 1 < \"a\"", "false"},
		{"true || 1 / 0", "true"},
		{"1 == 1 && 2 == 2 && 3 == 3 && 4 == 4", "true"},
		{"1 == 2 || 2 == 3 || 3 == 4 || 4 == 4", "true"},
		{"change.type == \"normal\" && risk.level in [\"low\", \"medium\"]", "true"},
		{"change.type == \"standard\" || !approvals.satisfied", "false"},
	};
	RUN_VALUES(cases);
}

static void test_membership(void)
{
	static const struct value_case cases[] = {
		{"\"web\" in change.services", "true"},
		{"\"db\" in change.services", "false"},
		{"\"db\" not in change.services", "true"},
		{"\"web\" not in change.services", "false"},
		{"\"Pay\" in change.title", "true"},
		{"\"pay\" in change.title", "false"},
		{"\"\" in \"abc\"", "true"},
		{"1 in [1.0, 2]", "true"},
		{"null in [null]", "true"},
		{"[1] in [[1], [2]]", "true"},
		{"\"x\" in change.missing", "false"},
		{"\"x\" not in change.missing", "true"},
		{"\"x\" in []", "false"},
		{"risk.level in [\"low\", \"medium\"]", "true"},
		{"1 + 1 in [2]", "true"},
		{"!\"a\" in [\"b\"]", "true"},
		{"risk.level in [change.type, \"medium\"]", "true"},
	};
	RUN_VALUES(cases);
}

static void test_functions(void)
{
	static const struct value_case cases[] = {
		{"len(\"h\xc3\xa9llo\")", "5"},
		{"len(change.services)", "2"},
		{"len([])", "0"},
		{"len(change.missing)", "0"},
		{"len(change.nested)", "1"},
		{"count(change.services)", "2"},
		{"count(change.flags)", "3"},
		{"count(change.missing)", "0"},
		{"count(change.approvers, it.role == \"cab\")", "1"},
		{"count(big, it >= 990)", "10"},
		{"any(change.flags)", "true"},
		{"all(change.flags)", "false"},
		{"all([1, \"x\", [0]])", "true"},
		{"any([])", "false"},
		{"all([])", "true"},
		{"any(change.missing, it)", "false"},
		{"all(change.missing, it)", "true"},
		{"any(change.services, it in [\"payments\", \"ledger\"])", "true"},
		{"any(change.services, it in [\"ledger\"])", "false"},
		{"all(change.services, starts_with(it, \"p\"))", "false"},
		{"all(change.services, len(it) >= 3)", "true"},
		{"any(change.approvers, it.name == \"bob\")", "true"},
		{"any(change.approvers, it.missing.deep == 1)", "false"},
		{"all(change.services, it.x == null)", "true"},
		{"any(change.services, it == change.type)", "false"},
		{"any(change.approvers, any(change.services, it == \"web\"))", "true"},
		{"count([[1, 2], [3]], count(it) > 1)", "1"},
		{"any([[1, 2]], any(it, it == 2))", "true"},
		{"count(change.approvers, it.name in [\"ann\", \"bob\"])", "2"},
		{"contains(change.services, \"web\")", "true"},
		{"contains(change.services, \"db\")", "false"},
		{"contains(change.title, \"DB\")", "true"},
		{"contains(change.missing, 1)", "false"},
		{"starts_with(change.title, \"Upgrade\")", "true"},
		{"starts_with(change.title, \"upgrade\")", "false"},
		{"starts_with(\"ab\", \"abc\")", "false"},
		{"starts_with(change.missing, \"\")", "true"},
		{"lower(change.title)", "\"upgrade payments db\""},
		{"lower(\"\xc3\x80 B\")", "\"\xc3\x80 b\""},
		{"lower(change.missing)", "null"},
		{"min(3, 2.5)", "2.5"},
		{"max(3, 2.5)", "3"},
		{"min(2, 2.0)", "2"},
		{"min(\"b\", \"a\")", "\"a\""},
		{"max(1h, 30m)", "3600"},
		{"max(risk.score, 50) - min(risk.score, 50)", "8"},
		/* a field may share a function's name: only `name(` is a call */
		{"len == null", "true"},
		{"count(change.approvers, it.role == \"cab\" || it.role == \"owner\") == "
		 "len(change.approvers)",
		 "true"},
		{"any(change.services, it in [\"payments\", \"ledger\"]) && "
		 "change.rollback_plan == \"\"",
		 "true"},
	};
	RUN_VALUES(cases);
}

/* ---- error tables ------------------------------------------------------------------------ */

struct error_case {
	const char *src;
	int column;
	const char *message;
};

static void run_eval_error_cases(const struct error_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct expr_error err;
		struct expr *e = expr_compile(cases[i].src, NULL, NULL, &err);
		json_t *got = NULL;

		CHECKF(e != NULL, "%s: compile error at %d: %s", cases[i].src, err.column,
		       err.message);
		if (e == NULL)
			continue;
		CHECKF(!expr_eval(e, get_field, record(), &got, &err), "%s: evaluated",
		       cases[i].src);
		CHECKF(err.column == cases[i].column && strcmp(err.message, cases[i].message) == 0,
		       "%s: got %d \"%s\", want %d \"%s\"", cases[i].src, err.column, err.message,
		       cases[i].column, cases[i].message);
		json_decref(got);
		expr_free(e);
	}
}

static void run_compile_error_cases(const struct error_case *cases, size_t n,
				    expr_field_known_fn known, void *known_cls)
{
	for (size_t i = 0; i < n; i++) {
		struct expr_error err;
		struct expr *e = expr_compile(cases[i].src, known, known_cls, &err);

		CHECKF(e == NULL, "%s: compiled", cases[i].src);
		CHECKF(err.column == cases[i].column && strcmp(err.message, cases[i].message) == 0,
		       "%s: got %d \"%s\", want %d \"%s\"", cases[i].src, err.column, err.message,
		       cases[i].column, cases[i].message);
		expr_free(e);
	}
}

static void test_type_errors(void)
{
	static const struct error_case cases[] = {
		{"\"a\" >= 1", 5, "cannot compare string with number"},
		{"1 < \"a\"", 3, "cannot compare number with string"},
		{"null < 1", 6, "cannot compare null with number"},
		{"change.missing > 1", 16, "cannot compare null with number"},
		{"true < false", 6, "cannot compare boolean with boolean"},
		{"[1] <= [2]", 5, "cannot compare list with list"},
		{"change.nested > 1", 15, "cannot compare object with number"},
		{"1 + \"a\"", 3, "cannot apply '+' to number and string"},
		{"change.title * 2", 14, "cannot apply '*' to string and number"},
		{"1 - null", 3, "cannot apply '-' to number and null"},
		{"true / 1", 6, "cannot apply '/' to boolean and number"},
		{"1 / 0", 3, "division by zero"},
		{"1.5 / 0", 5, "division by zero"},
		{"1 / (2 - 2)", 3, "division by zero"},
		{"9223372036854775807 + 1", 21, "integer overflow"},
		{"-9223372036854775807 - 2", 22, "integer overflow"},
		{"3037000500 * 3037000500", 12, "integer overflow"},
		{"(-9223372036854775807 - 1) / -1", 28, "integer overflow"},
		{"-(-9223372036854775807 - 1)", 1, "integer overflow"},
		{"-\"a\"", 1, "cannot negate string"},
		{"-change.missing", 1, "cannot negate null"},
		{"1 in 5", 3, "'in' needs a list or string, got number"},
		{"1 not in true", 3, "'in' needs a list or string, got boolean"},
		{"1 in \"abc\"", 3, "cannot search a string for a number"},
		{"len(5)", 1, "len() needs a string or list, got number"},
		{"any(\"x\")", 1, "any() needs a list, got string"},
		{"all(1)", 1, "all() needs a list, got number"},
		{"count(1, it)", 1, "count() needs a list, got number"},
		{"all(change.services, it < 1)", 25, "cannot compare string with number"},
		{"starts_with(1, \"a\")", 1, "starts_with() needs strings, got number"},
		{"starts_with(\"a\", null)", 1, "starts_with() needs strings, got null"},
		{"lower(1)", 1, "lower() needs a string, got number"},
		{"min(1, \"a\")", 1, "cannot compare number with string"},
		{"max(null, null)", 1, "cannot compare null with null"},
		{"contains(1, 1)", 1, "contains() needs a list or string, got number"},
		{"contains(\"abc\", 1)", 1, "cannot search a string for a number"},
		{"deep == deep", 0, "value nested too deeply (max 64 levels)"},
		{"change.flags == [true, 0, \"\"] && 1 < null", 36,
		 "cannot compare number with null"},
	};
	char real[400];

	run_eval_error_cases(cases, sizeof cases / sizeof cases[0]);

	/* 1e308 * 10 is not a finite double */
	memset(real, '0', sizeof real);
	real[0] = '1';
	snprintf(real + 309, sizeof real - 309, ".0 * 10");
	{
		const struct error_case big[] = {{real, 313, "number out of range"}};

		run_eval_error_cases(big, 1);
	}
}

static void test_compile_errors(void)
{
	static const struct error_case cases[] = {
		{"", 1, "empty expression"},
		{"  \t", 1, "empty expression"},
		{"(1 + 2", 7, "expected ')'"},
		{"1 + 2)", 6, "unexpected ')'"},
		{")", 1, "unexpected ')'"},
		{"[1, 2", 6, "expected ']'"},
		{"[1 2]", 4, "expected ']'"},
		{"[1,]", 4, "unexpected ']'"},
		{"len(1 2)", 7, "expected ')'"},
		{"(,)", 2, "unexpected ','"},
		{"\"abc", 1, "unterminated string"},
		{"x == \"abc", 6, "unterminated string"},
		{"\"abc\\", 1, "unterminated string"},
		{"\"a\\qb\"", 3, "invalid escape '\\q'"},
		{"\"\xff\"", 2, "invalid utf-8 in string"},
		{"\"\xed\xa0\x80\"", 2, "invalid utf-8 in string"},
		{"foo(1)", 1, "unknown function 'foo'"},
		{"x && change.type(1)", 6, "unknown function 'change.type'"},
		{"any()", 1, "any() takes 1 or 2 arguments"},
		{"1 + all(a, it, it)", 5, "all() takes 1 or 2 arguments"},
		{"count()", 1, "count() takes 1 or 2 arguments"},
		{"len(1, 2)", 1, "len() takes 1 argument"},
		{"lower()", 1, "lower() takes 1 argument"},
		{"min(1)", 1, "min() takes 2 arguments"},
		{"max(1, 2, 3)", 1, "max() takes 2 arguments"},
		{"contains(x)", 1, "contains() takes 2 arguments"},
		{"starts_with(x)", 1, "starts_with() takes 2 arguments"},
		{"1 +", 4, "unexpected end of expression"},
		{"a ==", 5, "unexpected end of expression"},
		{"(", 2, "unexpected end of expression"},
		{"1 2", 3, "unexpected '2'"},
		{"a b", 3, "unexpected 'b'"},
		{"a \"b\"", 3, "unexpected string"},
		{"== 1", 1, "unexpected '=='"},
		{"1 ! 2", 3, "unexpected '!'"},
		{"a == !b", 6, "unexpected '!'"},
		{"+1", 1, "unexpected '+'"},
		{"a = 1", 3, "unexpected '=', did you mean '=='?"},
		{"a & b", 3, "unexpected '&', did you mean '&&'?"},
		{"a | b", 3, "unexpected '|', did you mean '||'?"},
		{"a # b", 3, "unexpected character '#'"},
		{"x == \xc3\xa9", 6, "unexpected byte 0xc3"},
		{"true.x", 5, "unexpected character '.'"},
		{"1 < 2 < 3", 7, "comparison operators cannot be chained"},
		{"a == b in c", 8, "comparison operators cannot be chained"},
		{"a in b not in c", 8, "comparison operators cannot be chained"},
		{"a not b", 7, "expected 'in' after 'not'"},
		{"not a", 1, "unexpected 'not'"},
		{"it == 1", 1, "'it' used outside any(), all() or count()"},
		{"any(it, true)", 5, "'it' used outside any(), all() or count()"},
		{"len(it.name)", 5, "'it' used outside any(), all() or count()"},
		{"30min", 1, "invalid duration '30min'"},
		{"x > 1m1h", 5, "invalid duration '1m1h'"},
		{"1h1h", 1, "invalid duration '1h1h'"},
		{"1x", 1, "invalid duration '1x'"},
		{"1h30", 1, "invalid duration '1h30'"},
		{"1.5h", 1, "invalid number '1.5h'"},
		{"1.", 1, "invalid number '1.'"},
		{"1.2.3", 1, "invalid number '1.2.3'"},
		{"99999999999999999999", 1, "integer out of range"},
		{"9999999999999999999s", 1, "duration out of range"},
		{"99999999999999w", 1, "duration out of range"},
		{"change.", 8, "expected a field name after '.'"},
		{"change..type", 8, "expected a field name after '.'"},
		/* columns count characters, not bytes */
		{"\"\xc3\xa9\" == 1 +", 11, "unexpected end of expression"},
	};
	char big[400];

	run_compile_error_cases(cases, sizeof cases / sizeof cases[0], NULL, NULL);

	memset(big, '9', sizeof big);
	snprintf(big + 350, sizeof big - 350, ".5");
	{
		const struct error_case c[] = {{big, 1, "number out of range"}};

		run_compile_error_cases(c, 1, NULL, NULL);
	}
}

/* ---- field vetting ------------------------------------------------------------------------ */

struct known_set {
	const char *const *names;
	int calls;
};

static bool known_in_set(void *cls, const char *path)
{
	struct known_set *ks = cls;

	ks->calls++;
	for (const char *const *n = ks->names; *n != NULL; n++)
		if (strcmp(*n, path) == 0)
			return true;
	return false;
}

static void test_known_fields(void)
{
	static const char *const names[] = {"change.type", "change.services", "risk.level",
					    "change.rollback_plan", NULL};
	static const struct error_case bad[] = {
		{"risk.lvl == \"low\"", 1, "unknown field 'risk.lvl'"},
		{"change.type == \"normal\" && risk.lvl == 1", 28, "unknown field 'risk.lvl'"},
		{"any(change.servics, it)", 5, "unknown field 'change.servics'"},
		{"any(change.services, it == change.tipe)", 28, "unknown field 'change.tipe'"},
	};
	static const char *const good[] = {
		"change.type == \"normal\" && risk.level in [\"low\", \"medium\"]",
		"any(change.services, it.name == \"x\" || it in [\"payments\"])",
		"change.rollback_plan == \"\"",
	};
	struct known_set ks = {names, 0};
	struct expr_error err;
	struct expr *e;

	run_compile_error_cases(bad, sizeof bad / sizeof bad[0], known_in_set, &ks);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		e = expr_compile(good[i], known_in_set, &ks, &err);
		CHECKF(e != NULL, "%s: %d %s", good[i], err.column, err.message);
		expr_free(e);
	}

	/* asked once per distinct path, never about `it` */
	ks.calls = 0;
	e = expr_compile("change.type == change.type || any(change.services, it == change.type)",
			 known_in_set, &ks, &err);
	CHECK(e != NULL);
	CHECK_INT(ks.calls, 2);
	expr_free(e);
}

/* ---- limits ----------------------------------------------------------------------------- */

/* Compiles `n` copies of `open`, then `middle`, then `n` copies of `close`. */
static struct expr *compile_nested(int n, const char *open, const char *middle, const char *close,
				   struct expr_error *err)
{
	size_t lo = strlen(open), lm = strlen(middle), lc = strlen(close);
	char *src = malloc((size_t)n * (lo + lc) + lm + 1), *p = src;
	struct expr *e;

	if (src == NULL)
		return NULL;
	for (int i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, middle, lm);
	p += lm;
	for (int i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	e = expr_compile(src, NULL, NULL, err);
	free(src);
	return e;
}

static void test_nesting_limit(void)
{
	static const char too_deep[] = "expression nested too deeply (max 64 levels)";
	static const struct {
		int n;
		const char *open, *middle, *close;
		int column; /* of the error; 0 with a NULL message: must compile */
		const char *message;
	} cases[] = {
		{63, "(", "1", ")", 0, NULL},
		{64, "(", "1", ")", 65, too_deep},
		{4000, "(", "1", ")", 0, "expression too long (max 4096 bytes)"},
		{4000, "(", "", "", 65, too_deep},
		{63, "[", "1", "]", 0, NULL},
		{4000, "[", "", "", 65, too_deep},
		{63, "!", "1", "", 0, NULL},
		{64, "!", "1", "", 64, too_deep},
		{4000, "!", "", "", 64, too_deep},
		{4000, "-", "", "", 64, too_deep},
		{2000, "-(", "", "", 65, too_deep},
		{63, "len(", "1", ")", 0, NULL},
		{1000, "len(", "", "", 257, too_deep},
		{400, "any([1], ", "", "", 564, too_deep},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct expr_error err;
		struct expr *e = compile_nested(cases[i].n, cases[i].open, cases[i].middle,
						cases[i].close, &err);

		if (cases[i].message == NULL) {
			CHECKF(e != NULL, "%d x %s: %d %s", cases[i].n, cases[i].open, err.column,
			       err.message);
		} else {
			CHECKF(e == NULL, "%d x %s: compiled", cases[i].n, cases[i].open);
			CHECKF(err.column == cases[i].column &&
				       strcmp(err.message, cases[i].message) == 0,
			       "%d x %s: got %d %s", cases[i].n, cases[i].open, err.column,
			       err.message);
		}
		expr_free(e);
	}
}

static void test_source_limit(void)
{
	char src[EXPR_MAX_SOURCE + 2];
	struct expr_error err;
	struct expr *e;
	json_t *v = NULL;

	/* "1+1+...+1 " is exactly EXPR_MAX_SOURCE bytes: a long flat chain is fine */
	src[0] = '1';
	for (int i = 1; i + 1 < EXPR_MAX_SOURCE; i += 2)
		memcpy(src + i, "+1", 2);
	src[EXPR_MAX_SOURCE - 1] = ' ';
	src[EXPR_MAX_SOURCE] = '\0';
	e = expr_compile(src, NULL, NULL, &err);
	CHECKF(e != NULL, "%d %s", err.column, err.message);
	if (e != NULL) {
		CHECK(expr_eval(e, NULL, NULL, &v, &err));
		CHECK(v != NULL && json_integer_value(v) == EXPR_MAX_SOURCE / 2);
		json_decref(v);
		expr_free(e);
	}
	src[EXPR_MAX_SOURCE] = '1';
	src[EXPR_MAX_SOURCE + 1] = '\0';
	e = expr_compile(src, NULL, NULL, &err);
	CHECK(e == NULL);
	CHECK_INT(err.column, 0);
	CHECK_STR(err.message, "expression too long (max 4096 bytes)");
	expr_free(e);
}

static void test_budget(void)
{
	static const struct {
		const char *src;
		bool exhausted;
	} cases[] = {
		{"count(big, it >= 0)", false},
		{"count(big, it in big)", true},
		{"count(big, count(big, it == 1) > 0)", true},
		{"count(big, lower(bigstr) == \"\")", true},
		{"count(big, len(bigstr) == 100000) == 1000", true},
		{"len(bigstr) == 100000", false},
		{"count(big, starts_with(bigstr, bigstr))", true},
		{"starts_with(bigstr, bigstr)", false},
		{"big == big", false},
		{"count(big, it == 999.5)", false},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct expr_error err;
		struct expr *e = expr_compile(cases[i].src, NULL, NULL, &err);
		bool b = false;

		CHECKF(e != NULL, "%s: %s", cases[i].src, err.message);
		if (e == NULL)
			continue;
		/* twice: the budget is per evaluation */
		for (int round = 0; round < 2; round++) {
			bool ok = expr_eval_bool(e, get_field, record(), &b, &err);

			if (cases[i].exhausted) {
				CHECKF(!ok, "%s: finished", cases[i].src);
				CHECK_STR(err.message,
					  "evaluation budget exhausted (max 100000 steps)");
				CHECK_INT(err.column, 0);
			} else {
				CHECKF(ok, "%s: %s", cases[i].src, err.message);
			}
		}
		expr_free(e);
	}
}

/* ---- the rest of the API ------------------------------------------------------------------ */

struct collected {
	char paths[8][64];
	int n;
};

static void collect(void *cls, const char *path)
{
	struct collected *c = cls;

	if (c->n < 8)
		snprintf(c->paths[c->n], sizeof c->paths[0], "%s", path);
	c->n++;
}

static void test_fields_foreach(void)
{
	static const struct {
		const char *src;
		int n;
		const char *paths[4];
	} cases[] = {
		{"change.type == \"x\" && any(change.services, it == change.type) || "
		 "risk.level in [\"a\"] && len(change.type) > 0",
		 3,
		 {"change.type", "change.services", "risk.level"}},
		{"1 + 2 == 3", 0, {NULL}},
		{"any([1], it.a.b == 1)", 0, {NULL}},
		{"history.failure_rate > 0.2 || history.failure_rate < 0",
		 1,
		 {"history.failure_rate"}},
		{"[approvals.satisfied, risk.score]", 2, {"approvals.satisfied", "risk.score"}},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct expr_error err;
		struct expr *e = expr_compile(cases[i].src, NULL, NULL, &err);
		struct collected c = {.n = 0};

		CHECKF(e != NULL, "%s: %s", cases[i].src, err.message);
		if (e == NULL)
			continue;
		expr_fields_foreach(e, collect, &c);
		CHECKF(c.n == cases[i].n, "%s: %d paths, want %d", cases[i].src, c.n, cases[i].n);
		for (int k = 0; k < cases[i].n && k < c.n && k < 4; k++)
			CHECK_STR(c.paths[k], cases[i].paths[k]);
		expr_free(e);
	}
}

static void test_truthiness(void)
{
	static const struct {
		const char *src;
		bool want;
	} cases[] = {
		{"false", false},
		{"null", false},
		{"0", false},
		{"0.0", false},
		{"\"\"", false},
		{"[]", false},
		{"change.missing", false},
		{"change.tags", false},
		{"change.rollback_plan", false},
		{"true", true},
		{"1", true},
		{"-0.5", true},
		{"\"0\"", true},
		{"[0]", true},
		{"change.nested", true},
		{"approvals.satisfied", true},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct expr_error err;
		struct expr *e = expr_compile(cases[i].src, NULL, NULL, &err);
		bool b = !cases[i].want;

		CHECKF(e != NULL, "%s: %s", cases[i].src, err.message);
		if (e == NULL)
			continue;
		CHECKF(expr_eval_bool(e, get_field, record(), &b, &err) && b == cases[i].want,
		       "%s: got %d (%s)", cases[i].src, b, err.message);
		expr_free(e);
	}
}

static void test_api(void)
{
	struct expr_error err;
	struct expr *e;
	json_t *v = NULL, *services = json_object_get(record(), "change.services");

	expr_free(NULL);

	/* the source is kept verbatim */
	e = expr_compile(" risk.score > 40 ", NULL, NULL, &err);
	CHECK(e != NULL);
	CHECK_STR(e != NULL ? expr_source(e) : NULL, " risk.score > 40 ");
	expr_free(e);

	/* success clears a stale error; a NULL `get` reads every field as null */
	snprintf(err.message, sizeof err.message, "stale");
	err.column = 9;
	e = expr_compile("change.type == null", NULL, NULL, &err);
	CHECK(e != NULL);
	if (e != NULL) {
		bool b = false;

		CHECK(expr_eval_bool(e, NULL, NULL, &b, &err));
		CHECK(b);
		CHECK_STR(err.message, "");
		CHECK_INT(err.column, 0);
	}
	expr_free(e);

	/* the result is the caller's: changing it leaves the record alone */
	e = expr_compile("change.services", NULL, NULL, &err);
	CHECK(e != NULL && expr_eval(e, get_field, record(), &v, &err));
	CHECK(v != NULL && v != services && json_equal(v, services));
	if (v != NULL)
		json_array_append_new(v, json_string("extra"));
	CHECK_INT(json_array_size(services), 2);
	json_decref(v);
	expr_free(e);

	/* no error record at all is allowed */
	CHECK(expr_compile("(", NULL, NULL, NULL) == NULL);
	e = expr_compile("1 / 0", NULL, NULL, NULL);
	CHECK(e != NULL && !expr_eval(e, NULL, NULL, &v, NULL));
	expr_free(e);
	CHECK(expr_compile(NULL, NULL, NULL, &err) == NULL);
	CHECK_STR(err.message, "empty expression");
}

/* ---- out of memory ---------------------------------------------------------------------- */

static long alloc_budget; /* allocations left before they start failing; -1: unlimited */
static long alloc_failed;

static void *failing_malloc(size_t size)
{
	if (alloc_budget == 0) {
		alloc_failed++;
		return NULL;
	}
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(size);
}

static void test_out_of_memory(void)
{
	static const char src[] = "any(change.services, lower(it) in [\"payments\", \"x\"]) && "
				  "[risk.score, 1] == [42, 1] && 7 / 2 > 2.5 && "
				  "\"Pay\" in change.title && [-risk.score] != [] && "
				  "count(change.approvers, it.role == \"cab\") == 1";
	json_t *rec = record();
	bool finished = false;
	long n;

	for (n = 0; n < 1000 && !finished; n++) {
		struct expr_error err;
		struct expr *e;
		json_t *v = NULL;
		bool ok;

		alloc_budget = n;
		alloc_failed = 0;
		json_set_alloc_funcs(failing_malloc, free);
		e = expr_compile(src, NULL, NULL, &err);
		ok = e != NULL && expr_eval(e, get_field, rec, &v, &err);
		json_set_alloc_funcs(malloc, free);

		if (!ok)
			CHECKF(strcmp(err.message, "out of memory") == 0 && err.column == 0,
			       "after %ld allocations: %d %s", n, err.column, err.message);
		else
			CHECKF(json_is_true(v), "after %ld allocations: not true", n);
		finished = ok && alloc_failed == 0;
		json_decref(v);
		expr_free(e);
	}
	CHECKF(finished, "never finished within %ld allocations", n);
	CHECKF(n > 10, "only %ld allocations: the hook is not used", n);
}

/* ---- threads ----------------------------------------------------------------------------- */

struct thread_arg {
	const struct expr *e;
	int ok;
};

static void *eval_many(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < 2000; i++) {
		struct expr_error err;
		json_t *v = NULL;

		if (expr_eval(a->e, get_field, record(), &v, &err) && json_is_array(v) &&
		    json_array_size(v) == 3)
			a->ok++;
		json_decref(v);
	}
	return NULL;
}

static void test_threads(void)
{
	struct expr_error err;
	struct expr *e = expr_compile("[\"web\" in change.services, [1, 2], risk.score * 2]", NULL,
				      NULL, &err);
	struct thread_arg args[4];
	pthread_t th[4];

	CHECK(e != NULL);
	if (e == NULL)
		return;
	record();
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){e, 0};
		CHECK(pthread_create(&th[i], NULL, eval_many, &args[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(args[i].ok, 2000);
	}
	expr_free(e);
}

TESTS(test_literals, test_durations, test_arithmetic, test_comparison, test_logic, test_membership,
      test_functions, test_type_errors, test_compile_errors, test_known_fields, test_nesting_limit,
      test_source_limit, test_budget, test_fields_foreach, test_truthiness, test_api,
      test_out_of_memory, test_threads)
