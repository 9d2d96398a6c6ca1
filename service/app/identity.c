/*
 * identity.c -- JWT bearer tokens of the configured OpenID Provider: discovery, the
 * JWKS cache with rotation, verification and the claim mapping (identity.h).
 */
#include "app/identity.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "auth/roles.h"
#include "core/log.h"
#include "jose/jose.h"
#include "net/net.h"

#define FETCH_TIMEOUT_MS 5000
#define FETCH_MAX_BYTES  (256 * 1024)

/* A key set shared by the requests verifying with it. */
struct keyset {
	atomic_uint refs;
	struct jose_jwks *jwks;
};

struct identity {
	struct app *app; /* for the config and the address guard */
	pthread_mutex_t lock;
	pthread_cond_t fetched; /* signalled when a fetch ends */
	/* guarded by lock: */
	bool fetching;        /* one thread is fetching; the others wait */
	struct keyset *keys;  /* current set; NULL before the first good fetch */
	long long expires;    /* seconds: refetch when now reaches it */
	long long last_fetch; /* seconds: the last attempt, good or not */
	char jwks_uri[1024];  /* from discovery; "" = discover first */
	char last_error[256];
	struct identity_endpoints ep; /* from discovery; ep.authorization "" = not yet */
	long long ep_tried;           /* seconds: the last discovery for ep, good or not */
};

static void keyset_release(struct keyset *k)
{
	if (k != NULL && atomic_fetch_sub(&k->refs, 1) == 1) {
		jose_jwks_free(k->jwks);
		free(k);
	}
}

struct identity *identity_new(struct app *app, bool *oom)
{
	*oom = false;
	if (app->cfg->oidc_issuer[0] == '\0')
		return NULL;
	struct identity *id = calloc(1, sizeof *id);
	if (id == NULL) {
		*oom = true;
		return NULL;
	}
	id->app = app;
	pthread_mutex_init(&id->lock, NULL);
	pthread_cond_init(&id->fetched, NULL);
	return id;
}

void identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	keyset_release(id->keys);
	pthread_mutex_destroy(&id->lock);
	pthread_cond_destroy(&id->fetched);
	free(id);
}

bool identity_is_jwt(const char *token)
{
	if (strncmp(token, "trn_", 4) == 0) /* Transom's own opaque tokens (app/tokens.h) */
		return false;
	int dots = 0;
	size_t seg = 0;
	for (const char *p = token; *p; p++) {
		if (*p == '.') {
			if (seg == 0 && dots < 2)
				return false; /* header and payload are never empty */
			dots++;
			seg = 0;
		} else if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
			seg++;
		} else {
			return false;
		}
	}
	return dots == 2;
}

/* ---- fetching the keys ------------------------------------------------------------------- */

