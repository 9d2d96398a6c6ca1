/*
 * dispatch.c -- the generic request pipeline: route, authenticate, authorise, parse,
 * call the handler, shape errors; plus the access log and per-thread workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "api/feed_cache.h"
#include "api/stream_quota.h"
#include "core/alarm.h"
#include "core/clock.h"
#include "auth/roles.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "store/tokens.h"

/* ---- workers ---------------------------------------------------------------------------- */

static void on_db_error(void *cls)
{
	metrics_db_error(((struct app *)cls)->metrics);
}

static void on_db_reconnect(void *cls)
{
	metrics_db_reconnect(((struct app *)cls)->metrics);
}

static void worker_free(void *p)
{
	struct api_worker *w = p;
	if (w == NULL)
		return;
	store_free(w->store);
	defs_release(w->defs);
	free(w);
}

struct api_worker *api_worker_get(struct app *app)
{
	struct api_worker *w = pthread_getspecific(app->worker_key);
	if (w != NULL)
		return w;
	w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	struct store_hooks hooks = {on_db_error, on_db_reconnect, app};
	w->app = app;
	w->store = store_new(app->cfg->database_url, &hooks);
	if (w->store == NULL || pthread_setspecific(app->worker_key, w) != 0) {
		worker_free(w);
		return NULL;
	}
	return w;
}

struct store *api_store(struct http_req *req)
{
	return ((struct api_worker *)req->worker)->store;
}

struct defs *api_defs(struct http_req *req)
{
	struct api_worker *w = req->worker;
	return defs_holder_get(&w->app->defs, &w->defs, &w->defs_gen);
}

enum tr_code api_db_error(struct http_req *req, enum db_status s)
{
	if (s == DB_DOWN)
		return tr_error_set(&req->err, TR_E_DB_UNAVAILABLE, NULL,
				    "the database cannot be reached; retry shortly");
	if (s == DB_SOFT)
		return tr_error_set(&req->err, TR_E_DB_CONFLICT, NULL,
				    "the database kept reporting conflicts; retry");
	LOG_ERROR("event=db_error request_id=%s sqlstate=%s error=\"%s\"", req->request_id,
		  store_last_sqlstate(api_store(req)), store_last_error(api_store(req)));
	return tr_error_set(&req->err, TR_E_INTERNAL, NULL, "a database statement failed");
}

int api_app_init(struct app *app, const struct config *cfg, struct defs *initial)
{
	memset(app, 0, sizeof *app);
	app->cfg = cfg;
	app->route_names = calloc(api_routes_count, sizeof *app->route_names);
	if (app->route_names == NULL)
		return -1;
	for (size_t i = 0; i < api_routes_count; i++)
		app->route_names[i] = api_routes[i].pattern;
	app->metrics = metrics_new(app->route_names, api_routes_count);
	if (app->metrics == NULL || pthread_key_create(&app->worker_key, worker_free) != 0) {
		metrics_free(app->metrics);
		free(app->route_names);
		return -1;
	}
	atomic_init(&app->token_gen, 1); /* memos start at 0: all stale */
	defs_holder_init(&app->defs, initial);
	pthread_mutex_init(&app->remote_lock, NULL);
	app->remote = json_array();
	app->alarms = alarm_clock_start(); /* NULL: long-polls answer at once */
	app->feed_cache = feed_cache_new();
	/* 256: the event hub's subscribers (events_hub_opts.max_subscribers left 0) */
	app->streams = stream_quota_new(cfg->streams_per_user, cfg->streams_per_privileged, 256,
					cfg->streams_reserved);
	if (app->feed_cache == NULL || app->streams == NULL) {
		api_app_destroy(app);
		return -1;
	}
	if (cfg->public_url[0] != '\0')
		snprintf(app->public_url, sizeof app->public_url, "%s", cfg->public_url);
	else
		snprintf(app->public_url, sizeof app->public_url, "http://%s:%u", cfg->listen_host,
			 cfg->listen_port);
	return 0;
}

json_t *api_remote_status(struct app *app)
{
	pthread_mutex_lock(&app->remote_lock);
	json_t *copy = json_deep_copy(app->remote);
	pthread_mutex_unlock(&app->remote_lock);
	return copy ? copy : json_array();
}

void api_app_destroy(struct app *app)
{
	struct api_worker *w = pthread_getspecific(app->worker_key);
	worker_free(w);
	pthread_setspecific(app->worker_key, NULL);
	pthread_key_delete(app->worker_key);
	defs_holder_destroy(&app->defs);
	metrics_free(app->metrics);
	free(app->route_names);
	json_decref(app->remote);
	pthread_mutex_destroy(&app->remote_lock);
	alarm_clock_stop(app->alarms);
	feed_cache_free(app->feed_cache);
	app->feed_cache = NULL;
	stream_quota_free(app->streams);
	app->streams = NULL;
}

/* ---- the pipeline ----------------------------------------------------------------------- */

void api_tokens_changed(void *cls)
{
	struct app *app = cls;
	atomic_fetch_add(&app->token_gen, 1);
}

/*
 * Looks token `hash` up, remembering the answer per thread.  A remembered lookup stands
 * until the app's token generation moves (a revocation here bumps it at once; one on
 * another replica or by the CLI arrives as a NOTIFY within milliseconds; losing the
 * LISTEN connection bumps it too), and never longer than TOKEN_MEMO_MS.
 */
