/*
 * utf8.h -- keeping text valid UTF-8 when it is cut to fit a fixed buffer.
 *
 * snprintf() cuts by bytes: a multi-byte character at the end of a full buffer is split,
 * and jansson (json_string, json_pack "s") refuses the whole string then.
 */
#ifndef TRANSOM_CORE_UTF8_H
#define TRANSOM_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Makes NUL-terminated `s` valid UTF-8 in place: an incomplete sequence at the very end
 * (a character cut by a byte limit) is removed, any other invalid byte becomes '?'.
 * Returns true when `s` was changed.  `s` may be NULL.  Thread-safe.
 */
bool utf8_clean(char *s);

/* Whether `s` (NUL-terminated) is valid UTF-8 (no overlongs, surrogates, > U+10FFFF). */
bool utf8_valid(const char *s);

/*
 * snprintf() into `buf` of `size` bytes, cut on a character boundary (utf8_clean()).
 * Returns true when everything fitted.  `size` 0: nothing is written, false.
 */
bool utf8_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* TRANSOM_CORE_UTF8_H */
