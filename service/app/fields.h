/*
 * fields.h -- what clients may write into a record, and how each field is checked.
 * Pure: the checks that need the database (referenced records exist) or the catalog
 * (service names) are returned as lists for the caller to run.
 */
#ifndef TRANSOM_RECORD_FIELDS_H
#define TRANSOM_RECORD_FIELDS_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

/* One field that references other records, for link upkeep and existence checks. */
struct field_link {
	const char *field;  /* "caused_by" */
	const char *rel;    /* the record_links relation, "caused_by" */
	const char *target; /* kind of the referenced records, "change" */
	bool many;          /* an array of ids rather than one id */
};

/* Is `kind` one of change, incident, problem? */
bool fields_kind_valid(const char *kind);

/* The id prefix of `kind` ("CHG"), or NULL. */
const char *fields_kind_prefix(const char *kind);

/* The kind of an id by its prefix ("INC-4" -> "incident"), or NULL. */
const char *fields_kind_of_id(const char *id);

/* Whether `s` is an environment name: 1..64 lowercase letters, digits, '-' and '_'. */
bool fields_environment_ok(const char *s);

/*
 * Checks every member of `input` (an object): the field exists for `kind`, clients may
 * write it, and its value has the right shape.  With `creating`, the fields a new
 * record needs must be there (title, and a change's type).  Returns TR_OK, or
 * TR_E_UNPROCESSABLE naming the field.  A null value (merge-patch removal) passes for
 * optional fields.
 */
enum tr_code fields_check(const char *kind, json_t *input, bool creating, struct tr_error *err);

/*
 * Cross-field rules on the merged record (e.g. not_before before not_after).  TR_OK or
 * TR_E_UNPROCESSABLE naming the field.
 */
enum tr_code fields_check_record(const char *kind, json_t *record, struct tr_error *err);

/* The link fields of `kind`: *n receives their number. */
const struct field_link *fields_links(const char *kind, size_t *n);

/*
 * The service names `record` refers to (a change's services, an incident's service), as
 * a borrowed-or-new array: always an owned reference (decref it).
 */
json_t *fields_services(const char *kind, json_t *record);

#endif /* TRANSOM_RECORD_FIELDS_H */
