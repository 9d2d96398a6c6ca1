/*
 * h_app_passwords.c -- app passwords: what calendar programs send as HTTP Basic passwords
 * (/v1/me/app-passwords), and the check of Basic credentials the dispatcher calls for
 * ROUTE_BASIC_AUTH routes.
 *
 * A password is shown once, when made.  The store keeps a random 16-byte salt and the
 * HMAC-SHA256 of the password under it; a check recomputes the HMAC for each of the
 * user's unrevoked passwords and compares in constant time.  An app password carries the
 * roles of the token that made it, and dies with it (revoked token, disabled user).  It
 * authenticates DAV routes only; a bearer token, the API only (dispatch.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "crypto/crypto.h"
#include "policy/policy.h"
#include "store/dav.h"

#define PW_SALT_BYTES 16

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

/* Equal strings of equal length, in time that does not depend on where they differ. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
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
	return same_secret(mac, hash);
}

enum db_status api_app_password_lookup(struct http_req *req, const char *credentials,
				       struct store_user *user)
{
	char plain[512];
	if (strlen(credentials) > 640 || b64_decode(credentials, plain, sizeof plain) < 0)
		return DB_NONE;
	char *colon = strchr(plain, ':');
	if (colon == NULL || colon == plain || colon[1] == '\0')
		return DB_NONE;
	*colon = '\0';
	const char *name = plain;
	/* DAVx5 and others name the account by e-mail: map an address to its person. */
	const struct defs *d = api_defs(req);
	if (strchr(name, '@') != NULL && d != NULL && d->policies != NULL) {
		const struct policy_user *u = policy_user_by_email(d->policies, name);
		if (u != NULL)
			name = u->name;
	}
	struct pw_check c = {colon + 1};
	enum db_status s = store_app_password_find(api_store(req), name, pw_matches, &c, user);
	explicit_bzero(plain, sizeof plain);
	return s;
}

enum tr_code h_app_passwords_create(struct http_req *req, struct http_reply *rep)
{
	json_t *label = json_object_get(req->json, "label");
	const char *key;
	json_t *v;
	json_object_foreach(req->json, key, v) {
		if (strcmp(key, "label") != 0)
			return tr_error_set(&req->err, TR_E_UNPROCESSABLE, key,
					    "unknown member '%s' (only 'label')", key);
	}
	if (label != NULL && (!json_is_string(label) || json_string_length(label) > 200))
		return tr_error_set(&req->err, TR_E_UNPROCESSABLE, "label",
				    "'label' must be a string of 200 characters at most");
	char password[64], salt[2 * PW_SALT_BYTES + 1], mac[CRYPTO_SHA256_HEX_LEN];
	unsigned char raw[PW_SALT_BYTES];
	if (!crypto_token("tap_", 24, password, sizeof password) || !crypto_random(raw, sizeof raw))
		return tr_error_set(&req->err, TR_E_INTERNAL, NULL, "no randomness");
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(salt + 2 * i, 3, "%02x", raw[i]);
	if (!crypto_hmac_sha256_hex(salt, strlen(salt), password, strlen(password), mac))
		return tr_error_set(&req->err, TR_E_INTERNAL, NULL, "hmac failed");
	long long id = 0;
	enum db_status s = store_app_password_create(api_store(req), req->user.name,
						     req->user.roles, req->user.token_id,
						     json_string_value(label), salt, mac, &id);
	if (s < 0)
		return api_db_error(req, s);
	const char *base = ((struct app *)req->app)->public_url;
	char loc[64], dav[1200];
	snprintf(loc, sizeof loc, "/v1/me/app-passwords/%lld", id);
	snprintf(dav, sizeof dav, "%s/dav/", base);
	json_t *body = json_pack("{s:I, s:s?, s:s, s:s, s:s, s:s}", "id", (json_int_t)id, "label",
				 json_string_value(label), "user", req->user.name, "password",
				 password, "caldav_url", dav, "note",
				 "shown once: enter it in your calendar program with your user "
				 "name; DELETE /v1/me/app-passwords/{id} revokes it");
	explicit_bzero(password, sizeof password);
	enum tr_code rc = http_reply_json(rep, 201, body);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Location", loc);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Cache-Control", "no-store");
	return rc;
}

enum tr_code h_app_passwords_list(struct http_req *req, struct http_reply *rep)
{
	json_t *list = NULL;
	enum db_status s = store_app_passwords_list(api_store(req), req->user.name, &list);
	if (s < 0)
		return api_db_error(req, s);
	return http_reply_json(rep, 200, json_pack("{s:o}", "app_passwords", list));
}

enum tr_code h_app_passwords_revoke(struct http_req *req, struct http_reply *rep)
{
	const char *ids = route_param(&req->match, "id");
	char *end;
	long long id = strtoll(ids, &end, 10);
	if (*end != '\0' || id <= 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no app password '%s'", ids);
	enum db_status s = store_app_password_revoke(api_store(req), id, req->user.name);
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id",
				    "no active app password %lld of yours", id);
	api_tokens_changed(req->app); /* at once here; other replicas hear the NOTIFY */
	return http_reply_text(rep, 204, NULL, "", 0);
}
