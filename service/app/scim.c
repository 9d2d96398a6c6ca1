/*
 * scim.c -- the use cases behind SCIM provisioning (see scim.h): users listed, read,
 * created, changed, disabled and enabled through the same use cases as /v1/users, each
 * write audited; the policy groups read with their members.
 */
#include "app/scim.h"

#include <stdlib.h>
#include <string.h>

#include "app/tokens.h"
#include "config/config.h"
#include "defs/defs.h"
#include "policy/policy.h"
#include "store/oidc_logins.h"
#include "store/tokens.h"

void app_scim_page_free(struct app_scim_page *p)
{
	if (p == NULL)
		return;
	free(p->items);
	p->items = NULL;
	p->n = 0;
}

static void user_from_row(struct app_scim_user *u, const struct store_user_row *r)
{
	memcpy(u->name, r->name, sizeof u->name);
	memcpy(u->email, r->email, sizeof u->email);
	memcpy(u->display_name, r->display_name, sizeof u->display_name);
	u->active = r->active;
	memcpy(u->created, r->created_at, sizeof u->created);
}

enum tr_code app_scim_users_list(struct app_session *s, const struct app_actor *who,
				 const char *user_name_eq, long start, long count,
				 struct app_scim_page *out, struct tr_error *err)
{
	memset(out, 0, sizeof *out);
	if (start < 1)
		start = 1;
	if (count < 0)
		count = 0;
	if (count > APP_SCIM_PAGE_MAX)
		count = APP_SCIM_PAGE_MAX;
	struct store_user_row *rows = NULL;
	size_t n = 0;
	long total = 0;
	enum db_status st =
		store_users_page(s->store, user_name_eq, start - 1, count, &total, &rows, &n);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	out->items = calloc(n > 0 ? n : 1, sizeof *out->items);
	if (out->items == NULL) {
		free(rows);
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		user_from_row(&out->items[i], &rows[i]);
	free(rows);
	out->n = n;
	out->total = total;
	out->start = start;
	return TR_OK;
}

enum tr_code app_scim_user_get(struct app_session *s, const struct app_actor *who, const char *id,
			       struct app_scim_user *out, struct tr_error *err)
{
	struct store_user_row r;
	memset(out, 0, sizeof *out);
	if (!app_user_name_valid(id))
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no user '%s'", id);
	enum db_status st = store_user_get(s->store, id, &r);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no user '%s'", id);
	user_from_row(out, &r);
	return TR_OK;
}

/* 400 scim_invalid_value naming `field`. */
static enum tr_code invalid_value(struct tr_error *err, const char *field, const char *why)
{
	tr_error_set(err, TR_E_BAD_REQUEST, field, "%s", why);
	tr_error_rule(err, TR_R_SCIM_INVALID_VALUE);
	return TR_E_BAD_REQUEST;
}

/* The lengths of `w`'s texts: TR_OK, or 400 scim_invalid_value. */
static enum tr_code check_texts(const struct app_scim_user_write *w, struct tr_error *err)
{
	if (w->set_display_name && w->display_name && strlen(w->display_name) > APP_SCIM_TEXT_MAX)
		return invalid_value(err, "displayName", "displayName may be 255 bytes at most");
	if (w->set_email && w->email && strlen(w->email) > APP_SCIM_TEXT_MAX)
		return invalid_value(err, "emails", "an e-mail address may be 255 bytes at most");
	return TR_OK;
}

/* "" as NULL: SCIM clears an attribute either way. */
static const char *text_or_null(const char *t)
{
	return t != NULL && t[0] != '\0' ? t : NULL;
}

/* A create or an update of the users row, and its audit event, in one transaction. */
struct write_job {
	const struct app_actor *who;
	const char *name;
	const struct app_scim_user_write *w;
	bool create;
	json_t *changed; /* update: {"display_name": ..., "email": ...} of what changes */
};

static enum db_status write_tx(struct store *st, void *cls)
{
	struct write_job *j = cls;
	const char *email = text_or_null(j->w->email), *dn = text_or_null(j->w->display_name);
	enum db_status s;
	json_t *detail;
	if (j->create) {
		s = store_user_insert(st, j->name, j->w->set_email ? email : NULL,
				      j->w->set_display_name ? dn : NULL);
		if (s != DB_ONE)
			return s;
		detail = json_pack("{s:s, s:s, s:s?, s:s?}", "user", j->name, "via", "scim",
				   "email", j->w->set_email ? email : NULL, "display_name",
				   j->w->set_display_name ? dn : NULL);
		s = app_user_audit(st, j->who, "user.created", detail);
	} else {
		bool set_email = json_object_get(j->changed, "email") != NULL,
		     set_dn = json_object_get(j->changed, "display_name") != NULL;
		s = store_user_update(st, j->name, set_email, email, set_dn, dn);
		if (s != DB_ONE)
			return s;
		detail = json_pack("{s:s, s:s, s:O}", "user", j->name, "via", "scim", "changed",
				   j->changed);
		s = app_user_audit(st, j->who, "user.updated", detail);
	}
	return s < 0 ? s : DB_ONE;
}

enum tr_code app_scim_user_create(struct app_session *s, const struct app_actor *who,
				  const struct app_scim_user_write *w, struct app_scim_user *out,
				  struct tr_error *err)
{
	const char *name = w->user_name;
	if (name == NULL || name[0] == '\0')
		return invalid_value(err, "userName", "userName is required");
	if (!app_user_name_valid(name) || strcmp(name, "system") == 0) {
		tr_error_set(
			err, TR_E_BAD_REQUEST, "userName",
			"userName '%.128s' is not a Transom user name (1-128 of A-Z a-z 0-9 . _ "
			"@ + -, and not \"system\")",
			name);
		tr_error_rule(err, TR_R_SCIM_INVALID_VALUE);
		return TR_E_BAD_REQUEST;
	}
	enum tr_code rc = check_texts(w, err);
	if (rc != TR_OK)
		return rc;
	struct write_job j = {who, name, w, true, NULL};
	enum db_status st =
		store_tx(s->store, STORE_READ_COMMITTED, s->app->cfg->db_retries, write_tx, &j);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_NONE) {
		tr_error_set(err, TR_E_CONFLICT, "userName", "user '%s' exists already", name);
		tr_error_rule(err, TR_R_SCIM_UNIQUENESS);
		return TR_E_CONFLICT;
	}
	if (w->set_active && !w->active) {
		struct app_revoked r;
		rc = app_user_disable_via(s, who, name, "scim", &r, err);
		if (rc != TR_OK)
			return rc;
	}
	return app_scim_user_get(s, who, name, out, err);
}