/* Scheme, host and port of `url`: its first `n` bytes. */
static size_t origin_len(const char *url)
{
	const char *p = strstr(url, "://");
	if (p == NULL)
		return 0;
	return (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
}

static bool same_origin(const char *a, const char *b)
{
	size_t n = origin_len(a);
	return n > 0 && n == origin_len(b) && strncasecmp(a, b, n) == 0;
}

/* GETs `url`; 0 with the reply in *rp (status 200), else -1 with `err`. */
static int get(const char *url, const struct net_guard *guard, struct net_reply *rp, char *err,
	       size_t errlen)
{
	struct net_header accept = {"Accept", "application/json"};
	struct net_request rq = {.url = url,
				 .headers = &accept,
				 .n_headers = 1,
				 .timeout_ms = FETCH_TIMEOUT_MS,
				 .max_reply = FETCH_MAX_BYTES,
				 .guard = guard};
	if (net_send(&rq, rp) != 0) {
		snprintf(err, errlen, "%.120s: %.120s", url, rp->error);
		return -1;
	}
	if (rp->status != 200 || rp->truncated || rp->body == NULL) {
		snprintf(err, errlen, "%.120s: http status %d%s", url, rp->status,
			 rp->truncated ? " (reply too long)" : "");
		net_reply_clear(rp);
		return -1;
	}
	return 0;
}

/* The max-age of a Cache-Control value, or -1 (none; 0 for no-store and no-cache). */
static long long max_age(const char *cc)
{
	if (strcasestr(cc, "no-store") != NULL || strcasestr(cc, "no-cache") != NULL)
		return 0;
	const char *p = strcasestr(cc, "max-age=");
	if (p == NULL)
		return -1;
	long long v = strtoll(p + 8, NULL, 10);
	return v < 0 ? 0 : v;
}

/*
 * The discovery document's jwks_uri into `uri` (the document's issuer must be the
 * configured one); 0 or -1 with `err`.  No lock held.
 */
static int discover(struct identity *id, char *uri, size_t urilen, struct identity_endpoints *ep,
		    char *err, size_t errlen)
{
	const char *iss = id->app->cfg->oidc_issuer;
	char url[1200];
	size_t n = strlen(iss);
	while (n > 0 && iss[n - 1] == '/')
		n--;
	snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)n, iss);
	struct net_reply rp;
	if (get(url, NULL, &rp, err, errlen) != 0) /* the issuer is configured: no guard */
		return -1;
	json_t *doc = json_loadb(rp.body, rp.len, 0, NULL);
	net_reply_clear(&rp);
	const char *doc_iss = json_string_value(json_object_get(doc, "issuer"));
	const char *jwks = json_string_value(json_object_get(doc, "jwks_uri"));
	int ret = -1;
	if (doc_iss == NULL || strcmp(doc_iss, iss) != 0)
		snprintf(err, errlen, "%.100s: issuer is '%.60s', not '%.60s'", url,
			 doc_iss ? doc_iss : "", iss);
	else if (jwks == NULL || strlen(jwks) >= urilen ||
		 (strncmp(jwks, "https://", 8) != 0 && strncmp(jwks, "http://", 7) != 0))
		snprintf(err, errlen, "%.120s: no http(s) jwks_uri", url);
	else {
		snprintf(uri, urilen, "%s", jwks);
		ret = 0;
	}
	if (ret == 0 && ep != NULL) {
		static const char *const names[] = {"authorization_endpoint", "token_endpoint",
						    "end_session_endpoint"};
		char *dst[] = {ep->authorization, ep->token, ep->end_session};
		for (size_t i = 0; i < 3; i++) {
			const char *v = json_string_value(json_object_get(doc, names[i]));
			if (v != NULL && strlen(v) < sizeof ep->token &&
			    (strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0))
				snprintf(dst[i], sizeof ep->token, "%s", v);
		}
		ep->backchannel_logout =
			json_is_true(json_object_get(doc, "backchannel_logout_supported"));
		if (ep->authorization[0] == '\0' || ep->token[0] == '\0') {
			snprintf(err, errlen, "%.120s: no authorization_endpoint or token_endpoint",
				 url);
			ret = -1;
		}
	}
	json_decref(doc);
	return ret;
}

enum tr_code identity_endpoints(struct identity *id, long long now, struct identity_endpoints *out,
				struct tr_error *err)
{
	memset(out, 0, sizeof *out);
	if (id == NULL)
		return tr_error_set(err, TR_E_IDP_UNAVAILABLE, NULL, "no OpenID Provider is set");
	pthread_mutex_lock(&id->lock);
	bool have = id->ep.authorization[0] != '\0';
	bool try = !have && now >= id->ep_tried + 1;
	if (have)
		*out = id->ep;
	if (try)
		id->ep_tried = now;
	pthread_mutex_unlock(&id->lock);
	if (have)
		return TR_OK;
	if (!try)
		return tr_error_set(err, TR_E_IDP_UNAVAILABLE, NULL,
				    "the OpenID Provider's discovery document cannot be fetched");
	char uri[1024] = "", why[256] = "";
	struct identity_endpoints ep = {0};
	if (discover(id, uri, sizeof uri, &ep, why, sizeof why) != 0) {
		LOG_WARN("event=oidc_discovery_failed error=\"%s\"", why);
		return tr_error_set(err, TR_E_IDP_UNAVAILABLE, NULL,
				    "the OpenID Provider's discovery document cannot be fetched");
	}
	pthread_mutex_lock(&id->lock);
	id->ep = ep;
	pthread_mutex_unlock(&id->lock);
	*out = ep;
	return TR_OK;
}

