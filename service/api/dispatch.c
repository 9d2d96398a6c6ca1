/*
 * dispatch.c -- the generic request pipeline: route, authenticate, authorise, parse,
 * call the handler, shape errors; plus the access log and per-thread workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/stream_quota.h"
#include "core/alarm.h"
#include "core/clock.h"
#include "auth/roles.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "app/credentials.h"
#include "app/identity.h"
#include "app/web_sessions.h"

/* ---- workers ---------------------------------------------------------------------------- */

static void worker_free(void *p)
{
	free(p);
}

struct api_worker *api_worker_get(struct api *api)
{
	struct api_worker *w = pthread_getspecific(api->worker_key);
	if (w != NULL)
		return w;
	w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->api = api;
	w->app = &api->app;
	w->session = app_worker_get(w->app);
	if (w->session == NULL || pthread_setspecific(api->worker_key, w) != 0) {
		worker_free(w);
		return NULL;
	}
	return w;
}

struct app_session *api_session(struct http_req *req)
{
	return ((struct api_worker *)req->worker)->session;
}

bool api_short_only(const struct http_req *req)
{
	return ((const struct api_worker *)req->worker)->inline_run;
}

struct app_actor api_actor(const struct http_req *req)
{
	return (struct app_actor){req->user.name, req->user.roles, req->user.token_id,
				  req->request_id};
}

int api_init(struct api *api, const struct config *cfg, struct defs *initial)
{
	memset(api, 0, sizeof *api);
	api->route_names = calloc(api_routes_count, sizeof *api->route_names);
	if (api->route_names == NULL)
		return -1;
	for (size_t i = 0; i < api_routes_count; i++)
		api->route_names[i] = api_routes[i].pattern;
	/* max_streams: also the event hub's subscribers (serve.c) */
	api->streams = stream_quota_new(cfg->streams_per_user, cfg->streams_per_privileged,
					cfg->max_streams, cfg->streams_reserved);
	if (api->streams == NULL || pthread_key_create(&api->worker_key, worker_free) != 0) {
		stream_quota_free(api->streams);
		free(api->route_names);
		return -1;
	}
	if (app_init(&api->app, cfg, initial, api->route_names, api_routes_count) != 0) {
		pthread_key_delete(api->worker_key);
		stream_quota_free(api->streams);
		free(api->route_names);
		return -1;
	}
	for (size_t i = 0; i < API_INLINE_SESSIONS; i++) {
		/* A session that cannot be made stays DOWN with none: no inline run uses it. */
		api->inl.session[i] = app_session_new(
			&api->app, APP_SESSION_TIMEOUTS | APP_SESSION_HOOKS | APP_SESSION_SHORT);
		atomic_init(&api->inl.state[i], API_INLINE_DOWN);
		atomic_init(&api->inl.retry_ms[i], 0);
	}
	atomic_init(&api->inl.paused_until_ms, 0);
	return 0;
}

void api_destroy(struct api *api)
{
	struct api_worker *w = pthread_getspecific(api->worker_key);
	worker_free(w);
	pthread_setspecific(api->worker_key, NULL);
	pthread_key_delete(api->worker_key);
	for (size_t i = 0; i < API_INLINE_SESSIONS; i++) {
		app_session_free(api->inl.session[i]);
		api->inl.session[i] = NULL;
	}
	app_destroy(&api->app);
	free(api->route_names);
	stream_quota_free(api->streams);
	api->streams = NULL;
}

/* ---- the pipeline ----------------------------------------------------------------------- */

void api_tokens_changed(void *cls)
{
	struct api *api = cls;
	app_credentials_changed(&api->app);
}

/* The memo slot of credential hash `hash` in this thread. */
static struct token_memo *memo_slot(struct api_worker *w, const char *hash)
{
	return &w->tokens[strtoul((char[3]){hash[0], hash[1], 0}, NULL, 16) % TOKEN_MEMO_SLOTS];
}

/* Whether `m` still answers for credential `hash` of kind `kind`. */
static bool memo_hit(const struct token_memo *m, enum api_cred_kind kind, unsigned long gen,
		     long long now_mono, const char *hash)
{
	return m->kind == kind && m->gen == gen && now_mono < m->expires_ms &&
	       strcmp(m->hash, hash) == 0;
}