/* What `w` changes of `cur`: an owned object of the new values (null: cleared). */
static json_t *changes_of(const struct app_scim_user_write *w, const struct store_user_row *cur)
{
	json_t *c = json_object();
	const char *email = text_or_null(w->email), *dn = text_or_null(w->display_name);
	if (c != NULL && w->set_email && strcmp(email ? email : "", cur->email) != 0)
		json_object_set_new(c, "email", email ? json_string(email) : json_null());
	if (c != NULL && w->set_display_name && strcmp(dn ? dn : "", cur->display_name) != 0)
		json_object_set_new(c, "display_name", dn ? json_string(dn) : json_null());
	return c;
}

enum tr_code app_scim_user_update(struct app_session *s, const struct app_actor *who,
				  const char *id, const struct app_scim_user_write *w,
				  struct app_scim_user *out, struct tr_error *err)
{
	struct store_user_row cur;
	if (!app_user_name_valid(id))
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no user '%s'", id);
	if (w->user_name != NULL && strcmp(w->user_name, id) != 0) {
		tr_error_set(
			err, TR_E_BAD_REQUEST, "userName",
			"userName cannot change (it is the id, '%s', and the audit trail's name "
			"for the user)",
			id);
		tr_error_rule(err, TR_R_SCIM_MUTABILITY);
		return TR_E_BAD_REQUEST;
	}
	enum tr_code rc = check_texts(w, err);
	if (rc != TR_OK)
		return rc;
	enum db_status st = store_user_get(s->store, id, &cur);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no user '%s'", id);
	/* The state first: a refused disable (yourself) changes nothing else. */
	if (w->set_active && w->active != cur.active) {
		struct app_revoked r;
		rc = w->active ? app_user_enable_via(s, who, id, "scim", err)
			       : app_user_disable_via(s, who, id, "scim", &r, err);
		if (rc != TR_OK)
			return rc;
	}
	json_t *changed = changes_of(w, &cur);
	if (changed == NULL)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	if (json_object_size(changed) > 0) {
		struct write_job j = {who, id, w, false, changed};
		st = store_tx(s->store, STORE_READ_COMMITTED, s->app->cfg->db_retries, write_tx,
			      &j);
		json_decref(changed);
		if (st < 0)
			return app_session_error(s, st, who->request_id, err);
		if (st == DB_NONE)
			return tr_error_set(err, TR_E_NOT_FOUND, "id", "no user '%s'", id);
	} else {
		json_decref(changed);
	}
	return app_scim_user_get(s, who, id, out, err);
}