const struct net_guard *identity_guard_for(const struct identity *id, const char *url)
{
	return same_origin(url, id->app->cfg->oidc_issuer) ? NULL : id->app->guard;
}

/*
 * One fetch of the keys (discovery first when `uri` is ""), without the lock: the new
 * set in *out and its lifetime in *ttl, or -1 with `err`.
 */
static int fetch_keys(struct identity *id, char uri[1024], struct keyset **out, long long *ttl,
		      char *err, size_t errlen)
{
	const struct config *cfg = id->app->cfg;
	if (uri[0] == '\0' && discover(id, uri, 1024, NULL, err, errlen) != 0)
		return -1;
	struct net_reply rp;
	const struct net_guard *guard = same_origin(uri, cfg->oidc_issuer) ? NULL : id->app->guard;
	if (get(uri, guard, &rp, err, errlen) != 0) {
		uri[0] = '\0'; /* discover again next time: the provider may have moved it */
		return -1;
	}
	size_t skipped = 0;
	struct keyset *k = calloc(1, sizeof *k);
	if (k != NULL)
		k->jwks = jose_jwks_parse(rp.body, rp.len, &skipped, err, errlen);
	long long age = max_age(rp.cache_control);
	net_reply_clear(&rp);
	if (k == NULL || k->jwks == NULL) {
		if (k == NULL)
			snprintf(err, errlen, "out of memory");
		free(k);
		return -1;
	}
	atomic_init(&k->refs, 1);
	if (age < 0 || age > cfg->oidc_jwks_max_age)
		age = cfg->oidc_jwks_max_age;
	if (age < cfg->oidc_jwks_min_refresh)
		age = cfg->oidc_jwks_min_refresh;
	*ttl = age;
	*out = k;
	LOG_INFO("event=oidc_keys_fetched jwks_uri=%s keys=%zu skipped=%zu max_age=%lld", uri,
		 jose_jwks_count(k->jwks), skipped, age);
	return 0;
}

/*
 * The key set to verify a token of `kid` with (a reference: keyset_release), fetching
 * it when there is none, it expired, or it lacks `kid` and the last fetch is older than
 * JWKS_MIN_REFRESH.  NULL when no set could ever be had (`err` says why).
 */
