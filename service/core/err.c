/*
 * err.c -- lookups into the error table of err.h and the error-record setters.
 */
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
	int status;
	const char *slug;
	const char *code;
	const char *title;
	const char *meaning;
	const char *name; /* the enum's: "TR_R_" starts a rule */
} err_table[] = {
#define TR_ERR_ROW(name, status, slug, code, title, meaning)                                       \
	{status, slug, code, title, meaning, #name},
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

const char *tr_code_name(enum tr_code code)
{
	return err_valid(code) ? err_table[code].code : "INTERNAL";
}

const char *tr_code_meaning(enum tr_code code)
{
	return err_valid(code) ? err_table[code].meaning : "";
}

bool tr_code_is_rule(enum tr_code code)
{
	return err_valid(code) && strncmp(err_table[code].name, "TR_R_", 5) == 0;
}

enum tr_code tr_code_of_rule(const char *rule)
{
	for (int c = 0; rule != NULL && c < TR_CODE_COUNT_; c++)
		if (tr_code_is_rule((enum tr_code)c) && strcmp(err_table[c].slug, rule) == 0)
			return (enum tr_code)c;
	return TR_OK;
}

enum tr_code tr_error_public_code(const struct tr_error *err)
{
	return tr_code_is_rule(err->rule_code) ? err->rule_code : err->code;
}

enum tr_code tr_error_set(struct tr_error *err, enum tr_code code, const char *field,
			  const char *fmt, ...)
{
	if (err == NULL)
		return code;
	err->code = code;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	err->rule[0] = '\0';
	err->rule_code = TR_OK;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof err->detail, fmt, ap);
	va_end(ap);
	return code;
}

void tr_error_rule_as(struct tr_error *err, enum tr_code rule, const char *id)
{
	if (err == NULL)
		return;
	if (!tr_code_is_rule(rule)) {
		err->rule_code = TR_OK;
		err->rule[0] = '\0';
		return;
	}
	err->rule_code = rule;
	snprintf(err->rule, sizeof err->rule, "%s", id != NULL ? id : err_table[rule].slug);
}

void tr_error_rule(struct tr_error *err, enum tr_code rule)
{
	tr_error_rule_as(err, rule, NULL);
}
