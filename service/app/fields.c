/*
 * fields.c -- the table of client-writable record fields and their checks.
 */
#include "app/fields.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

enum ftype {
	F_TITLE,    /* non-empty string, at most 200 characters */
	F_TEXT,     /* string, at most 20000 bytes */
	F_ENUM,     /* one of `values` */
	F_NAMES,    /* array of distinct service names, 1..50 */
	F_NAME,     /* one service name */
	F_DURATION, /* ISO 8601 duration */
	F_DATETIME, /* RFC 3339 */
	F_REF,      /* one record id of kind `ref` */
	F_REFS,     /* array of distinct record ids of kind `ref` */
	F_ACTIONS,  /* array of 1..50 follow-up actions {action, owner?, problem?} */
	F_ENV,      /* an environment name: 1..64 lowercase letters, digits, - and _ */
};

struct field {
	const char *kind;
	const char *name;
	enum ftype type;
	const char *const *values; /* F_ENUM */
	const char *ref;           /* F_REF, F_REFS */
	bool create_required;
};

static const char *const change_types[] = {"standard", "normal", "emergency", NULL};
static const char *const priorities[] = {"P1", "P2", "P3", "P4", NULL};
static const char *const review_outcomes[] = {"successful", "partially_successful", "failed",
					      "rolled_back", NULL};

static const struct field fields[] = {
	{"change", "title", F_TITLE, NULL, NULL, true},
	{"change", "description", F_TEXT, NULL, NULL, false},
	{"change", "type", F_ENUM, change_types, NULL, true},
	{"change", "services", F_NAMES, NULL, NULL, false},
	{"change", "duration", F_DURATION, NULL, NULL, false},
	{"change", "not_before", F_DATETIME, NULL, NULL, false},
	{"change", "not_after", F_DATETIME, NULL, NULL, false},
	{"change", "implementation_plan", F_TEXT, NULL, NULL, false},
	{"change", "rollback_plan", F_TEXT, NULL, NULL, false},
	{"change", "test_evidence", F_TEXT, NULL, NULL, false},
	{"change", "template", F_NAME, NULL, NULL, false},
	{"change", "environment", F_ENV, NULL, NULL, false},
	/* the post-implementation review (workflows require them before close) */
	{"change", "review_outcome", F_ENUM, review_outcomes, NULL, false},
	{"change", "review_findings", F_TEXT, NULL, NULL, false},
	{"change", "follow_up_actions", F_ACTIONS, NULL, "problem", false},
	/* the incident an (emergency) change fixes: exempt from that incident's freeze */
	{"change", "fixes_incident", F_REF, NULL, "incident", false},
	{"incident", "title", F_TITLE, NULL, NULL, true},
	{"incident", "description", F_TEXT, NULL, NULL, false},
	{"incident", "service", F_NAME, NULL, NULL, false},
	{"incident", "priority", F_ENUM, priorities, NULL, false},
	{"incident", "caused_by", F_REF, NULL, "change", false},
	{"incident", "resolution", F_TEXT, NULL, NULL, false},
	{"incident", "assignment_group", F_NAME, NULL, NULL, false},
	{"problem", "title", F_TITLE, NULL, NULL, true},
	{"problem", "description", F_TEXT, NULL, NULL, false},
	{"problem", "incidents", F_REFS, NULL, "incident", false},
	{"problem", "fix_change", F_REF, NULL, "change", false},
	{"problem", "root_cause", F_TEXT, NULL, NULL, false},
	{"problem", "workaround", F_TEXT, NULL, NULL, false},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const struct field_link links_change[] = {{"fixes_incident", "fixes", "incident", false}};
static const struct field_link links_incident[] = {{"caused_by", "caused_by", "change", false}};
static const struct field_link links_problem[] = {{"incidents", "incident", "incident", true},
						  {"fix_change", "fixed_by", "change", false}};

static const struct {
	const char *kind, *prefix;
} kinds[] = {{"change", "CHG"}, {"incident", "INC"}, {"problem", "PRB"}};

bool fields_kind_valid(const char *kind)
{
	return fields_kind_prefix(kind) != NULL;
}

const char *fields_kind_prefix(const char *kind)
{
	for (size_t i = 0; kind != NULL && i < 3; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return kinds[i].prefix;
	return NULL;
}

const char *fields_kind_of_id(const char *id)
{
	for (size_t i = 0; id != NULL && i < 3; i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(id, kinds[i].prefix, n) == 0 && id[n] == '-' && id[n + 1] != '\0' &&
		    strspn(id + n + 1, "0123456789") == strlen(id + n + 1) &&
		    strlen(id + n + 1) <= 18)
			return kinds[i].kind;
	}
	return NULL;
}

const struct field_link *fields_links(const char *kind, size_t *n)
{
	if (strcmp(kind, "incident") == 0) {
		*n = 1;
		return links_incident;
	}
	if (strcmp(kind, "change") == 0) {
		*n = 1;
		return links_change;
	}
	if (strcmp(kind, "problem") == 0) {
		*n = 2;
		return links_problem;
	}
	*n = 0;
	return NULL;
}

static const struct field *find(const char *kind, const char *name)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i].kind, kind) == 0 && strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