static struct keyset *keys_for(struct identity *id, const char *kid, long long now, char *err,
			       size_t errlen)
{
	const struct config *cfg = id->app->cfg;
	pthread_mutex_lock(&id->lock);
	for (;;) {
		bool stale = id->keys == NULL || now >= id->expires ||
			     (!jose_jwks_has(id->keys->jwks, kid) &&
			      now >= id->last_fetch + (long long)cfg->oidc_jwks_min_refresh);
		/* without keys, a failed fetch is retried at most once a second; an expired
		 * set after a failure is kept JWKS_MIN_REFRESH longer (see below) */
		bool may_fetch =
			id->keys != NULL || id->last_fetch == 0 || now >= id->last_fetch + 1;
		if (!stale || !may_fetch)
			break;
		if (id->fetching) { /* another request fetches: use what it gets */
			pthread_cond_wait(&id->fetched, &id->lock);
			continue;
		}
		id->fetching = true;
		id->last_fetch = now;
		char uri[1024];
		snprintf(uri, sizeof uri, "%s", id->jwks_uri);
		pthread_mutex_unlock(&id->lock);

		struct keyset *fresh = NULL;
		long long ttl = 0;
		char why[256] = "";
		int rc = fetch_keys(id, uri, &fresh, &ttl, why, sizeof why);
		if (rc != 0)
			LOG_WARN("event=oidc_keys_fetch_failed error=\"%s\"", why);

		pthread_mutex_lock(&id->lock);
		snprintf(id->jwks_uri, sizeof id->jwks_uri, "%s", uri);
		if (rc == 0) {
			keyset_release(id->keys);
			id->keys = fresh;
			id->expires = now + ttl;
			id->last_error[0] = '\0';
		} else {
			snprintf(id->last_error, sizeof id->last_error, "%s", why);
			if (id->keys != NULL) /* keep the old keys a while */
				id->expires = now + (long long)cfg->oidc_jwks_min_refresh;
		}
		id->fetching = false;
		pthread_cond_broadcast(&id->fetched);
		break;
	}
	struct keyset *k = id->keys;
	if (k != NULL)
		atomic_fetch_add(&k->refs, 1);
	else
		snprintf(err, errlen, "%s",
			 id->last_error[0] ? id->last_error
					   : "the provider's keys are not fetched yet");
	pthread_mutex_unlock(&id->lock);
	return k;
}

/* ---- verification ------------------------------------------------------------------------ */

static enum tr_code refuse(struct tr_error *err, enum tr_code rule, const char *why)
{
	tr_error_set(err, TR_E_UNAUTHENTICATED, "Authorization", "JWT refused: %s", why);
	tr_error_rule(err, rule);
	return TR_E_UNAUTHENTICATED;
}

static enum tr_code rule_of(enum jose_status s)
{
	switch (s) {
	case JOSE_ALG:
		return TR_R_TOKEN_ALGORITHM;
	case JOSE_UNKNOWN_KID:
	case JOSE_KEY_UNFIT:
		return TR_R_TOKEN_KEY;
	case JOSE_SIGNATURE:
		return TR_R_TOKEN_SIGNATURE;
	case JOSE_ISSUER:
		return TR_R_TOKEN_ISSUER;
	case JOSE_AUDIENCE:
		return TR_R_TOKEN_AUDIENCE;
	case JOSE_EXPIRED:
		return TR_R_TOKEN_EXPIRED;
	case JOSE_NOT_YET_VALID:
		return TR_R_TOKEN_NOT_YET_VALID;
	case JOSE_SUBJECT:
		return TR_R_TOKEN_SUBJECT;
	case JOSE_OK:
	case JOSE_MALFORMED:
	case JOSE_NOMEM:
		break;
	}
	return TR_R_TOKEN_MALFORMED;
}

enum tr_code identity_verify(struct identity *id, const char *token, const char *audience,
			     long long now, json_t **claims, struct tr_error *err)
{
	*claims = NULL;
	if (id == NULL)
		return refuse(err, TR_R_TOKEN_NOT_ACCEPTED,
			      "this service accepts no JWT (TRANSOM_OIDC_ISSUER is not set)");
	char kid[256];
	if (jose_token_kid(token, kid, sizeof kid) != JOSE_OK)
		kid[0] = '\0';
	/* alg none and HMAC are refused before any key is fetched for them */
	json_t *c = NULL;
	enum jose_status s = jose_jws_verify(NULL, token, &c);
	if (s == JOSE_ALG || s == JOSE_MALFORMED)
		return refuse(err, rule_of(s), jose_status_text(s));
	char why[256] = "";
	struct keyset *k = keys_for(id, kid, now, why, sizeof why);
	if (k == NULL)
		return tr_error_set(err, TR_E_IDP_UNAVAILABLE, NULL,
				    "the OpenID Provider's keys cannot be fetched");
	s = jose_jws_verify(k->jwks, token, &c);
	keyset_release(k);
	if (s == JOSE_NOMEM)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	if (s == JOSE_OK) {
		struct jose_expect e = {id->app->cfg->oidc_issuer, audience,
					(long long)id->app->cfg->oidc_skew};
		s = jose_claims_check(c, &e, now);
	}
	if (s != JOSE_OK) {
		json_decref(c);
		return refuse(err, rule_of(s), jose_status_text(s));
	}
	*claims = c;
	return TR_OK;
}

