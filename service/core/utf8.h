/*
 * utf8.h -- UTF-8 text: strict validation of what clients send, and keeping text valid
 * when it is cut to fit a fixed buffer (pure).
 *
 * snprintf() cuts by bytes: a multi-byte character at the end of a full buffer is split,
 * and jansson (json_string, json_pack "s") refuses the whole string then.
 */
#ifndef TRANSOM_CORE_UTF8_H
#define TRANSOM_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when the `n` bytes at `s` are well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF) and hold no control character (U+0000..U+001F
 * and U+007F), except a horizontal tab when `allow_tab`.
 */
bool utf8_text_ok(const char *s, size_t n, bool allow_tab);

/* Whether `s` (NUL-terminated) is well-formed UTF-8; control characters are allowed. */
bool utf8_valid(const char *s);

/*
 * Makes NUL-terminated `s` valid UTF-8 in place: an incomplete sequence at the very end
 * (a character cut by a byte limit) is removed, any other invalid byte becomes '?'.
 * Returns true when `s` was changed.  `s` may be NULL.  Thread-safe.
 */
bool utf8_clean(char *s);

/*
 * snprintf() into `buf` of `size` bytes, cut on a character boundary (utf8_clean()).
 * Returns true when everything fitted.  `size` 0: nothing is written, false.
 */
bool utf8_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* TRANSOM_CORE_UTF8_H */
