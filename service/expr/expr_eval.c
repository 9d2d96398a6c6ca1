/*
 * expr_eval.c -- evaluates a compiled expression tree against a record.
 *
 * Every step (a node visited, a list element or object member examined, 64 bytes of
 * string scanned) is charged to a budget of EXPR_MAX_STEPS, so no input can make an
 * evaluation run long.  Recursion follows the tree, whose height the parser bounds,
 * and the nesting of values, bounded here by EXPR_MAX_VALUE_DEPTH.  All state lives
 * in a `struct ectx` on the caller's stack: evaluation is reentrant.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, when built without the Makefile */
#endif
#include <limits.h>
#include <math.h>
#include <string.h>

#include "expr/expr_internal.h"

struct ectx {
	const char *src; /* for error columns */
	expr_field_get_fn get;
	void *get_cls;
	json_t *it; /* the element bound by any(), all() or count(); borrowed */
	long steps; /* budget left */
	struct expr_error *err;
};

static json_t *eval(struct ectx *c, const struct expr_node *n);

static bool charge(struct ectx *c, long steps)
{
	if (c->steps < steps) {
		c->steps = 0;
		expr_error_set(c->err, NULL, EXPR_NO_POS,
			       "evaluation budget exhausted (max %d steps)", EXPR_MAX_STEPS);
		return false;
	}
	c->steps -= steps;
	return true;
}

/* Steps for scanning a string of `len` bytes. */
static long string_cost(size_t len)
{
	return 1 + (long)(len / 64);
}

static json_t *oom(struct ectx *c)
{
	expr_error_set(c->err, NULL, EXPR_NO_POS, "out of memory");
	return NULL;
}

/* `v` (stolen), or the out-of-memory error when it is NULL. */
static json_t *made(struct ectx *c, json_t *v)
{
	return v != NULL ? v : oom(c);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "list";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "value";
}

bool expr_truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return false;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_STRING:
		return json_string_length(v) != 0;
	case JSON_ARRAY:
		return json_array_size(v) != 0;
	case JSON_TRUE:
	case JSON_OBJECT:
		return true;
	}
	return true;
}

static json_t *boolean(bool b)
{
	return b ? json_true() : json_false();
}

/* -1, 0 or 1 as a < b, a == b, a > b, for two numbers, exactly even for large integers. */
static int number_cmp(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);

		return (x > y) - (x < y);
	}
	if (json_is_real(a) && json_is_real(b)) {
		double x = json_real_value(a), y = json_real_value(b);

		return (x > y) - (x < y);
	}
	if (json_is_real(a))
		return -number_cmp(b, a);
	/* a is an integer, b a real (finite: jansson holds no NaN or infinity) */
	json_int_t i = json_integer_value(a);
	double d = json_real_value(b);

	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	json_int_t t = (json_int_t)d; /* d truncated: exact, as |d| < 2^63 */
	if (i != t)
		return (i > t) - (i < t);
	double frac = d - (double)t;

	return (frac < 0) - (frac > 0);
}

/* Orders a and b (two numbers or two strings) into *res; false with an error otherwise. */
static bool order(struct ectx *c, size_t off, const json_t *a, const json_t *b, int *res)
{
	if (json_is_number(a) && json_is_number(b)) {
		*res = number_cmp(a, b);
		return true;
	}
	if (json_is_string(a) && json_is_string(b)) {
		size_t la = json_string_length(a), lb = json_string_length(b);
		int r = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);

		if (!charge(c, string_cost(la < lb ? la : lb)))
			return false;
		*res = r != 0 ? (r > 0) - (r < 0) : (la > lb) - (la < lb);
		return true;
	}
	expr_error_set(c->err, c->src, off, "cannot compare %s with %s", type_name(a),
		       type_name(b));
	return false;
}

