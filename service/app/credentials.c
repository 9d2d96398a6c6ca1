/*
 * credentials.c -- checking API tokens and app passwords, and app passwords' lifecycle
 * (see credentials.h).
 *
 * A password is shown once, when made.  The store keeps a random 16-byte salt and the
 * HMAC-SHA256 of the password under it; a check recomputes the HMAC for each of the
 * user's unrevoked passwords and compares in constant time.  An app password carries the
 * roles of the token that made it, and dies with it (revoked token, disabled user).
 */
#include "app/credentials.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "crypto/crypto.h"
#include "events/events.h"
#include "policy/policy.h"
#include "store/dav.h"
#include "store/tokens.h"

#define PW_SALT_BYTES 16

static void user_from_store(struct app_user *u, const struct store_user *su)
{
	snprintf(u->name, sizeof u->name, "%s", su->name);
	snprintf(u->email, sizeof u->email, "%s", su->email);
	snprintf(u->display_name, sizeof u->display_name, "%s", su->display_name);
	u->roles = su->roles;
	u->token_id = su->token_id;
}

enum tr_code app_auth_bearer(struct app_session *s, const char *hash, const char *request_id,
			     struct app_user *user, bool *found, struct tr_error *err)
{
	struct store_user u = {0};
	enum db_status st = store_token_lookup(s->store, hash, &u);
	*found = st == DB_ONE;
	if (st < 0)
		return app_session_error(s, st, request_id, err);
	if (*found)
		user_from_store(user, &u);
	return TR_OK;
}

/* Decodes standard base64 (padding optional) into `out` (NUL-terminated); -1 on bad input. */
static int b64_decode(const char *in, char *out, size_t outlen)
{
	unsigned acc = 0, bits = 0;
	size_t n = 0;
	for (; *in && *in != '='; in++) {
		const char *alpha =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *p = strchr(alpha, *in);
		if (p == NULL)
			return -1;
		acc = (acc << 6) | (unsigned)(p - alpha);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= outlen)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	while (*in == '=')
		in++;
	if (*in != '\0')
		return -1;
	out[n] = '\0';
	return memchr(out, '\0', n) == NULL ? (int)n : -1;
}

struct pw_check {
	const char *password;
};

static bool pw_matches(void *cls, const char *salt, const char *hash)
{
	struct pw_check *c = cls;
	char mac[CRYPTO_SHA256_HEX_LEN];
	if (!crypto_hmac_sha256_hex(salt, strlen(salt), c->password, strlen(c->password), mac))
		return false;
	return crypto_equal(mac, hash);
}

/*
 * The app password lookup of user `name` (or one of a person's e-mail addresses):
 * DB_ONE with `user` filled, DB_NONE, or a database error.
 */
static enum db_status app_password_lookup(struct app_session *s, const char *name,
					  const char *password, struct store_user *user)
{
	/* DAVx5 and others name the account by e-mail: map an address to its person. */
	const struct defs *d = app_session_defs(s);
	if (strchr(name, '@') != NULL && d != NULL && d->policies != NULL) {
		const struct policy_user *u = policy_user_by_email(d->policies, name);
		if (u != NULL)
			name = u->name;
	}
	struct pw_check c = {password};
	return store_app_password_find(s->store, name, pw_matches, &c, user);
}

enum tr_code app_auth_password(struct app_session *s, const char *name, const char *password,
			       const char *request_id, struct app_user *user, bool *found,
			       struct tr_error *err)
{
	struct store_user u = {0};
	enum db_status st = DB_NONE;
	if (name[0] != '\0' && password[0] != '\0' && strlen(name) < 256 && strlen(password) < 256)
		st = app_password_lookup(s, name, password, &u);
	*found = st == DB_ONE;
	if (st < 0)
		return app_session_error(s, st, request_id, err);
	if (*found)
		user_from_store(user, &u);
	return TR_OK;
}

enum tr_code app_auth_basic(struct app_session *s, const char *credentials, const char *request_id,
			    struct app_user *user, bool *found, struct tr_error *err)
{
	char plain[512];
	*found = false;
	if (strlen(credentials) > 640 || b64_decode(credentials, plain, sizeof plain) < 0)
		return TR_OK;
	char *colon = strchr(plain, ':');
	enum tr_code rc = TR_OK;
	if (colon != NULL && colon != plain && colon[1] != '\0') {
		*colon = '\0';
		rc = app_auth_password(s, plain, colon + 1, request_id, user, found, err);
	}
	explicit_bzero(plain, sizeof plain);
	return rc;
}

