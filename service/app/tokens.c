/*
 * tokens.c -- token issuing shared by `transomd token create` and POST /v1/tokens; the
 * token and user use cases of the API.
 */
#include "app/tokens.h"

#include <stdio.h>
#include <string.h>

#include "app/credentials.h"
#include "audit/audit.h"
#include "auth/roles.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "policy/policy.h"
#include "store/audit_log.h"
#include "store/oidc_logins.h"
#include "store/tokens.h"

json_t *app_token_warnings(const struct policy_set *policies, const char *user)
{
	json_t *w = json_array();
	char text[400];
	if (w == NULL)
		return NULL;
	if (policies == NULL)
		snprintf(text, sizeof text,
			 "no policies are loaded: cannot tell whether user '%s' is in "
			 "policies/people.json",
			 user);
	else if (policy_user_resolve(policies, user) == NULL)
		snprintf(text, sizeof text,
			 "user '%s' is not in policies/people.json: the token works, but its "
			 "holder cannot vote as a CAB member (add them to people.json and reload)",
			 user);
	else
		return w;
	if (json_array_append_new(w, json_string(text)) != 0) {
		json_decref(w);
		return NULL;
	}
	return w;
}

int app_user_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128)
		return 0;
	return strspn(name,
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+-") == n;
}

enum db_status app_token_issue(struct store *st, const char *name, const char *email,
			       const char *display_name, unsigned roles, char token[AUTH_TOKEN_MAX],
			       long long *id)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	if (!crypto_token("trn_", 32, token, AUTH_TOKEN_MAX))
		return DB_HARD;
	crypto_sha256_hex(token, strlen(token), hash);
	return store_token_create(st, name, email, display_name, roles, hash, id);
}

enum tr_code app_tokens_list(struct app_session *s, const struct app_actor *who, json_t **out,
			     struct tr_error *err)
{
	enum db_status st = store_token_list(s->store, out);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	return TR_OK;
}

/* The role bits of the names in `roles`: 0 with `err` set naming the field. */
static unsigned roles_mask(json_t *roles, struct tr_error *err)
{
	unsigned mask = 0;
	size_t i;
	json_t *r;
	json_array_foreach(roles, i, r) {
		unsigned bit = role_from_name(json_string_value(r));
		if (bit == 0) {
			char field[32];
			snprintf(field, sizeof field, "roles[%zu]", i);
			tr_error_set(err, TR_E_UNPROCESSABLE, field,
				     "unknown role '%s'; roles are requester, cab, "
				     "change_manager, pipeline, admin",
				     json_string_value(r));
			return 0;
		}
		mask |= bit;
	}
	if (mask == 0)
		tr_error_set(err, TR_E_UNPROCESSABLE, "roles", "at least one role is required");
	return mask;
}

enum tr_code app_token_create(struct app_session *s, const struct app_actor *who,
			      const struct app_token_request *rq, struct app_token_made *out,
			      struct tr_error *err)
{
	const char *user = rq->user;
	out->warnings = NULL;
	if (!app_user_name_valid(user))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "user",
				    "'user' must be 1 to 128 of A-Z a-z 0-9 . _ @ + -");
	unsigned mask = roles_mask(rq->roles, err);
	if (mask == 0)
		return TR_E_UNPROCESSABLE;
	enum db_status st = store_user_disabled(s->store, user);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_ONE) {
		tr_error_set(err, TR_E_CONFLICT, "user",
			     "user '%s' is disabled (POST /v1/users/%s/enable first)", user, user);
		tr_error_rule(err, TR_R_USER_DISABLED);
		return TR_E_CONFLICT;
	}
	const struct defs *d = app_session_defs(s);
	json_t *warnings = app_token_warnings(d ? d->policies : NULL, user);
	if (warnings == NULL)
		return TR_E_NOMEM;
	/* identity.json tokens.unknown_user: "warn" (the default) or "refuse" a user neither
	 * people.json nor the identity provider (a sign-in through it) knows */
	const char *policy = json_string_value(
		json_object_get(json_object_get(d ? d->identity : NULL, "tokens"), "unknown_user"));
	if (json_array_size(warnings) > 0 && policy != NULL && strcmp(policy, "refuse") == 0) {
		char groups[1024];
		st = store_claim_groups_get(s->store, user, groups, sizeof groups);
		if (st < 0) {
			json_decref(warnings);
			return app_session_error(s, st, who->request_id, err);
		}
		if (st == DB_NONE) {
			json_decref(warnings);
			tr_error_set(
				err, TR_E_UNPROCESSABLE, "user",
				"user '%s' is not in policies/people.json and has never signed "
				"in through the identity provider (policies/identity.json: "
				"tokens.unknown_user is \"refuse\")",
				user);
			tr_error_rule(err, TR_R_UNKNOWN_USER);
			return TR_E_UNPROCESSABLE;
		}
	}
	st = app_token_issue(s->store, user, rq->email, rq->display_name, mask, out->token,
			     &out->id);
	if (st < 0) {
		json_decref(warnings);
		return app_session_error(s, st, who->request_id, err);
	}
	out->warnings = warnings;
	return TR_OK;
}