bool fields_environment_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return false;
	return true;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* Number of UTF-8 characters in `s`. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* A 422 naming `field`: "'field' <what the formatted rest says>". */
static enum tr_code bad(struct tr_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum tr_code bad(struct tr_error *err, const char *field, const char *fmt, ...)
{
	char detail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return tr_error_set(err, TR_E_UNPROCESSABLE, field, "'%s' %s", field, detail);
}

/* Checks an array of distinct strings, each accepted by `ok` (NULL: any). */
static enum tr_code check_list(const struct field *f, json_t *v, bool (*ok)(const char *),
			       const char *what, size_t max, struct tr_error *err)
{
	size_t i;
	json_t *item;
	if (!json_is_array(v))
		return bad(err, f->name, "must be an array of %s", what);
	if (json_array_size(v) > max)
		return bad(err, f->name, "has too many entries (at most %zu)", max);
	json_array_foreach(v, i, item) {
		char field[96];
		snprintf(field, sizeof field, "%s[%zu]", f->name, i);
		if (!json_is_string(item) || (ok && !ok(json_string_value(item))))
			return bad(err, field, "must be one of the %s", what);
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_array_get(v, j), item))
				return bad(err, field, "repeats '%s'", json_string_value(item));
	}
	return TR_OK;
}

static bool is_change_id(const char *s)
{
	const char *k = fields_kind_of_id(s);
	return k != NULL && strcmp(k, "change") == 0;
}

static bool is_incident_id(const char *s)
{
	const char *k = fields_kind_of_id(s);
	return k != NULL && strcmp(k, "incident") == 0;
}

/* Follow-up actions: [{"action": text, "owner"?: name, "problem"?: "PRB-n"}], 1 to 50. */
static enum tr_code check_actions(const struct field *f, json_t *v, struct tr_error *err)
{
	size_t i;
	json_t *item;
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 50)
		return bad(err, f->name,
			   "must be an array of 1 to 50 actions {\"action\", \"owner\"?, "
			   "\"problem\"?}");
	json_array_foreach(v, i, item) {
		char field[96];
		const char *key;
		json_t *m;
		snprintf(field, sizeof field, "%s[%zu]", f->name, i);
		if (!json_is_object(item))
			return bad(err, field,
				   "must be an object {\"action\", \"owner\"?, "
				   "\"problem\"?}");
		json_object_foreach(item, key, m) {
			const char *s = json_string_value(m);
			char sub[128];
			snprintf(sub, sizeof sub, "%s.%s", field, key);
			if (strcmp(key, "action") == 0) {
				if (s == NULL || *s == '\0' || strlen(s) > 2000)
					return bad(err, sub,
						   "must be a non-empty string of at "
						   "most 2000 bytes");
			} else if (strcmp(key, "owner") == 0) {
				if (s == NULL || !name_ok(s))
					return bad(err, sub, "must be a user name");
			} else if (strcmp(key, "problem") == 0) {
				const char *k = s ? fields_kind_of_id(s) : NULL;
				if (k == NULL || strcmp(k, "problem") != 0)
					return bad(err, sub, "must be the id of a problem");
			} else {
				return bad(err, sub, "is not a member of a follow-up action");
			}
		}
		if (!json_is_string(json_object_get(item, "action"))) {
			snprintf(field + strlen(field), sizeof field - strlen(field), ".action");
			return bad(err, field, "is required");
		}
	}
	return TR_OK;
}

static enum tr_code check_value(const struct field *f, json_t *v, struct tr_error *err)
{
	const char *s = json_string_value(v);
	long long tmp;