/*
 * Ends the event streams opened with a token or web session that is now revoked, ended
 * or expired, and every stream of a user now disabled (whatever the credential: a JWT
 * has no id of ours): a stream is checked once, when it opens, so a revocation must reach
 * the streams already open.  Skipped while the hub's LISTEN connection is down (the
 * database is unlikely to answer then; the reconnect calls here again).
 */
static void streams_recheck(struct app *app)
{
	enum { MAX = 512 };
	long long ids[MAX], dead[MAX];
	const char *names[MAX];
	bool disabled[MAX];
	size_t n, nusers, ndead = 0, nusers_dead = 0;
	if (app->events == NULL || !events_hub_listening(app->events))
		return;
	char(*users)[EVENTS_USER_MAX] = malloc(MAX * sizeof *users);
	if (users == NULL)
		return;
	n = events_hub_owners(app->events, ids, MAX);
	nusers = events_hub_users(app->events, users, MAX);
	struct app_session *w = n + nusers > 0 ? app_worker_get(app) : NULL;
	enum db_status s = n + nusers == 0 ? DB_NONE : w == NULL ? DB_HARD : DB_NONE;
	if (s >= 0 && n > 0)
		s = store_tokens_dead(w->store, ids, n, dead, &ndead);
	for (size_t i = 0; i < nusers; i++)
		names[i] = users[i];
	if (s >= 0 && nusers > 0)
		s = store_users_disabled(w->store, names, nusers, disabled);
	if (s < 0) {
		LOG_WARN("event=streams_recheck_failed error=\"%s\"",
			 w ? store_last_error(w->store) : "out of memory");
		free(users);
		return;
	}
	for (size_t i = 0; i < ndead; i++)
		events_hub_end_owner(app->events, dead[i]);
	for (size_t i = 0; i < nusers; i++)
		if (disabled[i]) {
			events_hub_end_user(app->events, users[i]);
			nusers_dead++;
		}
	free(users);
	if (ndead + nusers_dead > 0)
		LOG_INFO("event=streams_ended credentials=%zu users=%zu reason=\"revoked, ended or "
			 "user disabled\"",
			 ndead, nusers_dead);
}

void app_credentials_changed(struct app *app)
{
	atomic_fetch_add(&app->token_gen, 1);
	streams_recheck(app);
}

enum tr_code app_password_create(struct app_session *s, const struct app_actor *who,
				 const char *label, long long *id, char password[APP_PASSWORD_MAX],
				 struct tr_error *err)
{
	if (label != NULL && strlen(label) > 200)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "label",
				    "'label' must be a string of 200 characters at most");
	char salt[2 * PW_SALT_BYTES + 1], mac[CRYPTO_SHA256_HEX_LEN];
	unsigned char raw[PW_SALT_BYTES];
	if (!crypto_token("tap_", 24, password, APP_PASSWORD_MAX) ||
	    !crypto_random(raw, sizeof raw))
		return tr_error_set(err, TR_E_INTERNAL, NULL, "no randomness");
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(salt + 2 * i, 3, "%02x", raw[i]);
	if (!crypto_hmac_sha256_hex(salt, strlen(salt), password, strlen(password), mac))
		return tr_error_set(err, TR_E_INTERNAL, NULL, "hmac failed");
	*id = 0;
	enum db_status st = store_app_password_create(s->store, who->name, who->roles,
						      who->token_id, label, salt, mac, id);
	if (st < 0) {
		explicit_bzero(password, APP_PASSWORD_MAX);
		return app_session_error(s, st, who->request_id, err);
	}
	return TR_OK;
}

enum tr_code app_passwords_list(struct app_session *s, const struct app_actor *who, json_t **out,
				struct tr_error *err)
{
	*out = NULL;
	enum db_status st = store_app_passwords_list(s->store, who->name, out);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	return TR_OK;
}

enum tr_code app_password_revoke(struct app_session *s, const struct app_actor *who, long long id,
				 struct tr_error *err)
{
	enum db_status st = store_app_password_revoke(s->store, id, who->name);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "id",
				    "no active app password %lld of yours", id);
	app_credentials_changed(s->app); /* at once here; other replicas hear the NOTIFY */
	return TR_OK;
}

enum tr_code app_user_active(struct app_session *s, const char *name, const char *request_id,
			     struct tr_error *err)
{
	enum db_status st = store_user_disabled(s->store, name);
	if (st < 0)
		return app_session_error(s, st, request_id, err);
	if (st == DB_ONE)
		return tr_error_set(err, TR_E_UNAUTHENTICATED, "Authorization",
				    "user '%s' is disabled", name);
	return TR_OK;
}
