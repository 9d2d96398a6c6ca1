/*
 * err.c -- lookups into the error table of err.h and the error-record setters.
 */
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
	int status;
	const char *slug;
	const char *title;
} err_table[] = {
#define TR_ERR_ROW(name, status, slug, title) {status, slug, title},
	TR_ERRORS(TR_ERR_ROW)
#undef TR_ERR_ROW
};

static bool err_valid(enum tr_code code)
{
	return (unsigned)code < (unsigned)TR_CODE_COUNT_;
}

int tr_code_http_status(enum tr_code code)
{
	return err_valid(code) ? err_table[code].status : 500;
}

const char *tr_code_slug(enum tr_code code)
{
	return err_valid(code) ? err_table[code].slug : "internal";
}

const char *tr_code_title(enum tr_code code)
{
	return err_valid(code) ? err_table[code].title : "Internal error";
}

enum tr_code tr_error_set(struct tr_error *err, enum tr_code code, const char *field,
			  const char *fmt, ...)
{
	if (err == NULL)
		return code;
	err->code = code;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	err->rule[0] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof err->detail, fmt, ap);
	va_end(ap);
	return code;
}

void tr_error_rule(struct tr_error *err, const char *rule)
{
	if (err != NULL)
		snprintf(err->rule, sizeof err->rule, "%s", rule ? rule : "");
}
