/*
 * expr.c -- public entry points of the expression language: compile, evaluate, free,
 * list the fields an expression reads; plus the arena the compiled tree lives in and
 * error reporting shared by the lexer, parser and evaluator.
 *
 * Memory comes from jansson's allocator (json_get_alloc_funcs) so that a test can make
 * every allocation of the module fail in turn with one hook.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strnlen when built without the Makefile */
#endif
#include <stdalign.h>
#include <stdio.h>
#include <string.h>

#include "expr/expr_internal.h"

/* One block of the arena; `data` is aligned for any object. */
struct expr_chunk {
	struct expr_chunk *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

#define EXPR_CHUNK_SIZE 4096

void *expr_mem_alloc(size_t size)
{
	json_malloc_t m;
	json_free_t f;

	json_get_alloc_funcs(&m, &f);
	return m(size);
}

void expr_mem_free(void *ptr)
{
	json_malloc_t m;
	json_free_t f;

	if (ptr == NULL)
		return;
	json_get_alloc_funcs(&m, &f);
	f(ptr);
}

void *expr_arena_alloc(struct expr *e, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct expr_chunk *c = e->chunks;
	void *p;

	size = (size + align - 1) / align * align;
	if (c == NULL || c->cap - c->used < size) {
		size_t cap = size > EXPR_CHUNK_SIZE ? size : EXPR_CHUNK_SIZE;

		c = expr_mem_alloc(sizeof *c + cap);
		if (c == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = e->chunks;
		e->chunks = c;
	}
	p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

/* Column of byte offset `off`: 1 + the UTF-8 characters before it. */
static int column_of(const char *src, size_t off)
{
	int col = 1;

	for (size_t i = 0; i < off && src[i] != '\0'; i++)
		if (((unsigned char)src[i] & 0xC0) != 0x80)
			col++;
	return col;
}

void expr_error_set(struct expr_error *err, const char *src, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->column = (off == EXPR_NO_POS || src == NULL) ? 0 : column_of(src, off);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

static void error_clear(struct expr_error *err)
{
	if (err != NULL) {
		err->column = 0;
		err->message[0] = '\0';
	}
}

struct expr *expr_compile(const char *src, expr_field_known_fn known, void *known_cls,
			  struct expr_error *err)
{
	struct expr *e;
	size_t len;

	error_clear(err);
	if (src == NULL)
		src = "";
	len = strnlen(src, EXPR_MAX_SOURCE + 1);
	if (len > EXPR_MAX_SOURCE) {
		expr_error_set(err, NULL, EXPR_NO_POS, "expression too long (max %d bytes)",
			       EXPR_MAX_SOURCE);
		return NULL;
	}
	e = expr_mem_alloc(sizeof *e);
	if (e == NULL)
		goto oom;
	memset(e, 0, sizeof *e);
	e->paths_tail = &e->paths;
	e->src = expr_mem_alloc(len + 1);
	if (e->src == NULL)
		goto oom;
	memcpy(e->src, src, len + 1);
	if (!expr_parse(e, known, known_cls, err)) {
		expr_free(e);
		return NULL;
	}
	return e;

oom:
	expr_free(e);
	expr_error_set(err, NULL, EXPR_NO_POS, "out of memory");
	return NULL;
}

void expr_free(struct expr *e)
{
	if (e == NULL)
		return;
	for (struct expr_node *n = e->lits; n != NULL; n = n->next_lit)
		json_decref(n->lit);
	while (e->chunks != NULL) {
		struct expr_chunk *c = e->chunks;

		e->chunks = c->next;
		expr_mem_free(c);
	}
	expr_mem_free(e->src);
	expr_mem_free(e);
}

const char *expr_source(const struct expr *e)
{
	return e->src;
}

/*
 * The result is a deep copy: values of the tree may be shared with the compiled
 * expression (literals) or the record (fields), and the caller owns what it gets.
 */
bool expr_eval(const struct expr *e, expr_field_get_fn get, void *get_cls, json_t **out,
	       struct expr_error *err)
{
	json_t *v, *copy;

	error_clear(err);
	v = expr_eval_tree(e, get, get_cls, err);
	if (v == NULL)
		return false;
	copy = json_deep_copy(v);
	json_decref(v);
	if (copy == NULL) {
		expr_error_set(err, NULL, EXPR_NO_POS, "out of memory");
		return false;
	}
	*out = copy;
	return true;
}

bool expr_eval_bool(const struct expr *e, expr_field_get_fn get, void *get_cls, bool *out_bool,
		    struct expr_error *err)
{
	json_t *v;

	error_clear(err);
	v = expr_eval_tree(e, get, get_cls, err);
	if (v == NULL)
		return false;
	*out_bool = expr_truthy(v);
	json_decref(v);
	return true;
}

void expr_fields_foreach(const struct expr *e, void (*fn)(void *cls, const char *path), void *cls)
{
	for (const struct expr_path *p = e->paths; p != NULL; p = p->next)
		fn(cls, p->path);
}

json_t *expr_path_walk(json_t *obj, const char *path)
{
	char seg[128];

	while (obj != NULL && *path != '\0') {
		const char *dot = strchr(path, '.');
		size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof seg)
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		obj = json_is_object(obj) ? json_object_get(obj, seg) : NULL;
		path += n + (dot != NULL ? 1 : 0);
	}
	return obj;
}
