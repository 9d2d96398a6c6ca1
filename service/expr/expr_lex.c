/*
 * expr_lex.c -- the lexer of the expression language: source text to tokens.
 *
 * Works on a NUL-terminated source, one token at a time, without allocating.  Numbers
 * and durations are converted here; strings are validated here (escapes, UTF-8) and
 * decoded later by expr_lex_string() into a buffer the parser provides.
 */
#include <ctype.h>
#include <string.h>

#include "expr/expr_internal.h"

/* Longest token text quoted back in an error message. */
#define QUOTE_MAX 40

static bool is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Bytes of the valid UTF-8 sequence at `s`, or 0 when it is not valid UTF-8. */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

static bool lex_string(struct expr_lexer *lx, struct expr_tok *tok, struct expr_error *err)
{
	const unsigned char *s = (const unsigned char *)lx->src;
	size_t i = tok->off + 1, n = 0;

	for (;;) {
		size_t k;

		if (s[i] == '\0') {
			expr_error_set(err, lx->src, tok->off, "unterminated string");
			return false;
		}
		if (s[i] == '"')
			break;
		if (s[i] == '\\') {
			if (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == 'n' ||
			    s[i + 1] == 't') {
				i += 2;
				n++;
				continue;
			}
			if (s[i + 1] == '\0') {
				expr_error_set(err, lx->src, tok->off, "unterminated string");
				return false;
			}
			if (isprint(s[i + 1]) && s[i + 1] < 0x80)
				expr_error_set(err, lx->src, i, "invalid escape '\\%c'", s[i + 1]);
			else
				expr_error_set(err, lx->src, i, "invalid escape");
			return false;
		}
		k = utf8_seq_len(s + i);
		if (k == 0) {
			expr_error_set(err, lx->src, i, "invalid utf-8 in string");
			return false;
		}
		i += k;
		n += k;
	}
	tok->kind = EXPR_T_STRING;
	tok->len = i + 1 - tok->off;
	tok->slen = n;
	return true;
}

void expr_lex_string(const char *src, const struct expr_tok *tok, char *out)
{
	const char *s = src + tok->off + 1, *end = src + tok->off + tok->len - 1;
	size_t n = 0;

	while (s < end) {
		if (*s == '\\') {
			char c = s[1];

			out[n++] = c == 'n' ? '\n' : c == 't' ? '\t' : c;
			s += 2;
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
}

/* Seconds per duration unit, or 0 for a letter that is not one. */
static json_int_t unit_seconds(char u)
{
	switch (u) {
	case 'w':
		return 7 * 86400;
	case 'd':
		return 86400;
	case 'h':
		return 3600;
	case 'm':
		return 60;
	case 's':
		return 1;
	default:
		return 0;
	}
}

/*
 * Parses the duration spelled by src[off, off+len): one or more <digits><unit> with
 * units in strictly decreasing order (1w2d3h4m5s).
 */
static bool parse_duration(const char *src, size_t off, size_t len, struct expr_tok *tok,
			   struct expr_error *err)
{
	const char *s = src + off, *end = src + off + len;
	json_int_t total = 0, last_unit = 0;

	while (s < end) {
		json_int_t n = 0, unit, part;

		if (!is_digit(*s))
			goto bad;
		while (s < end && is_digit(*s)) {
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, *s - '0', &n))
				goto range;
			s++;
		}
		if (s == end)
			goto bad;
		unit = unit_seconds(*s++);
		if (unit == 0 || (last_unit != 0 && unit >= last_unit))
			goto bad;
		last_unit = unit;
		if (__builtin_mul_overflow(n, unit, &part) ||
		    __builtin_add_overflow(total, part, &total))
			goto range;
	}
	tok->kind = EXPR_T_DURATION;
	tok->ival = total;
	return true;
bad:
	expr_error_set(err, src, off, "invalid duration '%.*s'",
		       (int)(len > QUOTE_MAX ? QUOTE_MAX : len), src + off);
	return false;
range:
	expr_error_set(err, src, off, "duration out of range");
	return false;
}

/* A number: 12, 1.5, or a duration 1h30m. */
static bool lex_number(struct expr_lexer *lx, struct expr_tok *tok, struct expr_error *err)
{
	const char *src = lx->src;
	size_t i = tok->off;
	json_int_t n = 0;
	bool overflow = false;

	while (is_digit(src[i])) {
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, src[i] - '0', &n))
			overflow = true;
		i++;
	}
	if (is_ident_start(src[i])) {
		while (is_ident_char(src[i]))
			i++;
		tok->len = i - tok->off;
		return parse_duration(src, tok->off, tok->len, tok, err);
	}
	if (src[i] == '.') {
		json_t *v;
		json_error_t jerr;
		size_t start = tok->off;

		i++;
		if (!is_digit(src[i]))
			goto bad;
		while (is_digit(src[i]))
			i++;
		if (is_ident_char(src[i]) || src[i] == '.')
			goto bad;
		tok->len = i - tok->off;
		/* jansson converts independently of the locale, but takes no leading zeros. */
		while (src[start] == '0' && is_digit(src[start + 1]))
			start++;
		v = json_loadb(src + start, i - start, JSON_DECODE_ANY, &jerr);
		if (v == NULL) {
			/* The text is valid JSON; jansson fails on overflow or out of memory. */
			if (json_error_code(&jerr) == json_error_numeric_overflow)
				expr_error_set(err, src, tok->off, "number out of range");
			else
				expr_error_set(err, NULL, EXPR_NO_POS, "out of memory");
			return false;
		}
		tok->kind = EXPR_T_REAL;
		tok->rval = json_number_value(v);
		json_decref(v);
		return true;
	}
	tok->len = i - tok->off;
	if (overflow) {
		expr_error_set(err, src, tok->off, "integer out of range");
		return false;
	}
	tok->kind = EXPR_T_INT;
	tok->ival = n;
	return true;