enum tr_code app_token_revoke(struct app_session *s, const struct app_actor *who, long long id,
			      struct tr_error *err)
{
	enum db_status st = store_token_revoke(s->store, id);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no active token %lld", id);
	app_credentials_changed(s->app); /* at once here; other replicas hear the NOTIFY */
	return TR_OK;
}

enum tr_code app_users_list(struct app_session *s, const struct app_actor *who, json_t **out,
			    struct tr_error *err)
{
	*out = NULL;
	enum db_status st = store_user_list(s->store, out);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	return TR_OK;
}

enum db_status app_user_audit(struct store *st, const struct app_actor *who, const char *action,
			      json_t *detail)
{
	char at[TIME_RFC3339_LEN];
	time_format_ms(clock_now_ms(), at);
	struct audit_event ev = {at, who->name, NULL, action, who->request_id, detail};
	enum db_status s = detail != NULL ? store_audit_append(st, &ev, 1) : DB_HARD;
	json_decref(detail);
	return s;
}

/* Disabling in one transaction: the disable statement and its audit event. */
struct user_job {
	const struct app_actor *who;
	const char *name, *via;
	struct store_revoked r;
};

static enum db_status disable_tx(struct store *st, void *cls)
{
	struct user_job *j = cls;
	enum db_status s = store_user_disable(st, j->name, &j->r);
	if (s != DB_ONE)
		return s;
	json_t *d = json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I}}", "user", j->name, "via", j->via,
			      "revoked", "tokens", (json_int_t)j->r.tokens, "app_passwords",
			      (json_int_t)j->r.app_passwords, "feeds", (json_int_t)j->r.feeds,
			      "sessions", (json_int_t)j->r.sessions);
	s = app_user_audit(st, j->who, "user.disabled", d);
	return s < 0 ? s : DB_ONE;
}

static enum db_status enable_tx(struct store *st, void *cls)
{
	struct user_job *j = cls;
	enum db_status s = store_user_enable(st, j->name);
	if (s != DB_ONE)
		return s;
	s = app_user_audit(st, j->who, "user.enabled",
			   json_pack("{s:s, s:s}", "user", j->name, "via", j->via));
	return s < 0 ? s : DB_ONE;
}

enum db_status app_user_state_cli(struct store *st, const char *actor, const char *name,
				  bool disable, int retries, struct app_revoked *out)
{
	struct app_actor who = {actor, 0, 0, NULL};
	struct user_job j = {&who, name, "cli", {0}};
	enum db_status s = app_user_name_valid(name)
				   ? store_tx(st, STORE_READ_COMMITTED, retries,
					      disable ? disable_tx : enable_tx, &j)
				   : DB_NONE;
	*out = (struct app_revoked){j.r.tokens, j.r.app_passwords, j.r.feeds, j.r.sessions};
	return s;
}

enum tr_code app_user_disable_via(struct app_session *s, const struct app_actor *who,
				  const char *name, const char *via, struct app_revoked *out,
				  struct tr_error *err)
{
	if (!app_user_name_valid(name))
		return tr_error_set(err, TR_E_NOT_FOUND, "name", "no user '%s'", name);
	if (strcmp(name, who->name) == 0) {
		tr_error_set(err, TR_E_UNPROCESSABLE, "name",
			     "you cannot disable yourself (another admin can)");
		tr_error_rule(err, TR_R_SELF);
		return TR_E_UNPROCESSABLE;
	}
	struct user_job j = {who, name, via, {0}};
	enum db_status st =
		store_tx(s->store, STORE_READ_COMMITTED, s->app->cfg->db_retries, disable_tx, &j);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "name", "no user '%s'", name);
	app_credentials_changed(s->app); /* at once here; other replicas hear the NOTIFY */
	*out = (struct app_revoked){j.r.tokens, j.r.app_passwords, j.r.feeds, j.r.sessions};
	return TR_OK;
}

enum tr_code app_user_disable(struct app_session *s, const struct app_actor *who, const char *name,
			      struct app_revoked *out, struct tr_error *err)
{
	return app_user_disable_via(s, who, name, "api", out, err);
}

enum tr_code app_user_enable_via(struct app_session *s, const struct app_actor *who,
				 const char *name, const char *via, struct tr_error *err)
{
	if (!app_user_name_valid(name))
		return tr_error_set(err, TR_E_NOT_FOUND, "name", "no user '%s'", name);
	struct user_job j = {who, name, via, {0}};
	enum db_status st =
		store_tx(s->store, STORE_READ_COMMITTED, s->app->cfg->db_retries, enable_tx, &j);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "name", "no user '%s'", name);
	return TR_OK;
}

enum tr_code app_user_enable(struct app_session *s, const struct app_actor *who, const char *name,
			     struct tr_error *err)
{
	return app_user_enable_via(s, who, name, "api", err);
}