/* Remembers `user` for credential `hash` of kind `kind`: `gen` is the generation read
 * before the lookup, so a bump during it wins. */
static void memo_keep(struct token_memo *m, enum api_cred_kind kind, const char *hash,
		      const struct http_user *user, unsigned long gen, long long expires_mono)
{
	m->kind = kind;
	memcpy(m->hash, hash, sizeof m->hash);
	m->user = *user;
	m->gen = gen;
	m->expires_ms = expires_mono;
}

/* req->user from a credential lookup's user. */
static void user_from_app(struct http_req *req, const struct app_user *u)
{
	memset(&req->user, 0, sizeof req->user);
	snprintf(req->user.name, sizeof req->user.name, "%s", u->name);
	snprintf(req->user.email, sizeof req->user.email, "%s", u->email);
	snprintf(req->user.display_name, sizeof req->user.display_name, "%s", u->display_name);
	req->user.roles = u->roles;
}

/*
 * Looks credential `hash` of kind `kind` up (a bearer token; or the Basic `basic`
 * credentials, base64) into req->user and *found, remembering the answer per thread.  A remembered
 * lookup stands only for the same kind and hash, until the app's token generation moves (a
 * revocation or a user disabled here bumps it at once; one on another replica or by the CLI arrives
 * as a NOTIFY within milliseconds; losing the LISTEN connection bumps it too), and never
 * longer than TOKEN_MEMO_MS.  The database lookups check the user's state and the
 * credential's own revocation.
 */
#define TOKEN_MEMO_MS 30000
static enum tr_code token_lookup(struct http_req *req, enum api_cred_kind kind, const char *hash,
				 const char *basic, bool memo_only, bool *found)
{
	struct api_worker *w = req->worker;
	struct app *app = w->app;
	unsigned long gen = atomic_load(&app->token_gen);
	*found = false;
	long long now = clock_mono_ms();
	struct token_memo *m = memo_slot(w, hash);
	if (memo_hit(m, kind, gen, now, hash)) {
		req->user = m->user;
		*found = true;
		return TR_OK;
	}
	if (memo_only)
		return TR_OK;
	struct app_user u = {0};
	enum tr_code rc =
		kind == API_CRED_BASIC
			? app_auth_basic(w->session, basic, req->request_id, &u, found, &req->err)
			: app_auth_bearer(w->session, hash, req->request_id, &u, found, &req->err);
	if (rc == TR_OK && *found) {
		user_from_app(req, &u);
		req->user.token_id = u.token_id;
		memo_keep(m, kind, hash, &req->user, gen, now + TOKEN_MEMO_MS);
	}
	return rc;
}

/* The 401 of a DAV route: calendar programs answer a Basic challenge. */
static enum tr_code basic_challenge(struct http_req *req, struct http_reply *rep, const char *why)
{
	memset(&req->user, 0, sizeof req->user);
	http_reply_header(rep, "WWW-Authenticate", "Basic realm=\"Transom\", charset=\"UTF-8\"");
	return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "Authorization", "%s", why);
}

/*
 * HTTP Basic with an app password (ROUTE_BASIC_AUTH routes, and only those): remembered
 * like tokens, by the SHA-256 of the credentials, under kind API_CRED_BASIC.
 */
static enum tr_code authenticate_basic(struct http_req *req, struct http_reply *rep, const char *h)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	const char *cred = h + 6;
	while (*cred == ' ')
		cred++;
	bool found = false;
	enum tr_code rc = TR_OK;
	if (strlen(cred) < 1024) {
		crypto_sha256_hex(cred, strlen(cred), hash);
		rc = token_lookup(req, API_CRED_BASIC, hash, cred, false, &found);
	}
	if (rc != TR_OK)
		return rc;
	if (!found)
		return basic_challenge(req, rep,
				       "unknown user or app password (POST /v1/me/app-passwords "
				       "makes one)");
	return TR_OK;
}

/*
 * JWT `token` (its SHA-256 hex `hash`) of the OpenID Provider into req->user: verified
 * and mapped by app/identity.h, without a database lookup.  The answer is remembered per
 * thread like an opaque token's (kind API_CRED_JWT), never past the token's exp.
 */
