/*
 * identity.h -- JWT access tokens of an OpenID Provider as bearer credentials: the
 * provider's keys found (discovery) and cached, a token verified and its claims checked
 * (jose/), and the claims mapped to a Transom user, roles and, for pipelines, the
 * services they may deploy (policies/identity.json).
 *
 * Settings: TRANSOM_OIDC_ISSUER (off when empty), TRANSOM_OIDC_AUDIENCE, _SKEW,
 * _JWKS_MAX_AGE, _JWKS_MIN_REFRESH (config.h).  The issuer is configured explicitly, so its
 * discovery document is fetched without the outbound address guard; a jwks_uri on another
 * origin goes through the guard (TRANSOM_WEBHOOK_ALLOW_NETS).
 *
 * Key cache: the JWKS is kept for the reply's Cache-Control max-age, bounded by
 * [JWKS_MIN_REFRESH, JWKS_MAX_AGE] (JWKS_MAX_AGE without one); a token whose kid is not
 * in it refetches the set, at most once every JWKS_MIN_REFRESH seconds (key rotation).
 * Only one thread fetches at a time: the others wait for its result rather than fetch
 * too, and no lock is held during the fetch.  When a refetch fails the old keys are kept.
 * The web sign-in (ID tokens) is meant to use identity_verify with its own audience.
 */
#ifndef TRANSOM_APP_IDENTITY_H
#define TRANSOM_APP_IDENTITY_H

#include <jansson.h>
#include <stdbool.h>

#include "app/credentials.h"
#include "core/err.h"

struct app;
struct identity;

/*
 * The key cache of `app`'s configured issuer (owned; identity_free), or NULL when
 * TRANSOM_OIDC_ISSUER is empty or out of memory (*oom then true).  Fetches nothing yet.
 */
struct identity *identity_new(struct app *app, bool *oom);
void identity_free(struct identity *id);

/*
 * Whether bearer `token` has the shape of a JWT: three base64url segments, the first two
 * not empty, and not Transom's own "trn_" prefix.  Pure.
 */
bool identity_is_jwt(const char *token);

/*
 * Verifies JWT `token` (signature by kid, RS256/ES256 only) and checks its claims against
 * the configured issuer and `audience` at `now` (seconds since the epoch).  TR_OK with the
 * claims owned in *claims; TR_E_UNAUTHENTICATED with the rule (TR_R_TOKEN_*) and detail
 * in `err`; TR_E_IDP_UNAVAILABLE when no keys could be had.  `id` NULL: every token is
 * refused (TR_R_TOKEN_NOT_ACCEPTED).  Thread-safe; may block on the provider for the
 * first request or after a rotation.
 */
enum tr_code identity_verify(struct identity *id, const char *token, const char *audience,
			     long long now, json_t **claims, struct tr_error *err);

/* The provider's endpoints, from its discovery document. */
struct identity_endpoints {
	char authorization[1024]; /* authorization_endpoint */
	char token[1024];         /* token_endpoint */
	char end_session[1024];   /* end_session_endpoint, or "" */
	bool backchannel_logout;  /* backchannel_logout_supported */
};

/*
 * The endpoints of the configured provider into `out` (discovered once, then kept; a
 * failed discovery is retried at most once a second): TR_OK, or TR_E_IDP_UNAVAILABLE.
 * Thread-safe; may block on the provider.
 */
enum tr_code identity_endpoints(struct identity *id, long long now, struct identity_endpoints *out,
				struct tr_error *err);

/*
 * The address guard for a request to `url`: none for the issuer's own origin (it is
 * configured), else the outbound guard (TRANSOM_WEBHOOK_ALLOW_NETS), as for the JWKS.
 */
struct net_guard;
const struct net_guard *identity_guard_for(const struct identity *id, const char *url);

/* A JWT's user as identity_authenticate gives it. */
struct identity_user {
	struct app_user user; /* name, roles, token_id 0 */
	bool scoped;          /* services limits what it may deploy */
	char services[256];   /* space-separated services of the mapping (scoped only) */
	long long exp;        /* the token's exp (seconds since the epoch) */
};

/*
 * identity_verify with TRANSOM_OIDC_AUDIENCE, then the claims mapped by `policy` (the
 * loaded policies/identity.json, may be NULL: no roles): the first rule whose `match`
 * holds gives the user name (its `user`, else the sub), the roles and the services.  A
 * token no rule matches is a user without roles (the route's role check refuses it).
 */
enum tr_code identity_authenticate(struct identity *id, const json_t *policy, const char *token,
				   long long now, struct identity_user *out, struct tr_error *err);

/*
 * Maps verified `claims` by `policy` into `out` (user and services, not exp).  Pure;
 * exported for the tests.  false when the claims give no usable user name.
 */
bool identity_map(const json_t *policy, const json_t *claims, struct identity_user *out);

/*
 * Whether every member of `match` (claim -> string or array of strings) holds in
 * `claims`: a string claim equal to the value, or an array claim containing it (an array
 * value: any of them).  An empty or missing match never holds.  Pure.
 */
bool identity_rule_matches(const json_t *match, const json_t *claims);

#endif /* TRANSOM_APP_IDENTITY_H */