enum tr_code app_scim_user_delete(struct app_session *s, const struct app_actor *who,
				  const char *id, struct tr_error *err)
{
	struct app_scim_user_write w = {.set_active = true, .active = false};
	struct app_scim_user u;
	return app_scim_user_update(s, who, id, &w, &u, err);
}

/* ---- groups ----------------------------------------------------------------------------- */

void app_scim_groups_free(struct app_scim_groups *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++)
		json_decref(g->items[i].members);
	free(g->items);
	defs_release(g->defs);
	memset(g, 0, sizeof *g);
}

static int by_string(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

/* `group`'s members: people.json's and the claims', sorted, each once (owned), or NULL. */
static json_t *members_of(struct app_session *s, const struct policy_group *group,
			  enum db_status *st)
{
	json_t *claims = NULL;
	*st = store_claim_group_members(s->store, group->name, &claims);
	if (*st < 0)
		return NULL;
	size_t n = group->n_members + json_array_size(claims);
	json_t **v = calloc(n > 0 ? n : 1, sizeof *v);
	json_t *out = v != NULL ? json_array() : NULL;
	size_t k = 0;
	for (size_t i = 0; v != NULL && i < group->n_members; i++)
		v[k++] = json_string(group->members[i]);
	for (size_t i = 0; v != NULL && i < json_array_size(claims); i++)
		v[k++] = json_incref(json_array_get(claims, i));
	json_decref(claims);
	bool ok = out != NULL;
	for (size_t i = 0; i < k; i++)
		ok = ok && v[i] != NULL;
	if (ok)
		qsort(v, k, sizeof *v, by_string);
	for (size_t i = 0; i < k; i++) {
		if (ok && (i == 0 || strcmp(json_string_value(v[i]), json_string_value(v[i - 1]))))
			ok = json_array_append(out, v[i]) == 0;
		json_decref(v[i]);
	}
	free(v);
	if (!ok) {
		json_decref(out);
		*st = DB_HARD;
		return NULL;
	}
	return out;
}

enum tr_code app_scim_groups_list(struct app_session *s, const struct app_actor *who,
				  const char *name_eq, struct app_scim_groups *out,
				  struct tr_error *err)
{
	memset(out, 0, sizeof *out);
	struct defs *d = app_session_defs(s);
	if (d == NULL || d->policies == NULL)
		return tr_error_set(err, TR_E_NOT_READY, NULL, "no policies are loaded");
	out->defs = defs_ref(d);
	size_t n = policy_group_count(d->policies);
	out->items = calloc(n > 0 ? n : 1, sizeof *out->items);
	if (out->items == NULL) {
		app_scim_groups_free(out);
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const struct policy_group *g = policy_group_at(d->policies, i);
		if (name_eq != NULL && strcmp(g->name, name_eq) != 0)
			continue;
		enum db_status st;
		json_t *members = members_of(s, g, &st);
		if (members == NULL) {
			app_scim_groups_free(out);
			return app_session_error(s, st, who->request_id, err);
		}
		out->items[out->n++] = (struct app_scim_group){g->name, g->description, members};
	}
	return TR_OK;
}
