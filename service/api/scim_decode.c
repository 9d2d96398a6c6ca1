/*
 * scim_decode.c -- SCIM requests decoded (see scim_decode.h): filters, User resources and
 * PatchOp bodies into struct app_scim_user_write, each refusal a registered TR_R_SCIM_*
 * rule naming the field.
 */
#include "api/scim_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/jspec.h"

#define SCIM_USER  "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_PATCH "urn:ietf:params:scim:api:messages:2.0:PatchOp"

enum tr_code scim_refuse(struct tr_error *err, enum tr_code rule, const char *field,
			 const char *detail)
{
	enum tr_code cls = rule == TR_R_SCIM_UNIQUENESS ? TR_E_CONFLICT : TR_E_BAD_REQUEST;
	tr_error_set(err, cls, field, "%s", detail);
	tr_error_rule(err, rule);
	return cls;
}

/* `name` without the core User schema's URN prefix (attribute names may carry it). */
static const char *attr_name(const char *name)
{
	size_t n = strlen(SCIM_USER ":");
	return strncasecmp(name, SCIM_USER ":", n) == 0 ? name + n : name;
}

/*
 * A SCIM filter `attr eq "value"` on attribute `attr` (case-insensitive, the core schema's
 * URN prefix allowed) into `value` (valuelen bytes).  TR_OK, or 400 invalidFilter.
 */
enum tr_code scim_filter_parse(const char *filter, const char *attr, char *value, size_t valuelen,
			       struct tr_error *err)
{
	char detail[300];
	const char *p = filter;
	while (*p == ' ')
		p++;
	size_t an = strcspn(p, " ");
	const char *a = p;
	p += an;
	while (*p == ' ')
		p++;
	bool ok = strncasecmp(p, "eq ", 3) == 0;
	json_t *v = NULL;
	if (ok) {
		char name[160];
		snprintf(name, sizeof name, "%.*s", (int)(an < 150 ? an : 150), a);
		ok = strcasecmp(attr_name(name), attr) == 0;
		p += 3;
		v = ok ? json_loads(p, JSON_DECODE_ANY, NULL) : NULL;
		ok = json_is_string(v) && strlen(json_string_value(v)) < valuelen;
	}
	if (ok)
		snprintf(value, valuelen, "%s", json_string_value(v));
	json_decref(v);
	if (ok)
		return TR_OK;
	snprintf(detail, sizeof detail, "filter not supported: only '%s eq \"...\"' is", attr);
	return scim_refuse(err, TR_R_SCIM_INVALID_FILTER, "filter", detail);
}

/* `v` as SCIM's boolean `active`: true/false, or Entra ID's "True"/"False" strings. */
static enum tr_code decode_active(struct tr_error *err, json_t *v, bool *out)
{
	const char *t = json_string_value(v);
	if (json_is_boolean(v))
		*out = json_is_true(v);
	else if (t != NULL && strcasecmp(t, "true") == 0)
		*out = true;
	else if (t != NULL && strcasecmp(t, "false") == 0)
		*out = false;
	else
		return scim_refuse(err, TR_R_SCIM_INVALID_VALUE, "active",
				   "active must be true or false");
	return TR_OK;
}

/* The address of `emails` (an array: the primary one, else the first; NULL when empty). */
static enum tr_code decode_emails(struct tr_error *err, json_t *emails, const char **out)
{
	json_t *pick = NULL, *e;
	size_t i;
	if (!json_is_array(emails))
		return scim_refuse(err, TR_R_SCIM_INVALID_VALUE, "emails",
				   "emails must be an array of {\"value\": ...}");
	json_array_foreach(emails, i, e) {
		if (!json_is_object(e) || !json_is_string(json_object_get(e, "value")))
			return scim_refuse(err, TR_R_SCIM_INVALID_VALUE, "emails",
					   "each of emails must be an object with a string value");
		if (pick == NULL || json_is_true(json_object_get(e, "primary")))
			if (pick == NULL || !json_is_true(json_object_get(pick, "primary")))
				pick = e;
	}
	*out = pick ? json_string_value(json_object_get(pick, "value")) : NULL;
	return TR_OK;
}

