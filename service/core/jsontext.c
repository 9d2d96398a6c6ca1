/*
 * jsontext.c -- JSON as text, without parsing it (jsontext.h).
 */
#include "core/jsontext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool grow(struct jtext *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void jtext_put(struct jtext *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void jtext_puts(struct jtext *b, const char *s)
{
	jtext_put(b, s, strlen(s));
}

/* The code point of the UTF-8 sequence at s (n bytes left) and its length, or 0. */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (len == 0 || len > n || s[0] >= 0xf8)
		return 0;
	unsigned v = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	*cp = v;
	return len;
}

static void put_u(struct jtext *b, unsigned v)
{
	char u[8];
	snprintf(u, sizeof u, "\\u%04X", v & 0xffff);
	jtext_put(b, u, 6);
}

/* Code point `cp` as \uXXXX, a surrogate pair above U+FFFF. */
static void put_cp(struct jtext *b, unsigned cp)
{
	if (cp >= 0x10000) {
		put_u(b, 0xd800 | ((cp - 0x10000) >> 10));
		put_u(b, 0xdc00 | ((cp - 0x10000) & 0x3ff));
	} else {
		put_u(b, cp);
	}
}

void jtext_put_compact(struct jtext *b, const char *json, size_t n)
{
	const unsigned char *s = (const unsigned char *)json;
	bool in_string = false;
	if (!grow(b, n))
		return;
	for (size_t i = 0; i < n;) {
		/* the longest run copied as is */
		size_t j = i;
		if (in_string)
			while (j < n && s[j] != '"' && s[j] != '\\' && s[j] < 0x80)
				j++;
		else
			while (j < n && s[j] != '"' && s[j] != ' ' && s[j] != '\n' &&
			       s[j] != '\t' && s[j] != '\r')
				j++;
		jtext_put(b, json + i, j - i);
		if (j >= n)
			break;
		i = j;
		unsigned cp;
		size_t len;
		if (s[i] == '"') {
			in_string = !in_string;
			jtext_put(b, "\"", 1);
			i++;
		} else if (!in_string) {
			i++; /* white space */
		} else if (s[i] == '\\') {
			jtext_put(b, json + i, i + 1 < n ? 2 : 1);
			i += 2;
		} else if ((len = utf8_decode(s + i, n - i, &cp)) > 0) {
			put_cp(b, cp);
			i += len;
		} else {
			jtext_put(b, json + i, 1);
			i++;
		}
	}
}

void jtext_put_string(struct jtext *b, const char *s)
{
	if (s == NULL) {
		jtext_put(b, "null", 4);
		return;
	}
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);
	jtext_put(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && u[j] >= 0x20 && u[j] < 0x80 && u[j] != '"' && u[j] != '\\')
			j++;
		jtext_put(b, s + i, j - i);
		if (j >= n)
			break;
		i = j;
		unsigned cp;
		size_t len;
		if (u[i] == '"' || u[i] == '\\') {
			char e[2] = {'\\', (char)u[i]};
			jtext_put(b, e, 2);
			i++;
		} else if (u[i] < 0x20) {
			/* the short escapes jansson writes, else \u00XX */
			char e = u[i] == '\b'   ? 'b'
				 : u[i] == '\t' ? 't'
				 : u[i] == '\n' ? 'n'
				 : u[i] == '\f' ? 'f'
				 : u[i] == '\r' ? 'r'
						: 0;
			if (e != 0) {
				char esc[2] = {'\\', e};
				jtext_put(b, esc, 2);
			} else {
				put_u(b, u[i]);
			}
			i++;
		} else if ((len = utf8_decode(u + i, n - i, &cp)) > 0) {
			put_cp(b, cp);
			i += len;
		} else {
			jtext_put(b, s + i, 1);
			i++;
		}
	}
	jtext_put(b, "\"", 1);
}

/* The first and last non-blank bytes of s[0..n), or false when it is blank. */
static bool trim(const char *s, size_t n, size_t *first, size_t *last)
{
	size_t a = 0, z = n;
	while (a < z && strchr(" \t\r\n", s[a]) != NULL)
		a++;
	while (z > a && strchr(" \t\r\n", s[z - 1]) != NULL)
		z--;
	if (a == z)
		return false;
	*first = a;
	*last = z - 1;
	return true;
}

bool jtext_put_object_with(struct jtext *b, const char *obj, size_t n, const char *tail)
{
	size_t a, z, ta, tz;
	if (!trim(obj, n, &a, &z) || obj[a] != '{' || obj[z] != '}' ||
	    !trim(tail, strlen(tail), &ta, &tz) || tail[ta] != '{' || tail[tz] != '}')
		return false;
	/* whether obj has members: anything but blanks between its braces */
	size_t in_a, in_z;
	bool obj_members = z > a + 1 && trim(obj + a + 1, z - a - 1, &in_a, &in_z);
	bool tail_members = tz > ta + 1 && trim(tail + ta + 1, tz - ta - 1, &in_a, &in_z);
	jtext_put_compact(b, obj + a, z - a);
	if (obj_members && tail_members)
		jtext_put(b, ",", 1);
	jtext_put(b, tail + ta + 1, tz - ta);
	return true;
}

/* The index just past the string that opens at s[i] ('"'), or n when it does not end. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* The index just past the value that begins at s[i], or n when it does not end. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	if (i < n && s[i] == '"')
		return skip_string(s, n, i);
	if (i < n && (s[i] == '{' || s[i] == '[')) {
		size_t depth = 0;
		while (i < n) {
			char c = s[i];
			if (c == '"') {
				i = skip_string(s, n, i);
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return i + 1;
			i++;
		}
		return n;
	}
	while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
	       s[i] != '\r' && s[i] != '\n')
		i++;
	return i;
}

bool jtext_members(const char *obj, size_t n,
		   void (*fn)(void *cls, const char *name, size_t nlen, const char *value,
			      size_t vlen),
		   void *cls)
{
	size_t i = skip_blanks(obj, n, 0);
	if (i >= n || obj[i] != '{')
		return false;
	i = skip_blanks(obj, n, i + 1);
	if (i < n && obj[i] == '}')
		return true;
	while (i < n && obj[i] == '"') {
		size_t name_end = skip_string(obj, n, i);
		if (name_end >= n)
			return false;
		size_t colon = skip_blanks(obj, n, name_end);
		if (colon >= n || obj[colon] != ':')
			return false;
		size_t v = skip_blanks(obj, n, colon + 1);
		size_t v_end = skip_value(obj, n, v);
		if (v >= n || v_end >= n || v_end == v)
			return false;
		fn(cls, obj + i + 1, name_end - i - 2, obj + v, v_end - v);
		i = skip_blanks(obj, n, v_end);
		if (i < n && obj[i] == '}')
			return true;
		if (i >= n || obj[i] != ',')
			return false;
		i = skip_blanks(obj, n, i + 1);
	}
	return false;
}

char *jtext_take(struct jtext *b)
{
	char *p = b->failed ? NULL : b->p ? b->p : strdup("");
	if (b->failed)
		free(b->p);
	memset(b, 0, sizeof *b);
	return p;
}

void jtext_clear(struct jtext *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}