bad:
	while (is_ident_char(src[i]) || src[i] == '.')
		i++;
	expr_error_set(err, src, tok->off, "invalid number '%.*s'",
		       (int)(i - tok->off > QUOTE_MAX ? QUOTE_MAX : i - tok->off), src + tok->off);
	return false;
}

/* A keyword, or a field path: identifiers joined by dots, no spaces. */
static bool lex_word(struct expr_lexer *lx, struct expr_tok *tok, struct expr_error *err)
{
	static const struct {
		const char *word;
		enum expr_tok_kind kind;
	} keywords[] = {
		{"true", EXPR_T_TRUE}, {"false", EXPR_T_FALSE}, {"null", EXPR_T_NULL},
		{"in", EXPR_T_IN},     {"not", EXPR_T_NOT},
	};
	const char *src = lx->src;
	size_t i = tok->off;

	while (is_ident_char(src[i]))
		i++;
	for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
		if (strlen(keywords[k].word) == i - tok->off &&
		    memcmp(keywords[k].word, src + tok->off, i - tok->off) == 0) {
			tok->kind = keywords[k].kind;
			tok->len = i - tok->off;
			return true;
		}
	}
	while (src[i] == '.') {
		if (!is_ident_start(src[i + 1])) {
			expr_error_set(err, src, i + 1, "expected a field name after '.'");
			return false;
		}
		i++;
		while (is_ident_char(src[i]))
			i++;
	}
	tok->kind = EXPR_T_PATH;
	tok->len = i - tok->off;
	return true;
}

bool expr_lex_next(struct expr_lexer *lx, struct expr_tok *tok, struct expr_error *err)
{
	static const struct {
		char text[3];
		enum expr_tok_kind kind;
	} ops[] = {
		/* two-byte operators first */
		{"||", EXPR_T_OR},      {"&&", EXPR_T_AND},     {"==", EXPR_T_EQ},
		{"!=", EXPR_T_NE},      {"<=", EXPR_T_LE},      {">=", EXPR_T_GE},
		{"<", EXPR_T_LT},       {">", EXPR_T_GT},       {"!", EXPR_T_BANG},
		{"+", EXPR_T_PLUS},     {"-", EXPR_T_MINUS},    {"*", EXPR_T_STAR},
		{"/", EXPR_T_SLASH},    {"(", EXPR_T_LPAREN},   {")", EXPR_T_RPAREN},
		{"[", EXPR_T_LBRACKET}, {"]", EXPR_T_RBRACKET}, {",", EXPR_T_COMMA},
	};
	const char *src = lx->src;
	unsigned char c;

	while (src[lx->pos] == ' ' || src[lx->pos] == '\t' || src[lx->pos] == '\n' ||
	       src[lx->pos] == '\r')
		lx->pos++;
	memset(tok, 0, sizeof *tok);
	tok->off = lx->pos;
	c = (unsigned char)src[lx->pos];
	if (c == '\0') {
		tok->kind = EXPR_T_END;
	} else if (c == '"') {
		if (!lex_string(lx, tok, err))
			return false;
	} else if (is_digit(c)) {
		if (!lex_number(lx, tok, err))
			return false;
	} else if (is_ident_start(c)) {
		if (!lex_word(lx, tok, err))
			return false;
	} else {
		size_t k, n = sizeof ops / sizeof ops[0];

		for (k = 0; k < n; k++) {
			size_t len = strlen(ops[k].text);

			if (strncmp(src + lx->pos, ops[k].text, len) == 0) {
				tok->kind = ops[k].kind;
				tok->len = len;
				break;
			}
		}
		if (k == n) {
			if (c == '=' || c == '&' || c == '|')
				expr_error_set(err, src, lx->pos,
					       "unexpected '%c', did you mean '%c%c'?", c, c, c);
			else if (c >= 0x20 && c < 0x7F)
				expr_error_set(err, src, lx->pos, "unexpected character '%c'", c);
			else
				expr_error_set(err, src, lx->pos, "unexpected byte 0x%02x", c);
			return false;
		}
	}
	lx->pos = tok->off + tok->len;
	return true;
}
