/*
 * utf8.c -- UTF-8 validation and character-boundary cuts (utf8.h).
 */
#include "core/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * The length (1-4) of the well-formed sequence at `p`, of which `avail` bytes exist; 0
 * when it is malformed.  *cut is set when the bytes present are a valid prefix that
 * the end of the text cut short.
 */
static size_t seq_len(const unsigned char *p, size_t avail, bool *cut)
{
	*cut = false;
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xbf; /* the range of the second byte */
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	for (size_t k = 1; k < len; k++) {
		if (k >= avail) {
			*cut = true;
			return 0;
		}
		unsigned b = p[k];
		if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
			return 0;
	}
	return len;
}

bool utf8_text_ok(const char *s, size_t n, bool allow_tab)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f)
			return false;
		bool cut;
		size_t len = seq_len(p + i, n - i, &cut);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		bool cut;
		size_t len = seq_len(p + i, n - i, &cut);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

bool utf8_clean(char *s)
{
	if (s == NULL)
		return false;
	unsigned char *p = (unsigned char *)s;
	size_t n = strlen(s);
	bool changed = false;
	for (size_t i = 0; i < n;) {
		bool cut;
		size_t len = seq_len(p + i, n - i, &cut);
		if (len > 0) {
			i += len;
		} else if (cut) {
			p[i] = '\0';
			return true;
		} else {
			p[i++] = '?';
			changed = true;
		}
	}
	return changed;
}

bool utf8_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	if (size == 0)
		return false;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[0] = '\0';
		return false;
	}
	utf8_clean(buf);
	return (size_t)n < size;
}