static enum tr_code jwt_lookup(struct http_req *req, const char *token, const char *hash,
			       bool memo_only, bool *invalid)
{
	struct api_worker *w = req->worker;
	struct app *app = w->app;
	unsigned long gen = atomic_load(&app->token_gen);
	long long mono = clock_mono_ms();
	struct token_memo *m = memo_slot(w, hash);
	if (memo_hit(m, API_CRED_JWT, gen, mono, hash)) {
		req->user = m->user;
		return TR_OK;
	}
	if (w->inline_run) /* verifying may fetch the provider's keys: a worker does */
		w->must_defer = true;
	if (memo_only || w->inline_run)
		return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "Authorization",
				    "JWT not checked yet");
	struct defs *d = app_session_defs(api_session(req));
	struct identity_user u;
	long long now_ms = clock_now_ms();
	enum tr_code rc = identity_authenticate(app->identity, d ? d->identity : NULL, token,
						now_ms / 1000, &u, &req->err);
	if (rc == TR_OK) /* a disabled user's JWTs stop too (the memo forgets on disable) */
		rc = app_user_active(api_session(req), u.user.name, req->request_id, &req->err);
	if (rc != TR_OK) {
		memset(&req->user, 0, sizeof req->user);
		*invalid = rc == TR_E_UNAUTHENTICATED;
		return rc;
	}
	user_from_app(req, &u.user);
	req->user.scoped = u.scoped;
	snprintf(req->user.services, sizeof req->user.services, "%s", u.services);
	req->user.expires_ms = u.exp * 1000;
	long long left_ms = u.exp * 1000 - now_ms;
	memo_keep(m, API_CRED_JWT, hash, &req->user, gen,
		  mono + (left_ms < TOKEN_MEMO_MS ? left_ms : TOKEN_MEMO_MS));
	return TR_OK;
}

/*
 * A bearer token from header `h` (NULL: none) into req->user.  TR_OK, or
 * TR_E_UNAUTHENTICATED with the detail set (the caller adds the challenge), or a
 * database error.
 */
static enum tr_code authenticate_bearer(struct http_req *req, const char *h, bool memo_only,
					bool *invalid)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	*invalid = false;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0')
		return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "Authorization",
				    "send 'Authorization: Bearer <token>'");
	const char *token = h + 7;
	while (*token == ' ')
		token++;
	crypto_sha256_hex(token, strlen(token), hash);
	if (identity_is_jwt(token))
		return jwt_lookup(req, token, hash, memo_only, invalid);
	bool found;
	enum tr_code rc = token_lookup(req, API_CRED_BEARER, hash, NULL, memo_only, &found);
	if (rc != TR_OK)
		return rc;
	if (!found) {
		memset(&req->user, 0, sizeof req->user);
		*invalid = true;
		return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "Authorization",
				    "the token is unknown or revoked, or its user is disabled");
	}
	return TR_OK;
}

/*
 * The web app's session cookie `secret` into req->user, remembered per thread like a
 * token (kind API_CRED_SESSION, by the SHA-256 of the secret).  A request that may change
 * something (any method but GET, HEAD and OPTIONS) must carry the session's CSRF token
 * in X-CSRF-Token (app/web_sessions.h): 403 rule "csrf" otherwise.
 */
static enum tr_code authenticate_session(struct http_req *req, const char *secret)
{
	struct api_worker *w = req->worker;
	struct app *app = w->app;
	char hash[CRYPTO_SHA256_HEX_LEN], csrf[APP_SESSION_CSRF_LEN];
	unsigned long gen = atomic_load(&app->token_gen);
	long long now = clock_mono_ms();
	crypto_sha256_hex(secret, strlen(secret), hash);
	struct token_memo *m = memo_slot(w, hash);
	if (memo_hit(m, API_CRED_SESSION, gen, now, hash)) {
		req->user = m->user;
	} else {
		struct app_user u = {0};
		bool found = false;
		enum tr_code rc = app_session_check(w->session, secret, req->request_id, &u, csrf,
						    &found, &req->err);
		if (rc != TR_OK)
			return rc;
		if (!found)
			return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "Cookie",
					    "the session has ended or expired: sign in again");
		user_from_app(req, &u);
		req->user.session_id = u.token_id;
		memo_keep(m, API_CRED_SESSION, hash, &req->user, gen, now + TOKEN_MEMO_MS);
	}
	if (req->method == HTTP_GET || req->method == HTTP_HEAD || req->method == HTTP_OPTIONS)
		return TR_OK;
	app_session_csrf(secret, csrf);
	const char *sent = http_req_header(req, "X-CSRF-Token");
	if (sent == NULL || !crypto_equal(sent, csrf)) {
		memset(&req->user, 0, sizeof req->user);
		tr_error_set(&req->err, TR_E_FORBIDDEN, "X-CSRF-Token",
			     "a %s with the session cookie needs the session's CSRF token in "
			     "X-CSRF-Token (GET /v1/session gives it)",
			     req->method_name);
		tr_error_rule(&req->err, TR_R_CSRF);
		return TR_E_FORBIDDEN;
	}
	return TR_OK;
}

