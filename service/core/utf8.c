/*
 * utf8.c -- valid UTF-8 after a byte-limited cut (utf8.h).
 */
#include "core/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * The length of the valid sequence at `p` (1-4), 0 when it is invalid; *partial is set
 * when the bytes present are a valid prefix cut by the end of the string.
 */
static size_t seq_len(const unsigned char *p, bool *partial)
{
	*partial = false;
	if (p[0] < 0x80)
		return 1;
	size_t n;
	unsigned min;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	unsigned cp = p[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if (p[i] == '\0') {
			*partial = true;
			return 0;
		}
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool utf8_clean(char *s)
{
	bool changed = false;
	unsigned char *p = (unsigned char *)s;
	while (p != NULL && *p != '\0') {
		bool partial;
		size_t n = seq_len(p, &partial);
		if (n > 0) {
			p += n;
		} else if (partial) {
			*p = '\0';
			return true;
		} else {
			*p++ = '?';
			changed = true;
		}
	}
	return changed;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p != '\0') {
		bool partial;
		size_t n = seq_len(p, &partial);
		if (n == 0)
			return false;
		p += n;
	}
	return true;
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