/* 1 when a equals b, 0 when not, -1 on error (budget, nesting). */
static int equal(struct ectx *c, const json_t *a, const json_t *b, int depth)
{
	if (!charge(c, 1))
		return -1;
	if (depth > EXPR_MAX_VALUE_DEPTH) {
		expr_error_set(c->err, NULL, EXPR_NO_POS, "value nested too deeply (max %d levels)",
			       EXPR_MAX_VALUE_DEPTH);
		return -1;
	}
	if (json_is_number(a) && json_is_number(b))
		return number_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING: {
		size_t len = json_string_length(a);

		if (len != json_string_length(b))
			return 0;
		if (!charge(c, string_cost(len)))
			return -1;
		return memcmp(json_string_value(a), json_string_value(b), len) == 0;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(a);

		if (n != json_array_size(b))
			return 0;
		for (size_t i = 0; i < n; i++) {
			int r = equal(c, json_array_get(a, i), json_array_get(b, i), depth + 1);

			if (r != 1)
				return r;
		}
		return 1;
	}
	case JSON_OBJECT: {
		const char *key;
		size_t key_len;
		json_t *va;

		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_keylen_foreach((json_t *)a, key, key_len, va)
		{
			json_t *vb = json_object_getn(b, key, key_len);
			int r;

			if (vb == NULL)
				return 0;
			r = equal(c, va, vb, depth + 1);
			if (r != 1)
				return r;
		}
		return 1;
	}
	default: /* null, true, false: same type is same value */
		return 1;
	}
}

/*
 * Whether `x` is an element of list `coll` or a substring of string `coll`; null is
 * an empty collection.  `what` names the operation in errors: "'in'" or "contains()".
 */
static bool member(struct ectx *c, size_t off, const char *what, const json_t *x,
		   const json_t *coll, bool *res)
{
	*res = false;
	if (json_is_null(coll))
		return true;
	if (json_is_array(coll)) {
		size_t i;
		json_t *el;

		json_array_foreach(coll, i, el) {
			int r = equal(c, x, el, 0);

			if (r < 0)
				return false;
			if (r == 1) {
				*res = true;
				return true;
			}
		}
		return true;
	}
	if (json_is_string(coll)) {
		size_t hl = json_string_length(coll);

		if (!json_is_string(x)) {
			expr_error_set(c->err, c->src, off, "cannot search a string for a %s",
				       type_name(x));
			return false;
		}
		if (!charge(c, string_cost(hl)))
			return false;
		*res = memmem(json_string_value(coll), hl, json_string_value(x),
			      json_string_length(x)) != NULL;
		return true;
	}
	expr_error_set(c->err, c->src, off, "%s needs a list or string, got %s", what,
		       type_name(coll));
	return false;
}

static json_t *eval_compare(struct ectx *c, const struct expr_node *n)
{
	json_t *a, *b, *r = NULL;
	bool in;
	int cmp;

	if ((a = eval(c, n->kids)) == NULL)
		return NULL;
	if ((b = eval(c, n->kids->next)) == NULL) {
		json_decref(a);
		return NULL;
	}
	switch (n->op) {
	case EXPR_T_EQ:
	case EXPR_T_NE:
		cmp = equal(c, a, b, 0);
		if (cmp >= 0)
			r = boolean((cmp == 1) == (n->op == EXPR_T_EQ));
		break;
	case EXPR_T_IN:
	case EXPR_T_NOT:
		if (member(c, n->off, "'in'", a, b, &in))
			r = boolean(in == (n->op == EXPR_T_IN));
		break;
	default:
		if (!order(c, n->off, a, b, &cmp))
			break;
		switch (n->op) {
		case EXPR_T_LT:
			r = boolean(cmp < 0);
			break;
		case EXPR_T_LE:
			r = boolean(cmp <= 0);
			break;
		case EXPR_T_GT:
			r = boolean(cmp > 0);
			break;
		default:
			r = boolean(cmp >= 0);
			break;
		}
		break;
	}
	json_decref(a);
	json_decref(b);
	return r;
}