bool api_cookie(const struct http_req *req, const char *name, char *out, size_t outlen)
{
	const char *v = http_req_cookie(req, name);
	size_t n = v != NULL ? strlen(v) : 0;
	if (n == 0 || n >= outlen)
		return false;
	memcpy(out, v, n + 1);
	return true;
}

bool api_session_cookie(const struct http_req *req, char *out, size_t outlen)
{
	return api_cookie(req, APP_SESSION_COOKIE, out, outlen);
}

/*
 * The credential a route takes, and no other: DAV routes (ROUTE_BASIC_AUTH) an app
 * password over HTTP Basic; SCIM routes (ROUTE_SCIM) a bearer token; webhooks of machines
 * (ROUTE_BASIC_TOO) a bearer token or an app password over HTTP Basic; every other route
 * a bearer token or, without an Authorization header, the web app's session cookie.
 */
static enum tr_code authenticate(struct http_req *req, struct http_reply *rep)
{
	const char *h = http_req_header(req, "Authorization");

	if (req->match.route->flags & ROUTE_BASIC_AUTH) {
		if (h != NULL && strncasecmp(h, "Basic ", 6) == 0)
			return authenticate_basic(req, rep, h);
		return basic_challenge(req, rep,
				       "send HTTP Basic credentials: your user name and an app "
				       "password (API tokens are not accepted here)");
	}
	if ((req->match.route->flags & ROUTE_BASIC_TOO) && h != NULL &&
	    strncasecmp(h, "Basic ", 6) == 0)
		return authenticate_basic(req, rep, h);
	char secret[APP_SESSION_SECRET_MAX];
	/* A provisioning client (ROUTE_SCIM) or a machine's webhook (ROUTE_BASIC_TOO) sends
	 * its own credential; a browser's cookie is not one there. */
	if (h == NULL && !(req->match.route->flags & (ROUTE_SCIM | ROUTE_BASIC_TOO)) &&
	    api_session_cookie(req, secret, sizeof secret)) {
		enum tr_code rc = authenticate_session(req, secret);
		explicit_bzero(secret, sizeof secret);
		return rc;
	}
	bool invalid;
	enum tr_code rc = authenticate_bearer(req, h, false, &invalid);
	if (rc == TR_E_UNAUTHENTICATED)
		http_reply_header(rep, "WWW-Authenticate",
				  invalid ? "Bearer realm=\"transom\", error=\"invalid_token\""
					  : "Bearer realm=\"transom\"");
	return rc;
}

bool api_caller_is_admin(struct http_req *req, bool memo_only)
{
	const char *h = http_req_header(req, "Authorization");
	bool invalid;
	if (h == NULL || authenticate_bearer(req, h, memo_only, &invalid) != TR_OK) {
		memset(&req->user, 0, sizeof req->user);
		memset(&req->err, 0, sizeof req->err);
		return false;
	}
	return (req->user.roles & ROLE_ADMIN) != 0;
}

static enum tr_code authorize(struct http_req *req)
{
	const struct http_route *r = req->match.route;
	char need[128];
	if (req->user.roles & r->roles)
		return TR_OK;
	tr_error_set(&req->err, TR_E_FORBIDDEN, NULL, "%s %s requires one of the roles: %s",
		     req->method_name, r->pattern, roles_format(r->roles, need, sizeof need));
	tr_error_rule(&req->err, TR_R_ROLE);
	return TR_E_FORBIDDEN;
}

