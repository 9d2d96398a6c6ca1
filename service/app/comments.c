/*
 * comments.c -- comments on records: one "commented" audit event each (no table of their
 * own: the audit trail already is the append-only, hash-chained history of the record),
 * plus a "record.commented" live event.
 */
#include "app/comments.h"

#include <stdio.h>
#include <string.h>

#include "app/fields.h"
#include "app/records_int.h"
#include "audit/audit.h"
#include "core/timeutil.h"
#include "store/audit_log.h"
#include "store/effects.h"

struct comment_job {
	struct rec_ctx *c;
	const char *kind, *id, *text;
	struct rec_reply *out;
	struct tr_error *err;
	bool missing; /* the record does not exist (or is of another kind) */
};

static enum db_status comment_tx(struct store *st, void *cls)
{
	struct comment_job *j = cls;
	struct store_record r = {0};
	char at[TIME_RFC3339_LEN];

	rec_reply_clear(j->out);
	j->missing = false;
	enum db_status s = store_record_get(st, j->id, false, &r);
	if (s >= 0 && (s != DB_ONE || strcmp(r.kind, j->kind) != 0)) {
		j->missing = true;
		store_record_clear(&r);
		return DB_NONE;
	}
	if (s < 0) {
		store_record_clear(&r);
		return s;
	}
	time_format_ms(j->c->now_ms, at);
	struct audit_event ev = {
		at,          j->c->actor,      j->id,
		"commented", j->c->request_id, json_pack("{s:s}", "text", j->text)};
	s = ev.detail ? store_audit_append(st, &ev, 1) : DB_HARD;
	json_decref(ev.detail);
	if (s >= 0) {
		json_t *note = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "type",
					 "record.commented", "kind", r.kind, "id", r.id, "services",
					 fields_services(r.kind, r.data), "state", r.state, "actor",
					 j->c->actor, "at", at);
		s = note ? store_notify(st, note) : DB_HARD;
		json_decref(note);
	}
	if (s >= 0) {
		j->out->body = json_pack("{s:s, s:s, s:s, s:s}", "record", j->id, "user",
					 j->c->actor, "text", j->text, "at", at);
		s = j->out->body ? DB_ONE : DB_HARD;
	}
	store_record_clear(&r);
	return s;
}

enum tr_code records_comment_add(struct rec_ctx *c, const char *kind, const char *id,
				 const char *text, struct rec_reply *out, struct tr_error *err)
{
	size_t n = text ? strlen(text) : 0;
	size_t lead = text ? strspn(text, " \t\r\n") : 0;
	if (n == 0 || lead == n)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "text", "'text' must not be empty");
	if (n > COMMENT_MAX)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "text",
				    "'text' may be %d bytes at most", COMMENT_MAX);
	struct comment_job j = {c, kind, id, text, out, err, false};
	enum db_status s = store_tx(c->st, STORE_READ_COMMITTED, c->retries, comment_tx, &j);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	if (j.missing)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no %s '%s'", kind, id);
	out->outcome = REC_CREATED;
	return TR_OK;
}

enum tr_code records_comments_list(struct rec_ctx *c, const char *kind, const char *id,
				   struct rec_reply *out, struct tr_error *err)
{
	enum tr_code rc = records_history(c, kind, id, out, err);
	if (rc != TR_OK)
		return rc;
	json_t *items = json_array(), *ev;
	size_t i;
	json_array_foreach(json_object_get(out->body, "events"), i, ev) {
		if (strcmp(json_string_value(json_object_get(ev, "action")) ?: "", "commented") !=
		    0)
			continue;
		json_array_append_new(
			items, json_pack("{s:O, s:O, s:O?, s:O}", "seq", json_object_get(ev, "seq"),
					 "user", json_object_get(ev, "actor"), "text",
					 json_object_get(json_object_get(ev, "detail"), "text"),
					 "at", json_object_get(ev, "at")));
	}
	json_decref(out->body);
	out->body = json_pack("{s:s, s:o}", "id", id, "items", items);
	return out->body ? TR_OK : TR_E_NOMEM;
}
