/*
 * expr_parse.c -- recursive-descent parser of the expression language.
 *
 * One function per precedence level, lowest first:
 *
 *	or      = and { "||" and }
 *	and     = not { "&&" not }
 *	not     = "!" not | compare
 *	compare = sum [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in" ) sum ]
 *	sum     = product { ( "+" | "-" ) product }
 *	product = unary { ( "*" | "/" ) unary }
 *	unary   = "-" unary | primary
 *	primary = literal | list | path | call | "(" or ")"
 *
 * Chains of || , && and of + - / * - become one n-ary node each, so the height of the
 * tree (and the recursion of evaluation) grows only with real nesting, which is capped
 * at EXPR_MAX_DEPTH.  Field paths are vetted with the `known` callback as they are met
 * and interned, so that expr_fields_foreach() sees each once.
 */
#include <string.h>

#include "expr/expr_internal.h"

/* Longest token text quoted back in an error message. */
#define QUOTE_MAX 40

struct parser {
	struct expr *e;
	struct expr_lexer lx;
	struct expr_tok tok; /* the current, not yet consumed, token */
	int depth;           /* nesting so far, up to EXPR_MAX_DEPTH */
	int it_scopes;       /* enclosing predicate arguments, where `it` is bound */
	expr_field_known_fn known;
	void *known_cls;
	struct expr_error *err;
};

static const struct builtin {
	const char *name;
	enum expr_fn fn;
	int min_args, max_args;
	bool binds_it;     /* arguments after the first see `it` */
	const char *arity; /* for "len() takes 1 argument" */
} builtins[] = {
	{"len", EXPR_FN_LEN, 1, 1, false, "1 argument"},
	{"count", EXPR_FN_COUNT, 1, 2, true, "1 or 2 arguments"},
	{"any", EXPR_FN_ANY, 1, 2, true, "1 or 2 arguments"},
	{"all", EXPR_FN_ALL, 1, 2, true, "1 or 2 arguments"},
	{"contains", EXPR_FN_CONTAINS, 2, 2, false, "2 arguments"},
	{"starts_with", EXPR_FN_STARTS_WITH, 2, 2, false, "2 arguments"},
	{"lower", EXPR_FN_LOWER, 1, 1, false, "1 argument"},
	{"min", EXPR_FN_MIN, 2, 2, false, "2 arguments"},
	{"max", EXPR_FN_MAX, 2, 2, false, "2 arguments"},
};

static struct expr_node *parse_or(struct parser *p);

static bool advance(struct parser *p)
{
	return expr_lex_next(&p->lx, &p->tok, p->err);
}

static void oom(struct parser *p)
{
	expr_error_set(p->err, NULL, EXPR_NO_POS, "out of memory");
}

/* Reports the current token as unexpected; always returns NULL. */
static struct expr_node *unexpected(struct parser *p)
{
	const struct expr_tok *t = &p->tok;
	const char *src = p->e->src;

	if (t->kind == EXPR_T_END)
		expr_error_set(p->err, src, t->off, "unexpected end of expression");
	else if (t->kind == EXPR_T_STRING)
		expr_error_set(p->err, src, t->off, "unexpected string");
	else
		expr_error_set(p->err, src, t->off, "unexpected '%.*s'",
			       (int)(t->len > QUOTE_MAX ? QUOTE_MAX : t->len), src + t->off);
	return NULL;
}

/*
 * Counts one more level of nesting at the current token; false past the limit.  Every
 * parenthesis, list element, argument and the whole expression go through parse_or(),
 * which counts; so do prefix operators, which recurse without it.
 */
static bool enter(struct parser *p)
{
	if (++p->depth > EXPR_MAX_DEPTH) {
		expr_error_set(p->err, p->e->src, p->tok.off,
			       "expression nested too deeply (max %d levels)", EXPR_MAX_DEPTH);
		return false;
	}
	return true;
}

static struct expr_node *new_node(struct parser *p, enum expr_node_kind kind, size_t off)
{
	struct expr_node *n = expr_arena_alloc(p->e, sizeof *n);

	if (n == NULL) {
		oom(p);
		return NULL;
	}
	n->kind = kind;
	n->off = off;
	return n;
}

/* A literal node owning `v` (stolen; NULL means jansson ran out of memory). */
static struct expr_node *new_literal(struct parser *p, json_t *v, size_t off)
{
	struct expr_node *n;