#define TOKEN_MEMO_MS 30000
static enum db_status token_lookup(struct http_req *req, const char *hash, const char *basic)
{
	struct api_worker *w = req->worker;
	struct app *app = w->app;
	unsigned long gen = atomic_load(&app->token_gen);
	long long now = clock_mono_ms();
	struct token_memo *m =
		&w->tokens[strtoul((char[3]){hash[0], hash[1], 0}, NULL, 16) % TOKEN_MEMO_SLOTS];
	if (m->gen == gen && now < m->expires_ms && strcmp(m->hash, hash) == 0) {
		req->user = m->user;
		return DB_ONE;
	}
	enum db_status s = basic != NULL ? api_app_password_lookup(req, basic, &req->user)
					 : store_token_lookup(api_store(req), hash, &req->user);
	if (s == DB_ONE) {
		memcpy(m->hash, hash, sizeof m->hash);
		m->user = req->user;
		m->gen = gen; /* the generation read before the lookup: a later bump wins */
		m->expires_ms = now + TOKEN_MEMO_MS;
	}
	return s;
}

/*
 * HTTP Basic with an app password (ROUTE_BASIC_AUTH routes): remembered like tokens, by
 * the SHA-256 of the credentials ("basic:" + base64), which never equals a token's.
 */
static enum tr_code authenticate_basic(struct http_req *req, struct http_reply *rep, const char *h)
{
	char hash[CRYPTO_SHA256_HEX_LEN], key[1024];
	const char *cred = h + 6;
	while (*cred == ' ')
		cred++;
	int n = snprintf(key, sizeof key, "basic:%s", cred);
	enum db_status s = DB_NONE;
	if (n > 0 && (size_t)n < sizeof key) {
		crypto_sha256_hex(key, (size_t)n, hash);
		s = token_lookup(req, hash, cred);
	}
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE) {
		memset(&req->user, 0, sizeof req->user);
		http_reply_header(rep, "WWW-Authenticate",
				  "Basic realm=\"Transom\", charset=\"UTF-8\"");
		return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "Authorization",
				    "unknown user or app password (POST /v1/me/app-passwords "
				    "makes one)");
	}
	return TR_OK;
}

static enum tr_code authenticate(struct http_req *req, struct http_reply *rep)
{
	const char *h = http_req_header(req, "Authorization");
	char hash[CRYPTO_SHA256_HEX_LEN];

	if (req->match.route->flags & ROUTE_BASIC_AUTH) {
		if (h != NULL && strncasecmp(h, "Basic ", 6) == 0)
			return authenticate_basic(req, rep, h);
		if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
			http_reply_header(rep, "WWW-Authenticate",
					  "Basic realm=\"Transom\", charset=\"UTF-8\"");
			return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "Authorization",
					    "send HTTP Basic credentials: your user name and an "
					    "app password");
		}
	}
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		http_reply_header(rep, "WWW-Authenticate", "Bearer realm=\"transom\"");
		return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "Authorization",
				    "send 'Authorization: Bearer <token>'");
	}
	const char *token = h + 7;
	while (*token == ' ')
		token++;
	crypto_sha256_hex(token, strlen(token), hash);
	enum db_status s = token_lookup(req, hash, NULL);
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE) {
		http_reply_header(rep, "WWW-Authenticate",
				  "Bearer realm=\"transom\", error=\"invalid_token\"");
		return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "Authorization",
				    "the token is unknown or revoked");
	}
	return TR_OK;
}

static enum tr_code authorize(struct http_req *req)
{
	const struct http_route *r = req->match.route;
	char need[128];
	if (req->user.roles & r->roles)
		return TR_OK;
	tr_error_set(&req->err, TR_E_FORBIDDEN, NULL, "%s %s requires one of the roles: %s",
		     req->method_name, r->pattern, roles_format(r->roles, need, sizeof need));
	tr_error_rule(&req->err, "role");
	return TR_E_FORBIDDEN;
}

static bool is_json_type(const char *ct)
{
	size_t n = strcspn(ct, "; ");
	return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
	       (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

static enum tr_code parse_json_body(struct http_req *req)
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
	enum route_result rr =
		route_match(api_routes, api_routes_count, req->method, req->path, &req->match);
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
	if ((r->flags & ROUTE_JSON_BODY) && (rc = parse_json_body(req)) != TR_OK)
		return rc;
	return r->handler(req, rep);
}

void api_dispatch(void *cls, struct http_req *req, struct http_reply *rep)
{
	struct app *app = cls;
	req->worker = api_worker_get(app);
	enum tr_code rc = req->worker == NULL ? TR_E_NOMEM : run(req, rep);
	if (rc == TR_OK && rep->status != 0)
		return;
	if (rc == TR_OK)
		rc = TR_E_INTERNAL;
	if (req->err.code != rc) /* a handler returned a code without detail */
		tr_error_set(&req->err, rc, NULL, "%s", tr_code_title(rc));
	if (tr_code_http_status(rc) >= 500 && rc != TR_E_DB_UNAVAILABLE)
		LOG_ERROR("event=request_failed request_id=%s code=%s detail=\"%s\"",
			  req->request_id, tr_code_slug(rc), req->err.detail);
	/* Keep headers such as Allow and WWW-Authenticate; replace any body. */
	http_reply_problem(rep, req, &req->err, NULL);
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