/* The display name `name` (a SCIM name object) gives: formatted, else given + family. */
static enum tr_code decode_name(struct tr_error *err, json_t *name, struct scim_name_buf *buf,
				const char **out)
{
	if (!json_is_object(name))
		return scim_refuse(err, TR_R_SCIM_INVALID_VALUE, "name", "name must be an object");
	const char *f = json_string_value(json_object_get(name, "formatted"));
	const char *g = json_string_value(json_object_get(name, "givenName"));
	const char *l = json_string_value(json_object_get(name, "familyName"));
	if (f != NULL) {
		*out = f;
	} else if (g != NULL || l != NULL) {
		snprintf(buf->text, sizeof buf->text, "%s%s%s", g ? g : "", g && l ? " " : "",
			 l ? l : "");
		*out = buf->text;
	}
	return TR_OK;
}

/*
 * A User resource (POST, PUT) into `w`.  `replace`: attributes left out are cleared
 * (display name, e-mail); `active` left out stays as it is.
 */
enum tr_code scim_user_decode(json_t *body, bool replace, struct app_scim_user_write *w,
			      struct scim_name_buf *buf, struct tr_error *err)
{
	const char *user_name = NULL, *display = NULL, *external = NULL;
	json_t *name = NULL, *emails = NULL, *active = NULL, *schemas = NULL;
	const struct jspec spec[] = {
		{"userName", JSPEC_STRING, !replace, &user_name},
		{"displayName", JSPEC_STRING, false, &display},
		{"name", JSPEC_OBJECT, false, &name},
		{"emails", JSPEC_ANY, false, &emails},
		{"active", JSPEC_ANY, false, &active},
		{"externalId", JSPEC_STRING, false, &external},
		{"schemas", JSPEC_STRING_ARRAY, false, &schemas},
		JSPEC_END,
	};
	memset(w, 0, sizeof *w);
	if (jspec_parse(body, spec, false, err) != TR_OK) {
		char field[128], detail[512];
		snprintf(field, sizeof field, "%s", err->field);
		snprintf(detail, sizeof detail, "%s", err->detail);
		return scim_refuse(err, TR_R_SCIM_INVALID_VALUE, field, detail);
	}
	w->user_name = user_name;
	w->set_display_name = replace || display != NULL || name != NULL;
	w->display_name = display;
	if (display == NULL && name != NULL &&
	    decode_name(err, name, buf, &w->display_name) != TR_OK)
		return TR_E_BAD_REQUEST;
	w->set_email = replace || emails != NULL;
	if (emails != NULL && !json_is_null(emails) &&
	    decode_emails(err, emails, &w->email) != TR_OK)
		return TR_E_BAD_REQUEST;
	w->set_active = active != NULL && !json_is_null(active);
	if (w->set_active && decode_active(err, active, &w->active) != TR_OK)
		return TR_E_BAD_REQUEST;
	return TR_OK;
}