static char op_char(enum expr_tok_kind op)
{
	switch (op) {
	case EXPR_T_PLUS:
		return '+';
	case EXPR_T_MINUS:
		return '-';
	case EXPR_T_STAR:
		return '*';
	default:
		return '/';
	}
}

/* a op b for two numbers; integers stay integers unless a division is inexact. */
static json_t *arith(struct ectx *c, enum expr_tok_kind op, size_t off, const json_t *a,
		     const json_t *b)
{
	double x, y, r;

	if (!json_is_number(a) || !json_is_number(b)) {
		expr_error_set(c->err, c->src, off, "cannot apply '%c' to %s and %s", op_char(op),
			       type_name(a), type_name(b));
		return NULL;
	}
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t i = json_integer_value(a), j = json_integer_value(b), k;
		bool overflow;

		switch (op) {
		case EXPR_T_PLUS:
			overflow = __builtin_add_overflow(i, j, &k);
			break;
		case EXPR_T_MINUS:
			overflow = __builtin_sub_overflow(i, j, &k);
			break;
		case EXPR_T_STAR:
			overflow = __builtin_mul_overflow(i, j, &k);
			break;
		default:
			if (j == 0)
				goto div_zero;
			if (j == -1 && i == LLONG_MIN)
				goto overflow;
			if (i % j != 0)
				goto real;
			k = i / j;
			overflow = false;
			break;
		}
		if (overflow)
			goto overflow;
		return made(c, json_integer(k));
	}
real:
	x = json_number_value(a);
	y = json_number_value(b);
	switch (op) {
	case EXPR_T_PLUS:
		r = x + y;
		break;
	case EXPR_T_MINUS:
		r = x - y;
		break;
	case EXPR_T_STAR:
		r = x * y;
		break;
	default:
		if (y == 0.0)
			goto div_zero;
		r = x / y;
		break;
	}
	if (!isfinite(r)) {
		expr_error_set(c->err, c->src, off, "number out of range");
		return NULL;
	}
	return made(c, json_real(r));
div_zero:
	expr_error_set(c->err, c->src, off, "division by zero");
	return NULL;
overflow:
	expr_error_set(c->err, c->src, off, "integer overflow");
	return NULL;
}

static json_t *eval_arith(struct ectx *c, const struct expr_node *n)
{
	json_t *acc = eval(c, n->kids);

	for (const struct expr_node *k = n->kids->next; acc != NULL && k != NULL; k = k->next) {
		json_t *rhs = eval(c, k), *r = NULL;

		if (rhs != NULL)
			r = arith(c, k->chain_op, k->chain_off, acc, rhs);
		json_decref(rhs);
		json_decref(acc);
		acc = r;
	}
	return acc;
}

static json_t *eval_neg(struct ectx *c, const struct expr_node *n)
{
	json_t *v = eval(c, n->kids), *r = NULL;

	if (v == NULL)
		return NULL;
	if (json_is_integer(v)) {
		if (json_integer_value(v) == LLONG_MIN)
			expr_error_set(c->err, c->src, n->off, "integer overflow");
		else
			r = made(c, json_integer(-json_integer_value(v)));
	} else if (json_is_real(v)) {
		r = made(c, json_real(-json_real_value(v)));
	} else {
		expr_error_set(c->err, c->src, n->off, "cannot negate %s", type_name(v));
	}
	json_decref(v);
	return r;
}

/* The bound element, or the member `n->path` of it ("a.b" walks two objects deep). */
static json_t *eval_it(struct ectx *c, const struct expr_node *n)
{
	json_t *v = c->it;
	const char *p = n->path;

	while (p != NULL && v != NULL) {
		const char *dot = strchr(p, '.');
		size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);

		v = json_is_object(v) ? json_object_getn(v, p, len) : NULL;
		p = dot != NULL ? dot + 1 : NULL;
	}
	return v != NULL ? json_incref(v) : json_null();
}