/* ---- the claim mapping ------------------------------------------------------------------- */

/* Whether claim `have` holds `want` (a string equal to it, or an array containing it). */
static bool claim_has(const json_t *have, const char *want)
{
	if (json_is_string(have))
		return strcmp(json_string_value(have), want) == 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_is_array(have) ? have : NULL, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return true;
	}
	return false;
}

bool identity_rule_matches(const json_t *match, const json_t *claims)
{
	const char *name;
	json_t *want;
	if (json_object_size(match) == 0)
		return false;
	json_object_foreach((json_t *)match, name, want) {
		json_t *have = json_object_get(claims, name);
		bool ok = false;
		if (json_is_string(want))
			ok = claim_has(have, json_string_value(want));
		size_t i;
		json_t *w;
		json_array_foreach(json_is_array(want) ? want : NULL, i, w) {
			ok = ok || (json_is_string(w) && claim_has(have, json_string_value(w)));
		}
		if (!ok)
			return false;
	}
	return true;
}

bool identity_map(const json_t *policy, const json_t *claims, struct identity_user *out)
{
	memset(out, 0, sizeof *out);
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const json_t *rule = NULL;
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(policy, "rules"), i, r) {
		if (identity_rule_matches(json_object_get(r, "match"), claims)) {
			rule = r;
			break;
		}
	}
	const char *user = json_string_value(json_object_get(rule, "user"));
	const char *name = user != NULL ? user : sub;
	if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof out->user.name)
		return false;
	snprintf(out->user.name, sizeof out->user.name, "%s", name);
	const char *email = json_string_value(json_object_get(claims, "email"));
	if (email != NULL && strlen(email) < sizeof out->user.email)
		snprintf(out->user.email, sizeof out->user.email, "%s", email);
	json_array_foreach(json_object_get(rule, "roles"), i, r) {
		if (json_is_string(r))
			out->user.roles |= role_from_name(json_string_value(r));
	}
	if (out->user.roles & ROLE_PIPELINE) {
		out->scoped = true;
		size_t used = 0;
		json_array_foreach(json_object_get(rule, "services"), i, r) {
			const char *svc = json_string_value(r);
			size_t n = svc ? strlen(svc) : 0;
			if (n == 0 || used + n + 2 > sizeof out->services)
				continue;
			used += (size_t)snprintf(out->services + used, sizeof out->services - used,
						 "%s%s", used ? " " : "", svc);
		}
	}
	return true;
}

enum tr_code identity_authenticate(struct identity *id, const json_t *policy, const char *token,
				   long long now, struct identity_user *out, struct tr_error *err)
{
	json_t *claims = NULL;
	memset(out, 0, sizeof *out);
	if (id != NULL && id->app->cfg->oidc_audience[0] == '\0')
		return refuse(err, TR_R_TOKEN_NOT_ACCEPTED,
			      "this service accepts no JWT access token (TRANSOM_OIDC_AUDIENCE is "
			      "not set)");
	enum tr_code rc = identity_verify(id, token, id ? id->app->cfg->oidc_audience : "", now,
					  &claims, err);
	if (rc != TR_OK)
		return rc;
	if (!identity_map(policy, claims, out)) {
		json_decref(claims);
		return refuse(err, TR_R_TOKEN_SUBJECT, "no user name in the token (sub too long?)");
	}
	json_t *exp = json_object_get(claims, "exp");
	out->exp =
		json_is_integer(exp) ? json_integer_value(exp) : (long long)json_number_value(exp);
	json_decref(claims);
	return TR_OK;
}
