/*
 * expr.h -- Transom's small expression language, shared by workflows/ and policies/.
 *
 * Guards (`when`), risk-factor conditions and points, and approval rules are written
 * in it.  An expression is compiled once at load time (syntax and field names are
 * checked then, with the column of every error) and evaluated many times against a
 * record.  Evaluation is pure (no I/O, no clock, no allocation visible to callers but
 * the result), side-effect free and bounded.  See docs/expressions.md for the grammar.
 *
 * Values are jansson values: null, booleans, integers and reals, strings, arrays.
 * Durations (`2h`, `30m`, `1d`, `45s`, `1w`) are integers in seconds.
 *
 * Thread-safety: a compiled `struct expr` is immutable; any number of threads may
 * evaluate it at once.
 */
#ifndef TRANSOM_EXPR_H
#define TRANSOM_EXPR_H

#include <jansson.h>
#include <stdbool.h>

struct expr;

/* Limits; exceeding one is an error, never a crash (see docs/expressions.md). */
#define EXPR_MAX_SOURCE 4096   /* bytes of source text */
#define EXPR_MAX_DEPTH  64     /* nesting of parentheses, lists, calls and prefix operators */
#define EXPR_MAX_STEPS  100000 /* evaluation steps: nodes visited, list elements examined */

/* Where and why compilation or evaluation failed. */
struct expr_error {
	int column;        /* 1-based column in the source; 0 when not tied to a position */
	char message[200]; /* short, lowercase, e.g. "unknown field 'risk.lvl'" */
};

/*
 * Tells the compiler whether a dotted field path (e.g. "change.type", "risk.level")
 * exists.  Return true when known.  NULL accepts every path.
 */
typedef bool (*expr_field_known_fn)(void *cls, const char *path);

/*
 * Resolves a dotted field path at evaluation time.  Returns a borrowed value (owned by
 * the caller of expr_eval, alive for the whole evaluation), or NULL for "absent",
 * which the language treats as null.
 */
typedef json_t *(*expr_field_get_fn)(void *cls, const char *path);

/*
 * Compiles `src`.  `known` (may be NULL) vets every field path.  Returns an owned
 * expression, or NULL with `err` filled (column and message) on a syntax error,
 * an unknown field or function, a wrong argument count, or out of memory.
 */
struct expr *expr_compile(const char *src, expr_field_known_fn known, void *known_cls,
			  struct expr_error *err);

/* Frees `e`; NULL is a no-op. */
void expr_free(struct expr *e);

/* The source text `e` was compiled from (borrowed, lives as long as `e`). */
const char *expr_source(const struct expr *e);

/*
 * Evaluates `e`.  Returns an owned value in *out and true, or false with `err` filled
 * on a type error (e.g. "cannot compare string with number") or when the evaluation
 * budget is exhausted.
 */
bool expr_eval(const struct expr *e, expr_field_get_fn get, void *get_cls, json_t **out,
	       struct expr_error *err);

/*
 * Evaluates `e` as a condition: *out_bool receives its truthiness (false, null, 0,
 * "" and [] are false; everything else true).  Returns false with `err` on error.
 */
bool expr_eval_bool(const struct expr *e, expr_field_get_fn get, void *get_cls, bool *out_bool,
		    struct expr_error *err);

/*
 * Calls `fn` for every distinct field path `e` reads (e.g. so that a policy knows
 * which fields a risk factor depends on).
 */
void expr_fields_foreach(const struct expr *e, void (*fn)(void *cls, const char *path), void *cls);

/*
 * Walks the dotted path `path` ("a.b.c") below `obj` through object members: the value
 * found (borrowed), or NULL when a step is missing or not an object.  For the field
 * resolvers of expression contexts.  Pure, thread-safe.
 */
json_t *expr_path_walk(json_t *obj, const char *path);

#endif /* TRANSOM_EXPR_H */