	if (v == NULL) {
		oom(p);
		return NULL;
	}
	n = new_node(p, EXPR_N_LITERAL, off);
	if (n == NULL) {
		json_decref(v);
		return NULL;
	}
	n->lit = v;
	n->next_lit = p->e->lits;
	p->e->lits = n;
	return n;
}

static char *arena_strndup(struct parser *p, const char *s, size_t len)
{
	char *d = expr_arena_alloc(p->e, len + 1);

	if (d == NULL) {
		oom(p);
		return NULL;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* The interned copy of field path src[off, off+len), vetted by `known` the first time. */
static const char *intern_path(struct parser *p, size_t off, size_t len)
{
	const char *s = p->e->src + off;
	struct expr_path *ep;
	char *copy;

	for (ep = p->e->paths; ep != NULL; ep = ep->next)
		if (strlen(ep->path) == len && memcmp(ep->path, s, len) == 0)
			return ep->path;
	copy = arena_strndup(p, s, len);
	if (copy == NULL)
		return NULL;
	if (p->known != NULL && !p->known(p->known_cls, copy)) {
		expr_error_set(p->err, p->e->src, off, "unknown field '%.*s'",
			       (int)(len > 120 ? 120 : len), s);
		return NULL;
	}
	ep = expr_arena_alloc(p->e, sizeof *ep);
	if (ep == NULL) {
		oom(p);
		return NULL;
	}
	ep->path = copy;
	*p->e->paths_tail = ep;
	p->e->paths_tail = &ep->next;
	return copy;
}

/* `it`, `it.member.sub`, or a record field. */
static struct expr_node *parse_path(struct parser *p, const struct expr_tok *t)
{
	const char *s = p->e->src + t->off;
	struct expr_node *n;

	if (t->len >= 2 && s[0] == 'i' && s[1] == 't' && (t->len == 2 || s[2] == '.')) {
		if (p->it_scopes == 0) {
			expr_error_set(p->err, p->e->src, t->off,
				       "'it' used outside any(), all() or count()");
			return NULL;
		}
		n = new_node(p, EXPR_N_IT, t->off);
		if (n != NULL && t->len > 2) {
			n->path = arena_strndup(p, s + 3, t->len - 3);
			if (n->path == NULL)
				return NULL;
		}
		return n;
	}
	n = new_node(p, EXPR_N_FIELD, t->off);
	if (n == NULL)
		return NULL;
	n->path = intern_path(p, t->off, t->len);
	return n->path != NULL ? n : NULL;
}

/* name(args...); the current token is the '('. */
static struct expr_node *parse_call(struct parser *p, const struct expr_tok *name)
{
	const char *src = p->e->src;
	const struct builtin *b = NULL;
	struct expr_node *n, **tail;
	int nargs = 0;

	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strlen(builtins[i].name) == name->len &&
		    memcmp(builtins[i].name, src + name->off, name->len) == 0)
			b = &builtins[i];
	if (b == NULL) {
		expr_error_set(p->err, src, name->off, "unknown function '%.*s'",
			       (int)(name->len > QUOTE_MAX ? QUOTE_MAX : name->len),
			       src + name->off);
		return NULL;
	}
	n = new_node(p, EXPR_N_CALL, name->off);
	if (n == NULL || !advance(p))
		return NULL;
	n->fn = b->fn;
	tail = &n->kids;
	if (p->tok.kind != EXPR_T_RPAREN) {
		for (;;) {
			bool scoped = b->binds_it && nargs >= 1;
			struct expr_node *arg;

			p->it_scopes += scoped;
			arg = parse_or(p);
			p->it_scopes -= scoped;
			if (arg == NULL)
				return NULL;
			*tail = arg;
			tail = &arg->next;
			nargs++;
			if (p->tok.kind != EXPR_T_COMMA)
				break;
			if (!advance(p))
				return NULL;
		}
		if (p->tok.kind != EXPR_T_RPAREN) {
			expr_error_set(p->err, src, p->tok.off, "expected ')'");
			return NULL;
		}
	}
	if (nargs < b->min_args || nargs > b->max_args) {
		expr_error_set(p->err, src, name->off, "%s() takes %s", b->name, b->arity);
		return NULL;
	}
	return advance(p) ? n : NULL;
}

/* [a, b, ...]; the current token is the '['.  A list of literals folds into one. */
static struct expr_node *parse_list(struct parser *p)
{
	struct expr_node *n, **tail;
	bool constant = true;
	json_t *arr;

	n = new_node(p, EXPR_N_LIST, p->tok.off);
	if (n == NULL || !advance(p))
		return NULL;
	tail = &n->kids;
	if (p->tok.kind != EXPR_T_RBRACKET) {
		for (;;) {
			struct expr_node *el = parse_or(p);

			if (el == NULL)
				return NULL;
			constant = constant && el->kind == EXPR_N_LITERAL;
			*tail = el;
			tail = &el->next;
			if (p->tok.kind != EXPR_T_COMMA)
				break;
			if (!advance(p))
				return NULL;
		}
		if (p->tok.kind != EXPR_T_RBRACKET) {
			expr_error_set(p->err, p->e->src, p->tok.off, "expected ']'");
			return NULL;
		}
	}
	if (!advance(p))
		return NULL;
	if (!constant)
		return n;
	arr = json_array();
	if (arr == NULL) {
		oom(p);
		return NULL;
	}
	for (struct expr_node *el = n->kids; el != NULL; el = el->next) {
		if (json_array_append(arr, el->lit) != 0) {
			json_decref(arr);
			oom(p);
			return NULL;
		}
	}
	return new_literal(p, arr, n->off);
}

static struct expr_node *parse_primary(struct parser *p)
{
	struct expr_tok t = p->tok;
	struct expr_node *n;

	switch (t.kind) {
	case EXPR_T_INT:
	case EXPR_T_DURATION:
		n = new_literal(p, json_integer(t.ival), t.off);
		break;
	case EXPR_T_REAL:
		n = new_literal(p, json_real(t.rval), t.off);
		break;
	case EXPR_T_TRUE:
		n = new_literal(p, json_true(), t.off);
		break;
	case EXPR_T_FALSE:
		n = new_literal(p, json_false(), t.off);
		break;
	case EXPR_T_NULL:
		n = new_literal(p, json_null(), t.off);
		break;
	case EXPR_T_STRING: {
		char *buf = expr_mem_alloc(t.slen + 1);

		if (buf == NULL) {
			oom(p);
			return NULL;
		}
		expr_lex_string(p->e->src, &t, buf);
		n = new_literal(p, json_stringn_nocheck(buf, t.slen), t.off);
		expr_mem_free(buf);
		break;
	}
	case EXPR_T_LPAREN:
		if (!advance(p))
			return NULL;
		n = parse_or(p);
		if (n == NULL)
			return NULL;
		if (p->tok.kind != EXPR_T_RPAREN) {
			expr_error_set(p->err, p->e->src, p->tok.off, "expected ')'");
			return NULL;
		}
		break;
	case EXPR_T_LBRACKET:
		return parse_list(p);
	case EXPR_T_PATH:
		if (!advance(p))
			return NULL;
		if (p->tok.kind == EXPR_T_LPAREN)
			return parse_call(p, &t);
		return parse_path(p, &t);
	default:
		return unexpected(p);
	}
	if (n == NULL || !advance(p))
		return NULL;
	return n;
}

static struct expr_node *parse_unary(struct parser *p)
{
	struct expr_node *n, *operand;
	size_t off = p->tok.off;

	if (p->tok.kind != EXPR_T_MINUS)
		return parse_primary(p);
	if (!enter(p) || !advance(p))
		return NULL;
	operand = parse_unary(p);
	if (operand == NULL)
		return NULL;
	p->depth--;
	/* Fold -<number literal>: literals never hold INT64_MIN, so this cannot overflow. */
	if (operand->kind == EXPR_N_LITERAL && json_is_integer(operand->lit)) {
		json_integer_set(operand->lit, -json_integer_value(operand->lit));
		return operand;
	}
	if (operand->kind == EXPR_N_LITERAL && json_is_real(operand->lit)) {
		json_real_set(operand->lit, -json_real_value(operand->lit));
		return operand;
	}
	n = new_node(p, EXPR_N_NEG, off);
	if (n != NULL)
		n->kids = operand;
	return n;
}

/*
 * A left-associative chain of `sub` joined by `op1` or `op2`; a single operand is
 * returned as it is, several become one EXPR_N_ARITH node.
 */
static struct expr_node *parse_chain(struct parser *p, struct expr_node *(*sub)(struct parser *),
				     enum expr_tok_kind op1, enum expr_tok_kind op2)
{
	struct expr_node *first = sub(p), *n, *last;

	if (first == NULL)
		return NULL;
	if (p->tok.kind != op1 && p->tok.kind != op2)
		return first;
	n = new_node(p, EXPR_N_ARITH, first->off);
	if (n == NULL)
		return NULL;
	n->kids = last = first;
	while (p->tok.kind == op1 || p->tok.kind == op2) {
		struct expr_tok op = p->tok;
		struct expr_node *rhs;

		if (!advance(p) || (rhs = sub(p)) == NULL)
			return NULL;
		rhs->chain_op = op.kind;
		rhs->chain_off = op.off;
		last->next = rhs;
		last = rhs;
	}
	return n;
}

static struct expr_node *parse_product(struct parser *p)
{
	return parse_chain(p, parse_unary, EXPR_T_STAR, EXPR_T_SLASH);
}

static struct expr_node *parse_sum(struct parser *p)
{
	return parse_chain(p, parse_product, EXPR_T_PLUS, EXPR_T_MINUS);
}

static bool is_comparison(enum expr_tok_kind k)
{
	return k == EXPR_T_EQ || k == EXPR_T_NE || k == EXPR_T_LT || k == EXPR_T_LE ||
	       k == EXPR_T_GT || k == EXPR_T_GE || k == EXPR_T_IN || k == EXPR_T_NOT;
}

static struct expr_node *parse_compare(struct parser *p)
{
	struct expr_node *lhs = parse_sum(p), *rhs, *n;
	struct expr_tok op;

	if (lhs == NULL || !is_comparison(p->tok.kind))
		return lhs;
	op = p->tok;
	if (!advance(p))
		return NULL;
	if (op.kind == EXPR_T_NOT) {
		if (p->tok.kind != EXPR_T_IN) {
			expr_error_set(p->err, p->e->src, p->tok.off, "expected 'in' after 'not'");
			return NULL;
		}
		if (!advance(p))
			return NULL;
	}
	rhs = parse_sum(p);
	if (rhs == NULL)
		return NULL;
	if (is_comparison(p->tok.kind)) {
		expr_error_set(p->err, p->e->src, p->tok.off,
			       "comparison operators cannot be chained");
		return NULL;
	}
	n = new_node(p, EXPR_N_COMPARE, op.off);
	if (n == NULL)
		return NULL;
	n->op = op.kind;
	n->kids = lhs;
	lhs->next = rhs;
	return n;
}

static struct expr_node *parse_not(struct parser *p)
{
	struct expr_node *n;

	if (p->tok.kind != EXPR_T_BANG)
		return parse_compare(p);
	n = new_node(p, EXPR_N_NOT, p->tok.off);
	if (n == NULL || !enter(p) || !advance(p))
		return NULL;
	n->kids = parse_not(p);
	if (n->kids == NULL)
		return NULL;
	p->depth--;
	return n;
}

/* A chain of `sub` joined by `op`, as one n-ary node of `kind` when longer than one. */
static struct expr_node *parse_logic(struct parser *p, struct expr_node *(*sub)(struct parser *),
				     enum expr_tok_kind op, enum expr_node_kind kind)
{
	struct expr_node *first = sub(p), *n, *last;

	if (first == NULL || p->tok.kind != op)
		return first;
	n = new_node(p, kind, p->tok.off);
	if (n == NULL)
		return NULL;
	n->kids = last = first;
	while (p->tok.kind == op) {
		if (!advance(p) || (last->next = sub(p)) == NULL)
			return NULL;
		last = last->next;
	}
	return n;
}

static struct expr_node *parse_and(struct parser *p)
{
	return parse_logic(p, parse_not, EXPR_T_AND, EXPR_N_AND);
}

static struct expr_node *parse_or(struct parser *p)
{
	struct expr_node *n;

	if (!enter(p))
		return NULL;
	n = parse_logic(p, parse_and, EXPR_T_OR, EXPR_N_OR);
	p->depth--;
	return n;
}

bool expr_parse(struct expr *e, expr_field_known_fn known, void *known_cls, struct expr_error *err)
{
	struct parser p = {
		.e = e,
		.lx = {.src = e->src, .pos = 0},
		.known = known,
		.known_cls = known_cls,
		.err = err,
	};

	if (!advance(&p))
		return false;
	if (p.tok.kind == EXPR_T_END) {
		expr_error_set(err, e->src, 0, "empty expression");
		return false;
	}
	e->root = parse_or(&p);
	if (e->root == NULL)
		return false;
	if (p.tok.kind != EXPR_T_END) {
		unexpected(&p);
		return false;
	}
	return true;
}
