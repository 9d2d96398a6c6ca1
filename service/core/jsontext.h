/*
 * jsontext.h -- JSON as text, without parsing it: a growing buffer that appends JSON text
 * written by PostgreSQL (jsonb::text, json_agg) in the form jansson writes
 * (JSON_COMPACT | JSON_ENSURE_ASCII), and joins objects member-wise.  Lets a read serve a
 * stored document as stored instead of parsing, copying and re-serialising it (pure).
 */
#ifndef TRANSOM_CORE_JSONTEXT_H
#define TRANSOM_CORE_JSONTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* A text being built; zero-initialise.  `failed` sticks once an allocation failed. */
struct jtext {
	char *p; /* NUL-terminated when len > 0 (owned) */
	size_t len, cap;
	bool failed;
};

/* Appends the `n` bytes at `s` as they are. */
void jtext_put(struct jtext *b, const char *s, size_t n);

/* Appends NUL-terminated `s` as it is. */
void jtext_puts(struct jtext *b, const char *s);

/*
 * Appends the well-formed JSON text `json` (`n` bytes; PostgreSQL's output) compacted:
 * no white space outside strings, and each character above U+007F of a string written
 * as \uXXXX (a surrogate pair above U+FFFF), as jansson's JSON_COMPACT | JSON_ENSURE_ASCII.
 * Escapes already in the text are kept as they are.  Invalid UTF-8 is copied unchanged.
 */
void jtext_put_compact(struct jtext *b, const char *json, size_t n);

/*
 * Appends NUL-terminated UTF-8 text `s` as a JSON string, escaped as jansson's
 * JSON_ENSURE_ASCII writes it; NULL appends null.
 */
void jtext_put_string(struct jtext *b, const char *s);

/*
 * Appends the JSON object `obj` (well-formed, `n` bytes, as PostgreSQL writes it) with
 * the members of `tail` after its own: `tail` is a compact JSON object text ("{...}",
 * NUL-terminated) whose names `obj` does not have (the caller checks).  False, with
 * nothing appended, when either is not an object text.
 */
bool jtext_put_object_with(struct jtext *b, const char *obj, size_t n, const char *tail);

/*
 * Calls `fn` for each member of the JSON object text `obj` (`n` bytes, well-formed, as
 * PostgreSQL writes it), in order, with its name as written between the quotes (escapes
 * kept) and the text of its value (`vlen` bytes, no blanks around it).  Returns false
 * (after calling `fn` for the members before the fault) when `obj` is not an object text.
 */
bool jtext_members(const char *obj, size_t n,
		   void (*fn)(void *cls, const char *name, size_t nlen, const char *value,
			      size_t vlen),
		   void *cls);

/* The text built (owned by the caller; "" when empty), or NULL when an allocation failed;
 * `b` is left empty. */
char *jtext_take(struct jtext *b);

/* Releases the text of `b`; `b` is left empty. */
void jtext_clear(struct jtext *b);

#endif /* TRANSOM_CORE_JSONTEXT_H */
