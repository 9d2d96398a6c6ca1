/*
 * utf8.h -- strict UTF-8 validation (pure).
 */
#ifndef TRANSOM_UTF8_H
#define TRANSOM_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when the `n` bytes at `s` are well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF) and hold no control character (U+0000..U+001F
 * and U+007F), except a horizontal tab when `allow_tab`.
 */
bool utf8_text_ok(const char *s, size_t n, bool allow_tab);

#endif /* TRANSOM_UTF8_H */
