/*
 * suspects.c -- the suspect changes of an incident (suspects.h): the store lists the
 * changes begun in the window on related services, the policy (pure) ranks them and says
 * why; confirming one is an edit of the incident's caused_by.
 */
#include "app/suspects.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "defs/defs.h"
#include "policy/incidents.h"
#include "app/records_int.h"
#include "store/records.h"

/* What became of a change, in the words of the ranking (policy/incidents.h). */
static const char *outcome_of(json_t *row)
{
	const char *state = json_string_value(json_object_get(row, "state")) ?: "";
	const char *result = json_string_value(json_object_get(row, "result"));
	const char *review = json_string_value(json_object_get(row, "review_outcome"));
	if (review != NULL && strcmp(review, "rolled_back") == 0)
		return "rolled_back";
	if (strcmp(state, "failed") == 0 || (result && strcmp(result, "failed") == 0) ||
	    (review && strcmp(review, "failed") == 0))
		return "failed";
	if (strcmp(state, "implementing") == 0)
		return "in_progress";
	if ((result && strcmp(result, "successful") == 0) ||
	    (review &&
	     (strcmp(review, "successful") == 0 || strcmp(review, "partially_successful") == 0)))
		return "succeeded";
	return "unknown";
}

enum tr_code records_suspects(struct rec_ctx *c, const char *id, struct rec_reply *out,
			      struct tr_error *err)
{
	struct store_record r = {0};
	enum db_status s = store_record_get(c->st, id, false, &r);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	if (s == DB_NONE || strcmp(r.kind, "incident") != 0) {
		store_record_clear(&r);
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no incident '%s'", id);
	}
	const struct policy_incidents *p = defs_incidents(c->defs);
	const char *service = json_string_value(json_object_get(r.data, "service"));
	const char *caused_by = json_string_value(json_object_get(r.data, "caused_by"));
	long long at_ms = r.created_ms, from_ms = at_ms - p->window_ms;
	char at[TIME_RFC3339_LEN], from[TIME_RFC3339_LEN];
	time_format_ms(at_ms, at);
	time_format_ms(from_ms, from);
	json_t *ranked = NULL, *rows = NULL;
	if (service != NULL) {
		json_t *services = policy_suspect_services(p, c->defs->catalog, service);
		s = services ? store_change_suspects(c->st, services, from_ms, at_ms, &rows)
			     : DB_HARD;
		json_decref(services);
		if (s < 0) {
			store_record_clear(&r);
			return rec_db_error(err, s, c->st);
		}
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row)
			json_object_set_new(row, "outcome", json_string(outcome_of(row)));
		ranked = policy_suspects_rank(p, c->defs->catalog, service, at_ms, rows);
		json_decref(rows);
	} else {
		ranked = json_array();
	}
	size_t i;
	json_t *item;
	json_array_foreach(ranked, i, item) {
		const char *cid = json_string_value(json_object_get(item, "change"));
		json_object_set_new(item, "confirmed",
				    json_boolean(caused_by && cid && strcmp(caused_by, cid) == 0));
	}
	out->body = ranked ? json_pack("{s:s, s:s?, s:s, s:{s:s, s:s}, s:s?, s:o}", "incident", id,
				       "service", service, "at", at, "window", "from", from, "to",
				       at, "caused_by", caused_by, "suspects", ranked)
			   : NULL;
	store_record_clear(&r);
	return out->body ? TR_OK : TR_E_NOMEM;
}

enum tr_code records_suspect_confirm(struct rec_ctx *c, const char *id, const char *change,
				     const struct rec_versions *expect, struct rec_reply *out,
				     struct tr_error *err)
{
	struct rec_versions any = {.any = true};
	json_t *patch = json_pack("{s:s}", "caused_by", change);
	if (patch == NULL)
		return TR_E_NOMEM;
	enum tr_code rc = records_patch(c, "incident", id, expect ? expect : &any, patch, out, err);
	json_decref(patch);
	return rc;
}