/*
 * count(), any() and all().  Without a predicate count() counts every element and the
 * other two test the elements' own truthiness.
 */
static json_t *eval_quantifier(struct ectx *c, const struct expr_node *n)
{
	static const char *const names[] = {
		[EXPR_FN_COUNT] = "count", [EXPR_FN_ANY] = "any", [EXPR_FN_ALL] = "all"};
	const struct expr_node *pred = n->kids->next;
	json_t *list = eval(c, n->kids), *saved_it = c->it, *el, *r = NULL;
	json_int_t hits = 0;
	size_t i, size;

	if (list == NULL)
		return NULL;
	if (!json_is_array(list) && !json_is_null(list)) {
		expr_error_set(c->err, c->src, n->off, "%s() needs a list, got %s", names[n->fn],
			       type_name(list));
		goto out;
	}
	size = json_array_size(list); /* 0 for null */
	for (i = 0; i < size; i++) {
		bool t;

		el = json_array_get(list, i);
		if (!charge(c, 1))
			goto out;
		if (pred != NULL) {
			json_t *v;

			c->it = el;
			v = eval(c, pred);
			c->it = saved_it;
			if (v == NULL)
				goto out;
			t = expr_truthy(v);
			json_decref(v);
		} else {
			t = n->fn == EXPR_FN_COUNT || expr_truthy(el);
		}
		hits += t;
		if (n->fn == EXPR_FN_ANY && t)
			break;
		if (n->fn == EXPR_FN_ALL && !t)
			break;
	}
	if (n->fn == EXPR_FN_COUNT)
		r = made(c, json_integer(hits));
	else if (n->fn == EXPR_FN_ANY)
		r = boolean(hits > 0);
	else
		r = boolean(i == size);
out:
	json_decref(list);
	return r;
}