/* One attribute of a PATCH (`path`, core URN prefix removed) set to `value` (NULL: removed). */
static enum tr_code patch_attr(struct tr_error *err, const char *id, const char *path,
			       json_t *value, struct app_scim_user_write *w,
			       struct scim_name_buf *buf)
{
	bool rm = value == NULL;
	const char *t = json_string_value(value);
	if (strcasecmp(path, "active") == 0) {
		if (rm)
			return scim_refuse(err, TR_R_SCIM_INVALID_VALUE, "active",
					   "active cannot be removed: set it true or false");
		w->set_active = true;
		return decode_active(err, value, &w->active);
	}
	if (strcasecmp(path, "displayName") == 0 || strcasecmp(path, "name.formatted") == 0) {
		if (!rm && t == NULL)
			return scim_refuse(err, TR_R_SCIM_INVALID_VALUE, path, "expected a string");
		w->set_display_name = true;
		w->display_name = t;
		buf->display_given = strcasecmp(path, "displayName") == 0;
		return TR_OK;
	}
	if (strcasecmp(path, "name") == 0) {
		if (buf->display_given) /* displayName says it; name is the same person's */
			return rm || json_is_object(value)
				       ? TR_OK
				       : scim_refuse(err, TR_R_SCIM_INVALID_VALUE, "name",
						     "name must be an object");
		w->set_display_name = true;
		w->display_name = NULL;
		return rm ? TR_OK : decode_name(err, value, buf, &w->display_name);
	}
	if (strcasecmp(path, "emails") == 0) {
		w->set_email = true;
		w->email = NULL;
		return rm || json_is_null(value) ? TR_OK : decode_emails(err, value, &w->email);
	}
	/* emails[type eq "work"].value, emails[primary eq true].value (Entra ID) */
	size_t n = strlen(path);
	if (strncasecmp(path, "emails[", 7) == 0 && n > 13 &&
	    strcasecmp(path + n - 7, "].value") == 0) {
		if (!rm && t == NULL)
			return scim_refuse(err, TR_R_SCIM_INVALID_VALUE, path, "expected a string");
		w->set_email = true;
		w->email = t;
		return TR_OK;
	}
	if (strcasecmp(path, "userName") == 0) {
		if (rm || t == NULL || strcmp(t, id) != 0)
			return scim_refuse(
				err, TR_R_SCIM_MUTABILITY, "userName",
				"userName cannot change: it is the id and the audit trail's "
				"name for the user");
		return TR_OK;
	}
	/* Sent by default by the providers, not kept by Transom: accepted, ignored. */
	if (strcasecmp(path, "externalId") == 0 || strcasecmp(path, "name.givenName") == 0 ||
	    strcasecmp(path, "name.familyName") == 0)
		return TR_OK;
	char detail[400];
	snprintf(detail, sizeof detail,
		 "attribute '%.200s' is not supported (active, displayName, name, emails, "
		 "userName, externalId are)",
		 path);
	return scim_refuse(err, TR_R_SCIM_INVALID_PATH, path[0] ? path : "path", detail);
}

/* A PatchOp body into `w`. */
enum tr_code scim_patch_decode(json_t *body, const char *id, struct app_scim_user_write *w,
			       struct scim_name_buf *buf, struct tr_error *err)
{
	json_t *schemas = json_object_get(body, "schemas"), *ops, *op, *s;
	size_t i, k;
	bool patch_op = false;
	memset(w, 0, sizeof *w);
	buf->display_given = false;
	json_array_foreach(schemas, k, s) {
		const char *urn = json_string_value(s);
		patch_op = patch_op || (urn != NULL && strcmp(urn, SCIM_PATCH) == 0);
	}
	if (!patch_op)
		return scim_refuse(err, TR_R_SCIM_INVALID_SYNTAX, "schemas",
				   "a PATCH body is a PatchOp: schemas must hold " SCIM_PATCH);
	ops = json_object_get(body, "Operations");
	if (!json_is_array(ops) || json_array_size(ops) == 0)
		return scim_refuse(err, TR_R_SCIM_INVALID_SYNTAX, "Operations",
				   "Operations must be a non-empty array");
	json_array_foreach(ops, i, op) {
		const char *verb = json_string_value(json_object_get(op, "op"));
		json_t *path = json_object_get(op, "path"), *value = json_object_get(op, "value");
		bool rm = verb != NULL && strcasecmp(verb, "remove") == 0;
		if (verb == NULL ||
		    (!rm && strcasecmp(verb, "add") != 0 && strcasecmp(verb, "replace") != 0))
			return scim_refuse(err, TR_R_SCIM_INVALID_SYNTAX, "op",
					   "op must be add, replace or remove");
		if (path != NULL && !json_is_string(path))
			return scim_refuse(err, TR_R_SCIM_INVALID_PATH, "path",
					   "path must be a string");
		enum tr_code rc = TR_OK;
		if (path != NULL) {
			rc = patch_attr(err, id, attr_name(json_string_value(path)),
					rm ? NULL : value, w, buf);
		} else if (rm) {
			rc = scim_refuse(err, TR_R_SCIM_NO_TARGET, "path",
					 "a remove operation needs a path");
		} else if (!json_is_object(value)) {
			rc = scim_refuse(err, TR_R_SCIM_INVALID_VALUE, "value",
					 "without a path, value must be an object of attributes");
		} else {
			const char *key;
			json_t *v;
			json_object_foreach(value, key, v) {
				if (rc == TR_OK)
					rc = patch_attr(err, id, attr_name(key), v, w, buf);
			}
		}
		if (rc != TR_OK)
			return rc;
	}
	return TR_OK;
}
