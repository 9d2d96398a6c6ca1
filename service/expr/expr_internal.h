/*
 * expr_internal.h -- what the files of service/expr/ share and nobody else sees.
 *
 * expr_lex.c turns source text into tokens, expr_parse.c turns tokens into a tree of
 * `struct expr_node`, expr_eval.c walks that tree, and expr.c holds the public entry
 * points, the arena the tree lives in, and error reporting.  Nothing here is part of
 * the module's API; include expr.h from outside.
 */
#ifndef TRANSOM_EXPR_INTERNAL_H
#define TRANSOM_EXPR_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "expr/expr.h"

/* Passed as an offset when an error is not tied to a position (column 0). */
#define EXPR_NO_POS ((size_t)-1)

/* How deeply `==` and `in` descend into nested lists and objects of a value. */
#define EXPR_MAX_VALUE_DEPTH 64

/* ---- tokens (expr_lex.c) ---------------------------------------------------------------- */

enum expr_tok_kind {
	EXPR_T_END,      /* end of the source */
	EXPR_T_INT,      /* 42 */
	EXPR_T_REAL,     /* 4.2 */
	EXPR_T_DURATION, /* 1h30m, as seconds in ival */
	EXPR_T_STRING,   /* "text"; decoded with expr_lex_string() */
	EXPR_T_PATH,     /* change.type, it, it.role, len */
	EXPR_T_TRUE,     /* true */
	EXPR_T_FALSE,    /* false */
	EXPR_T_NULL,     /* null */
	EXPR_T_IN,       /* in */
	EXPR_T_NOT,      /* not (only in `not in`) */
	EXPR_T_LPAREN,   /* ( */
	EXPR_T_RPAREN,   /* ) */
	EXPR_T_LBRACKET, /* [ */
	EXPR_T_RBRACKET, /* ] */
	EXPR_T_COMMA,    /* , */
	EXPR_T_OR,       /* || */
	EXPR_T_AND,      /* && */
	EXPR_T_BANG,     /* ! */
	EXPR_T_EQ,       /* == */
	EXPR_T_NE,       /* != */
	EXPR_T_LT,       /* < */
	EXPR_T_LE,       /* <= */
	EXPR_T_GT,       /* > */
	EXPR_T_GE,       /* >= */
	EXPR_T_PLUS,     /* + */
	EXPR_T_MINUS,    /* - */
	EXPR_T_STAR,     /* * */
	EXPR_T_SLASH,    /* / */
};

struct expr_tok {
	enum expr_tok_kind kind;
	size_t off;      /* byte offset of the token's first byte in the source */
	size_t len;      /* bytes of source the token spans */
	json_int_t ival; /* EXPR_T_INT, EXPR_T_DURATION */
	double rval;     /* EXPR_T_REAL */
	size_t slen;     /* EXPR_T_STRING: length once escapes are decoded */
};

struct expr_lexer {
	const char *src; /* NUL-terminated source */
	size_t pos;      /* byte offset of the next unread byte */
};

/* Reads the next token into *tok.  False with `err` filled on a lexical error. */
bool expr_lex_next(struct expr_lexer *lx, struct expr_tok *tok, struct expr_error *err);

/* Writes the decoded text of string token `tok` (tok->slen bytes, then a NUL) to `out`. */
void expr_lex_string(const char *src, const struct expr_tok *tok, char *out);

/* ---- the tree (expr_parse.c builds it, expr_eval.c walks it) ---------------------------- */

enum expr_node_kind {
	EXPR_N_LITERAL, /* constant `lit` (lists of constants are folded into one) */
	EXPR_N_FIELD,   /* record field `path` */
	EXPR_N_IT,      /* bound element; `path` is the member path after "it.", or NULL */
	EXPR_N_LIST,    /* [kids...] */
	EXPR_N_OR,      /* kids[0] || kids[1] || ... */
	EXPR_N_AND,     /* kids[0] && kids[1] && ... */
	EXPR_N_NOT,     /* !kids[0] */
	EXPR_N_NEG,     /* -kids[0] */
	EXPR_N_COMPARE, /* kids[0] `op` kids[1]; op is a comparison, `in` or `not in` token */
	EXPR_N_ARITH,   /* kids[0] then, for each later kid, its `chain_op` and the kid */
	EXPR_N_CALL,    /* built-in function `fn` applied to kids */
};

enum expr_fn {
	EXPR_FN_LEN,
	EXPR_FN_COUNT,
	EXPR_FN_ANY,
	EXPR_FN_ALL,
	EXPR_FN_CONTAINS,
	EXPR_FN_STARTS_WITH,
	EXPR_FN_LOWER,
	EXPR_FN_MIN,
	EXPR_FN_MAX,
};

struct expr_node {
	enum expr_node_kind kind;
	size_t off;                  /* byte offset of the node's operator or first token */
	enum expr_tok_kind op;       /* EXPR_N_COMPARE: the operator */
	enum expr_tok_kind chain_op; /* operand of EXPR_N_ARITH (not the first): + - * or / */
	size_t chain_off;            /* ... and where that operator is */
	enum expr_fn fn;             /* EXPR_N_CALL */
	json_t *lit;                 /* EXPR_N_LITERAL, owned by the expression */
	const char *path;            /* EXPR_N_FIELD, EXPR_N_IT (interned, in the arena) */
	struct expr_node *kids;      /* first child */
	struct expr_node *next;      /* next sibling */
	struct expr_node *next_lit;  /* chain of every literal node, to release them */
};

/* A distinct field path the expression reads, in order of first use. */
struct expr_path {
	const char *path;
	struct expr_path *next;
};

struct expr_chunk;

struct expr {
	char *src;                 /* copy of the source text */
	struct expr_node *root;    /* NULL only while compiling */
	struct expr_chunk *chunks; /* arena holding every node and string */
	struct expr_node *lits;    /* literal nodes, chained by next_lit */
	struct expr_path *paths;   /* distinct field paths ... */
	struct expr_path **paths_tail;
};

/* Parses e->src into e->root.  False with `err` filled on any compile error. */
bool expr_parse(struct expr *e, expr_field_known_fn known, void *known_cls, struct expr_error *err);

/* Evaluates `e`; returns a new reference, or NULL with `err` filled. */
json_t *expr_eval_tree(const struct expr *e, expr_field_get_fn get, void *get_cls,
		       struct expr_error *err);

/* Truthiness: false, null, 0, 0.0, "" and [] are false; everything else is true. */
bool expr_truthy(const json_t *v);

/* ---- shared helpers (expr.c) ------------------------------------------------------------ */

/* Memory from jansson's allocator, so one hook (json_set_alloc_funcs) covers the module. */
void *expr_mem_alloc(size_t size);
void expr_mem_free(void *ptr);

/* Zeroed memory from e's arena, freed with e; NULL when out of memory. */
void *expr_arena_alloc(struct expr *e, size_t size);

/* Fills `err` (may be NULL); `off` is a byte offset into `src`, or EXPR_NO_POS. */
void expr_error_set(struct expr_error *err, const char *src, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* TRANSOM_EXPR_INTERNAL_H */