/* Characters (code points) in a valid UTF-8 string. */
static json_int_t utf8_length(const char *s, size_t len)
{
	json_int_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static json_t *eval_call(struct ectx *c, const struct expr_node *n)
{
	json_t *a, *b = NULL, *r = NULL;
	int cmp;

	if (n->fn == EXPR_FN_COUNT || n->fn == EXPR_FN_ANY || n->fn == EXPR_FN_ALL)
		return eval_quantifier(c, n);
	if ((a = eval(c, n->kids)) == NULL)
		return NULL;
	if (n->kids->next != NULL && (b = eval(c, n->kids->next)) == NULL) {
		json_decref(a);
		return NULL;
	}
	switch (n->fn) {
	case EXPR_FN_LEN:
		if (json_is_string(a)) {
			size_t len = json_string_length(a);

			if (charge(c, string_cost(len)))
				r = made(c, json_integer(utf8_length(json_string_value(a), len)));
		} else if (json_is_array(a) || json_is_object(a) || json_is_null(a)) {
			r = made(c, json_integer((json_int_t)(json_is_array(a)
								      ? json_array_size(a)
								      : json_object_size(a))));
		} else {
			expr_error_set(c->err, c->src, n->off,
				       "len() needs a string or list, got %s", type_name(a));
		}
		break;
	case EXPR_FN_CONTAINS: {
		bool in;

		if (member(c, n->off, "contains()", b, a, &in))
			r = boolean(in);
		break;
	}
	case EXPR_FN_STARTS_WITH:
		if ((json_is_string(a) || json_is_null(a)) && json_is_string(b)) {
			const char *s = json_string_value(a), *prefix = json_string_value(b);
			size_t pl = json_string_length(b);

			if (!charge(c, string_cost(pl)))
				break;
			/* null is the empty string here */
			r = boolean(s == NULL ? pl == 0
					      : json_string_length(a) >= pl &&
							memcmp(s, prefix, pl) == 0);
		} else {
			const json_t *bad = json_is_string(a) || json_is_null(a) ? b : a;

			expr_error_set(c->err, c->src, n->off,
				       "starts_with() needs strings, got %s", type_name(bad));
		}
		break;
	case EXPR_FN_LOWER:
		if (json_is_null(a)) {
			r = json_null();
		} else if (json_is_string(a)) {
			size_t len = json_string_length(a);
			char *buf;

			if (!charge(c, string_cost(len)))
				break;
			buf = expr_mem_alloc(len + 1);
			if (buf == NULL) {
				oom(c);
				break;
			}
			memcpy(buf, json_string_value(a), len + 1);
			for (size_t i = 0; i < len; i++)
				if (buf[i] >= 'A' && buf[i] <= 'Z')
					buf[i] = (char)(buf[i] - 'A' + 'a');
			r = made(c, json_stringn_nocheck(buf, len));
			expr_mem_free(buf);
		} else {
			expr_error_set(c->err, c->src, n->off, "lower() needs a string, got %s",
				       type_name(a));
		}
		break;
	case EXPR_FN_MIN:
	case EXPR_FN_MAX:
		if (order(c, n->off, a, b, &cmp))
			r = json_incref((n->fn == EXPR_FN_MIN) == (cmp <= 0) ? a : b);
		break;
	default:
		expr_error_set(c->err, NULL, EXPR_NO_POS, "internal error: bad function");
		break;
	}
	json_decref(a);
	json_decref(b);
	return r;
}

static json_t *eval_list(struct ectx *c, const struct expr_node *n)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return oom(c);
	for (const struct expr_node *k = n->kids; k != NULL; k = k->next) {
		json_t *v = eval(c, k);

		if (v == NULL || json_array_append_new(arr, v) != 0) {
			if (v != NULL)
				oom(c);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* && and ||: short-circuit, yield a boolean. */
static json_t *eval_logic(struct ectx *c, const struct expr_node *n)
{
	bool want = n->kind == EXPR_N_OR; /* the value that decides */

	for (const struct expr_node *k = n->kids; k != NULL; k = k->next) {
		json_t *v = eval(c, k);
		bool t;

		if (v == NULL)
			return NULL;
		t = expr_truthy(v);
		json_decref(v);
		if (t == want)
			return boolean(want);
	}
	return boolean(!want);
}

/* A new reference to the value of `n`, or NULL with c->err filled. */
static json_t *eval(struct ectx *c, const struct expr_node *n)
{
	json_t *v;

	if (!charge(c, 1))
		return NULL;
	switch (n->kind) {
	case EXPR_N_LITERAL:
		return json_incref(n->lit);
	case EXPR_N_FIELD:
		v = c->get != NULL ? c->get(c->get_cls, n->path) : NULL;
		return v != NULL ? json_incref(v) : json_null();
	case EXPR_N_IT:
		return eval_it(c, n);
	case EXPR_N_LIST:
		return eval_list(c, n);
	case EXPR_N_OR:
	case EXPR_N_AND:
		return eval_logic(c, n);
	case EXPR_N_NOT: {
		bool t;

		if ((v = eval(c, n->kids)) == NULL)
			return NULL;
		t = expr_truthy(v);
		json_decref(v);
		return boolean(!t);
	}
	case EXPR_N_NEG:
		return eval_neg(c, n);
	case EXPR_N_COMPARE:
		return eval_compare(c, n);
	case EXPR_N_ARITH:
		return eval_arith(c, n);
	case EXPR_N_CALL:
		return eval_call(c, n);
	}
	expr_error_set(c->err, NULL, EXPR_NO_POS, "internal error: bad node");
	return NULL;
}

json_t *expr_eval_tree(const struct expr *e, expr_field_get_fn get, void *get_cls,
		       struct expr_error *err)
{
	struct ectx c = {
		.src = e->src,
		.get = get,
		.get_cls = get_cls,
		.it = NULL,
		.steps = EXPR_MAX_STEPS,
		.err = err,
	};

	return eval(&c, e->root);
}