static bool is_json_type(const char *ct)
{
	size_t n = strcspn(ct, "; ");
	return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
	       (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

enum tr_code api_json_body(struct http_req *req)
{
	const char *ct = http_req_header(req, "Content-Type");
	json_error_t je;

	if (ct != NULL && !is_json_type(ct))
		return tr_error_set(&req->err, TR_E_UNSUPPORTED_MEDIA, "Content-Type",
				    "expected application/json, got '%s'", ct);
	if (req->body_len == 0)
		return tr_error_set(&req->err, TR_E_BAD_REQUEST, NULL,
				    "a JSON object body is required");
	req->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	if (req->json == NULL)
		return tr_error_set(&req->err, TR_E_MALFORMED_JSON, NULL, "line %d, column %d: %s",
				    je.line, je.column, je.text);
	if (!json_is_object(req->json))
		return tr_error_set(&req->err, TR_E_BAD_REQUEST, NULL,
				    "the body must be a JSON object");
	return TR_OK;
}

static enum tr_code run(struct http_req *req, struct http_reply *rep)
{
	/* Before anything reads them: no path, query or header byte may be malformed text. */
	if (!http_req_text_ok(req, &req->err))
		return req->err.code;
	/* api_run_inline has matched the route already */
	enum route_result rr = req->match.route != NULL
				       ? ROUTE_MATCHED
				       : route_match(api_routes, api_routes_count, req->method,
						     req->path, &req->match);
	if (rr == ROUTE_NO_SUCH_PATH)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, NULL, "no route for %s", req->path);
	if (rr == ROUTE_WRONG_METHOD) {
		char allow[128];
		http_methods_format(req->match.allowed, allow, sizeof allow);
		http_reply_header(rep, "Allow", allow);
		return tr_error_set(&req->err, TR_E_METHOD_NOT_ALLOWED, NULL,
				    "%s is not allowed on %s; allowed: %s", req->method_name,
				    req->path, allow);
	}
	const struct http_route *r = req->match.route;
	enum tr_code rc;
	if (!(r->flags & ROUTE_PUBLIC)) {
		if ((rc = authenticate(req, rep)) != TR_OK || (rc = authorize(req)) != TR_OK)
			return rc;
	}
	if ((r->flags & ROUTE_JSON_BODY) && (rc = api_json_body(req)) != TR_OK)
		return rc;
	return r->handler(req, rep);
}

/* Fills `rep` from the outcome `rc` of run() when the handler did not. */
static void reply_outcome(struct http_req *req, struct http_reply *rep, enum tr_code rc)
{
	if (rc == TR_OK && rep->status != 0)
		return;
	if (rc == TR_OK)
		rc = TR_E_INTERNAL;
	if (req->err.code != rc) /* a handler returned a code without detail */
		tr_error_set(&req->err, rc, NULL, "%s", tr_code_title(rc));
	/* Keep headers such as Allow and WWW-Authenticate; replace any body.  An internal
	 * error's detail goes to the log, not the client (http_reply_problem).  Under /scim/
	 * every error is in SCIM's shape, even when no route matched. */
	if (strncmp(req->path, "/scim/", 6) == 0)
		h_scim_error(req, rep);
	else
		http_reply_problem(rep, req, &req->err, NULL);
}

/* ---- short requests on the transport threads (ROUTE_INLINE) ----------------------------- */

/* Takes a READY inline session (BUSY now): its index, or -1 when none is. */
static int inline_take(struct api *api)
{
	for (int i = 0; i < API_INLINE_SESSIONS; i++) {
		int ready = API_INLINE_READY;
		if (atomic_compare_exchange_strong(&api->inl.state[i], &ready, API_INLINE_BUSY))
			return i;
	}
	return -1;
}

/* Gives inline session `i` back: READY, or DOWN when its connection was lost. */
static void inline_give(struct api *api, int i, long long now)
{
	if (app_session_connected(api->inl.session[i])) {
		atomic_store(&api->inl.state[i], API_INLINE_READY);
		return;
	}
	atomic_store(&api->inl.retry_ms[i], now + API_INLINE_RETRY_MS);
	atomic_store(&api->inl.state[i], API_INLINE_DOWN);
}

/*
 * On a worker, after its request: connects each DOWN inline session whose retry time has
 * come, so that the transport threads never connect (a database that does not answer
 * holds this worker as long as connecting takes, like any of its own statements).
 */
static void inline_connect(struct api *api)
{
	long long now = clock_mono_ms();
	for (int i = 0; i < API_INLINE_SESSIONS; i++) {
		int down = API_INLINE_DOWN;
		if (api->inl.session[i] == NULL || now < atomic_load(&api->inl.retry_ms[i]) ||
		    !atomic_compare_exchange_strong(&api->inl.state[i], &down,
						    API_INLINE_CONNECTING))
			continue;
		if (app_session_connect(api->inl.session[i])) {
			atomic_store(&api->inl.state[i], API_INLINE_READY);
		} else {
			atomic_store(&api->inl.retry_ms[i], clock_mono_ms() + API_INLINE_RETRY_MS);
			atomic_store(&api->inl.state[i], API_INLINE_DOWN);
		}
	}
}

bool api_run_inline(void *cls, struct http_req *req, struct http_reply *rep)
{
	struct api *api = cls;
	struct route_match m;
	if (route_match(api_routes, api_routes_count, req->method, req->path, &m) !=
		    ROUTE_MATCHED ||
	    !(m.route->flags & ROUTE_INLINE))
		return false;
	long long now = clock_mono_ms();
	if (now < atomic_load(&api->inl.paused_until_ms))
		return false;
	struct api_worker *w = api_worker_get(api);
	int i = w != NULL ? inline_take(api) : -1;
	if (i < 0)
		return false;
	struct app_session *own = w->session;
	w->session = api->inl.session[i];
	req->match = m;
	w->inline_run = true;
	w->must_defer = false;
	app_session_commit_unknown(w->session); /* forgets an earlier run's */
	req->worker = w;
	enum tr_code rc = run(req, rep);
	/* A write whose COMMIT was lost on the way may have been made: answered (503) as a
	 * worker would answer it, never run a second time. */
	bool made = app_session_commit_unknown(api->inl.session[i]);
	w->session = own;
	w->inline_run = false;
	inline_give(api, i, now);
	/* What a worker may answer otherwise: the database kept this run waiting (or its
	 * connection is gone), the credential needs what may wait, or a write needs more
	 * than short statements (TR_E_DEFERRED: rolled back). */
	bool slow =
		!made && (rc == TR_E_DB_TIMEOUT || rc == TR_E_DB_UNAVAILABLE ||
			  req->err.code == TR_E_DB_TIMEOUT || req->err.code == TR_E_DB_UNAVAILABLE);
	if (rc == TR_E_DEFERRED || req->err.code == TR_E_DEFERRED)
		w->must_defer = true;
	if (slow || w->must_defer) {
		if (slow)
			atomic_store(&api->inl.paused_until_ms,
				     clock_mono_ms() + API_INLINE_PAUSE_MS);
		w->must_defer = false;
		http_reply_clear(rep);
		json_decref(req->json);
		req->json = NULL;
		memset(&req->match, 0, sizeof req->match);
		memset(&req->user, 0, sizeof req->user);
		memset(&req->err, 0, sizeof req->err);
		req->worker = NULL;
		return false;
	}
	reply_outcome(req, rep, rc);
	return true;
}

void api_dispatch(void *cls, struct http_req *req, struct http_reply *rep)
{
	req->worker = api_worker_get(cls);
	reply_outcome(req, rep, req->worker == NULL ? TR_E_NOMEM : run(req, rep));
	/* Not on a transport thread (a quick route runs there) */
	if (req->match.route == NULL || !(req->match.route->flags & ROUTE_QUICK))
		inline_connect(cls);
}

bool api_is_quick(void *cls, const struct http_req *req)
{
	struct route_match m;
	(void)cls;
	return route_match(api_routes, api_routes_count, req->method, req->path, &m) ==
		       ROUTE_MATCHED &&
	       (m.route->flags & ROUTE_QUICK);
}

void api_done(void *cls, const struct http_req *req, const struct http_reply *rep, double seconds)
{
	struct app *app = cls;
	const char *route = req->match.route ? req->match.route->pattern : "-";
	size_t index = req->match.route ? req->match.index : api_routes_count;
	metrics_request(app->metrics, index, rep->status, seconds);
	LOG_INFO("event=request method=%s route=%s status=%d duration_ms=%.2f request_id=%s "
		 "user=%s",
		 req->method_name, route, rep->status, seconds * 1000.0, req->request_id,
		 req->user.name[0] ? req->user.name : "-");
}