	switch (f->type) {
	case F_TITLE:
		if (s == NULL || *s == '\0' || utf8_len(s) > 200)
			return bad(err, f->name,
				   "must be a non-empty string of at most 200 characters");
		return TR_OK;
	case F_TEXT:
		if (s == NULL || strlen(s) > 20000)
			return bad(err, f->name, "must be a string of at most 20000 bytes");
		return TR_OK;
	case F_ENUM:
		for (size_t i = 0; s != NULL && f->values[i] != NULL; i++)
			if (strcmp(s, f->values[i]) == 0)
				return TR_OK;
		{
			char list[128] = "";
			for (size_t i = 0; f->values[i] != NULL; i++)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
					 i ? ", " : "", f->values[i]);
			return bad(err, f->name, "must be one of: %s", list);
		}
	case F_NAME:
		if (s == NULL || !name_ok(s))
			return bad(err, f->name, "must be a name (letters, digits, - _ .)");
		return TR_OK;
	case F_NAMES: {
		enum tr_code rc = check_list(f, v, name_ok, "service names", 50, err);
		if (rc == TR_OK && json_array_size(v) == 0)
			return bad(err, f->name, "must name at least one service");
		return rc;
	}
	case F_DURATION:
		if (s == NULL || !time_parse_duration(s, &tmp))
			return bad(err, f->name,
				   "must be an ISO 8601 duration such as PT2H or "
				   "P1DT30M (at most 366 days)");
		return TR_OK;
	case F_DATETIME:
		if (s == NULL || !time_parse_rfc3339(s, &tmp))
			return bad(err, f->name,
				   "must be an RFC 3339 date-time such as 2026-12-05T02:00:00Z");
		return TR_OK;
	case F_REF:
		if (s == NULL || fields_kind_of_id(s) == NULL ||
		    strcmp(fields_kind_of_id(s), f->ref) != 0)
			return bad(err, f->name, "must be the id of a %s", f->ref);
		return TR_OK;
	case F_ACTIONS:
		return check_actions(f, v, err);
	case F_ENV:
		if (s == NULL || !fields_environment_ok(s))
			return bad(
				err, f->name,
				"must be an environment name (1 to 64 lowercase letters, digits, "
				"- and _), e.g. production or staging");
		return TR_OK;
	case F_REFS:
		return check_list(
			f, v, strcmp(f->ref, "change") == 0 ? is_change_id : is_incident_id,
			strcmp(f->ref, "change") == 0 ? "change ids" : "incident ids", 200, err);
	}
	return TR_E_INTERNAL;
}

enum tr_code fields_check(const char *kind, json_t *input, bool creating, struct tr_error *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(input, key, v) {
		const struct field *f = find(kind, key);
		if (f == NULL)
			return tr_error_set(err, TR_E_UNPROCESSABLE, key,
					    "'%s' is not a field clients may set on a %s", key,
					    kind);
		if (json_is_null(v)) {
			if (f->create_required)
				return tr_error_set(err, TR_E_UNPROCESSABLE, key,
						    "'%s' cannot be removed", key);
			continue;
		}
		enum tr_code rc = check_value(f, v, err);
		if (rc != TR_OK)
			return rc;
	}
	for (size_t i = 0; creating && i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		json_t *val = json_object_get(input, f->name);
		if (strcmp(f->kind, kind) == 0 && f->create_required &&
		    (val == NULL || json_is_null(val)))
			return tr_error_set(err, TR_E_UNPROCESSABLE, f->name, "'%s' is required",
					    f->name);
	}
	return TR_OK;
}

enum tr_code fields_check_record(const char *kind, json_t *record, struct tr_error *err)
{
	long long a, b;
	const char *nb = json_string_value(json_object_get(record, "not_before"));
	const char *na = json_string_value(json_object_get(record, "not_after"));
	if (strcmp(kind, "change") == 0 && nb && na && time_parse_rfc3339(nb, &a) &&
	    time_parse_rfc3339(na, &b) && a >= b)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "not_after",
				    "'not_after' (%s) must be later than 'not_before' (%s)", na,
				    nb);
	return TR_OK;
}

json_t *fields_services(const char *kind, json_t *record)
{
	if (strcmp(kind, "change") == 0) {
		json_t *s = json_object_get(record, "services");
		return json_is_array(s) ? json_incref(s) : json_array();
	}
	json_t *arr = json_array();
	json_t *one = json_object_get(record, "service");
	if (arr != NULL && json_is_string(one))
		json_array_append(arr, one);
	return arr;
}
