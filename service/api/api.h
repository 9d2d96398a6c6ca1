/*
 * api.h -- the application behind the HTTP transport: route table, dispatcher, handlers.
 *
 * The dispatcher runs the generic checks once, in order, before any handler: route
 * (404/405), authentication (401), role (403), JSON body (415/400); then the handler;
 * then one problem+json shape for every error.  Handlers never see libmicrohttpd.
 */
#ifndef TRANSOM_API_H
#define TRANSOM_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "app/app.h"
#include "app/session.h"
#include "http/http.h"

/*
 * The database sessions of the short requests answered on the transport threads
 * (ROUTE_INLINE, api_run_inline): one per transport thread, with short timeouts and no
 * connect of their own.  A transport thread takes a READY one for one request and gives
 * it back; a worker connects a DOWN one after its own request (never a transport thread).
 */
enum api_inline_state {
	API_INLINE_DOWN,       /* not connected; a worker connects it from `retry_ms` on */
	API_INLINE_CONNECTING, /* a worker is connecting it */
	API_INLINE_READY,      /* connected and free */
	API_INLINE_BUSY        /* a transport thread is using it */
};

#define API_INLINE_SESSIONS HTTP_TRANSPORT_THREADS
#define API_INLINE_RETRY_MS 1000 /* between connects of a DOWN session */
#define API_INLINE_PAUSE_MS 1000 /* no inline run after one the database kept waiting */

struct api_inline {
	struct app_session *session[API_INLINE_SESSIONS]; /* owned */
	atomic_int state[API_INLINE_SESSIONS];            /* enum api_inline_state */
	atomic_llong retry_ms[API_INLINE_SESSIONS];       /* monotonic */
	atomic_llong paused_until_ms;                     /* monotonic */
};

/*
 * The HTTP side of the process: the application context (first member, so a handler's
 * req->app is both) and what only the transport needs.
 */
struct api {
	struct app app;
	const char **route_names; /* the route patterns, for the metrics (owned array) */
	pthread_key_t worker_key; /* per-thread struct api_worker */
	/* Open event streams and long-polls per user (api/stream_quota.h). */
	struct stream_quota *streams;
	/* Set by cmd_serve on SIGTERM/SIGINT: /readyz answers 503 "draining" from then on,
	 * so a load balancer stops sending new requests before the listener closes. */
	atomic_bool draining;
	struct api_inline inl;
};

/* The two kinds of credential; they never stand in for each other. */
enum api_cred_kind {
	API_CRED_NONE = 0, /* an empty memo slot */
	API_CRED_BEARER,   /* an API token (Authorization: Bearer), API routes only */
	API_CRED_BASIC,    /* an app password (HTTP Basic), DAV routes only */
	API_CRED_JWT,      /* an OpenID Provider's JWT (Authorization: Bearer), until its exp */
	API_CRED_SESSION   /* the web app's session cookie, API routes only */
};

/*
 * A remembered credential lookup (see authenticate() in dispatch.c).  A hit needs the
 * same kind and the same hash: a Basic entry can never answer a bearer lookup.
 */
struct token_memo {
	enum api_cred_kind kind;
	char hash[65]; /* SHA-256 hex of the credential as sent */
	struct http_user user;
	unsigned long gen;    /* app->token_gen when it was looked up */
	long long expires_ms; /* monotonic; a safety net behind the generation */
};

#define TOKEN_MEMO_SLOTS 64

/*
 * Per-thread state: this thread's application session (its database connection and
 * definitions, app/session.h) and the token memo.
 */
struct api_worker {
	struct api *api;
	struct app *app;             /* &api->app */
	struct app_session *session; /* app_worker_get(app), or an inline session during
					api_run_inline: owned by the app or the api */
	struct token_memo tokens[TOKEN_MEMO_SLOTS];
	bool inline_run; /* in api_run_inline: nothing may wait long (no JWKS fetch) */
	bool must_defer; /* in api_run_inline: the request needs what a worker may do */
};

/*
 * Forgets every remembered token lookup, in every thread, and ends the event streams of
 * dead credentials (app_credentials_changed; thread-safe; any thread).  `api`: struct api.
 */
void api_tokens_changed(void *api);

/* The route table and its size. */
extern const struct http_route api_routes[];
extern const size_t api_routes_count;

/*
 * Prepares `api` and its application context.  `cfg` and `initial` defs: borrowed and
 * stolen.  Returns 0, or -1 when out of memory (then `initial` is still the caller's).
 */
int api_init(struct api *api, const struct config *cfg, struct defs *initial);
void api_destroy(struct api *api);

/* The http_dispatch_fn and http_done_fn for http_server_start (cls = struct api). */
void api_dispatch(void *cls, struct http_req *req, struct http_reply *rep);
/* http_server_opts.is_quick: the request's route is ROUTE_QUICK. */
bool api_is_quick(void *cls, const struct http_req *req);
/*
 * http_server_opts.run_inline: a ROUTE_INLINE request, answered at once on a READY
 * inline session, exactly as api_dispatch would (the same checks and handler).  False,
 * with `req` and `rep` as they were, when no session is ready, inline runs are paused,
 * or the run met what a worker must do: the database did not answer in time or the
 * connection was lost (inline runs pause for API_INLINE_PAUSE_MS), or a JWT not yet
 * verified on this thread (its keys may have to be fetched).
 */
bool api_run_inline(void *cls, struct http_req *req, struct http_reply *rep);
void api_done(void *cls, const struct http_req *req, const struct http_reply *rep, double seconds);

/* This thread's worker (created on first use).  NULL only when out of memory. */
struct api_worker *api_worker_get(struct api *api);

/* The request's application session (this thread's). */
struct app_session *api_session(struct http_req *req);

/* Whether `req` runs on a transport thread (api_run_inline): nothing may wait long. */
bool api_short_only(const struct http_req *req);

/* The caller of a use case: req->user and the request id (borrowed from `req`). */
struct app_actor api_actor(const struct http_req *req);

/*
 * For public routes that show more to an admin: whether `req` carries a valid bearer
 * token with the admin role (then req->user is filled).  Never fails the request: any
 * other answer (no header, unknown token, database down) is false with req->user and
 * req->err left empty.  With `memo_only` the database is not asked (only a token this
 * thread verified recently counts): for answers that must not wait on a stalled database.
 */
bool api_caller_is_admin(struct http_req *req, bool memo_only);

/* The roles in `mask` as a JSON array of names (owned). */
json_t *api_roles_json(unsigned mask);

/*
 * Cookie `name` of `req` into `out` (`outlen` bytes): false when there is none, it is
 * empty or it is too long.
 */
bool api_cookie(const struct http_req *req, const char *name, char *out, size_t outlen);

/* The web app's session cookie (APP_SESSION_COOKIE) of `req`, as api_cookie. */
bool api_session_cookie(const struct http_req *req, char *out, size_t outlen);

/*
 * Whether the cookies Transom sets are marked Secure: TRANSOM_COOKIE_SECURE yes or no,
 * or auto: when the proxy in front says the request came over TLS (X-Forwarded-Proto).
 */
bool api_cookie_secure(const struct http_req *req);

/*
 * Sets the web app's session cookie to `value` for `max_age` seconds (0 and "": ends it):
 * Path=/, HttpOnly, SameSite=Strict, Secure as api_cookie_secure says.
 */
enum tr_code api_set_session_cookie(struct http_reply *rep, const struct http_req *req,
				    const char *value, long long max_age);

/*
 * Parses the body of `req` as the dispatcher does for ROUTE_JSON_BODY routes, into
 * req->json (owned by the request): for handlers that must look at the raw bytes first
 * (a signature).  TR_OK, or 415/400 set on req->err.
 */
enum tr_code api_json_body(struct http_req *req);

/*
 * Counts one more event stream or long-poll of the request's user against its budget
 * (app->streams); give it back with stream_quota_give(app->streams, user, roles).  At
 * the budget: TR_E_TOO_MANY_REQUESTS (429) naming the limit (rule "streams_per_user" or
 * "streams_shared"), with Retry-After on `rep`.
 */
enum tr_code api_stream_take(struct http_req *req, struct http_reply *rep);

struct rec_ctx;
struct rec_reply;
struct rec_versions;
/*
 * The use-case context of `req` (store, definitions, actor, now, Idempotency-Key);
 * `hash` (CRYPTO_SHA256_HEX_LEN bytes) receives the body's SHA-256 for replays.
 * TR_OK, or an error set on req->err.
 */
enum tr_code api_rec_context(struct http_req *req, struct rec_ctx *c, char hash[65]);

/* Turns a use case's result into the reply: `out`, or a problem with its extras. */
/*
 * Parses an If-Match or If-None-Match value `h` into `out` ("*": any version; a strong tag
 * "7": version 7; weak or other tags match nothing).  Returns `out`, or NULL when `h` is NULL.
 */
const struct rec_versions *api_rec_versions(const char *h, struct rec_versions *out);
enum tr_code api_rec_reply(struct http_req *req, struct http_reply *rep, enum tr_code rc,
			   struct rec_reply *out);

/* Handlers (one file per concern). */
enum tr_code h_healthz(struct http_req *req, struct http_reply *rep);
enum tr_code h_readyz(struct http_req *req, struct http_reply *rep);
/* GET /v1/openapi.json: docs/openapi.json, compiled in (deploy/embed-text.sh). */
enum tr_code h_openapi(struct http_req *req, struct http_reply *rep);
enum tr_code h_metrics(struct http_req *req, struct http_reply *rep);
enum tr_code h_me(struct http_req *req, struct http_reply *rep);
/* The web app's sign-in (h_session.c): POST signs in, GET says who, DELETE signs out. */
enum tr_code h_session_create(struct http_req *req, struct http_reply *rep);
enum tr_code h_session_get(struct http_req *req, struct http_reply *rep);
enum tr_code h_session_delete(struct http_req *req, struct http_reply *rep);
/* Signing in through the OpenID Provider (h_oidc.c); GET /v1/session/providers. */
enum tr_code h_oidc_login(struct http_req *req, struct http_reply *rep);
enum tr_code h_oidc_callback(struct http_req *req, struct http_reply *rep);
enum tr_code h_oidc_logout(struct http_req *req, struct http_reply *rep);
enum tr_code h_oidc_backchannel(struct http_req *req, struct http_reply *rep);
enum tr_code h_session_providers(struct http_req *req, struct http_reply *rep);
/* The web app (h_webapp.c): any page (index.html), and its versioned files. */
enum tr_code h_webapp_page(struct http_req *req, struct http_reply *rep);
enum tr_code h_webapp_asset(struct http_req *req, struct http_reply *rep);
enum tr_code h_tokens_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_tokens_create(struct http_req *req, struct http_reply *rep);
enum tr_code h_tokens_revoke(struct http_req *req, struct http_reply *rep);
/* SCIM 2.0 provisioning (h_scim.c) */
enum tr_code h_scim_config(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_resource_types(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_schemas(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_users_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_user_get(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_user_create(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_user_replace(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_user_patch(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_user_delete(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_groups_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_scim_group_get(struct http_req *req, struct http_reply *rep);
/*
 * Fills `rep` with req->err in SCIM's error shape (application/scim+json), its scimType
 * from the registered TR_R_SCIM_* rule: the dispatcher's error reply for /scim/ paths.
 */
void h_scim_error(struct http_req *req, struct http_reply *rep);
/* users (h_users.c) */
enum tr_code h_users_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_user_disable(struct http_req *req, struct http_reply *rep);
enum tr_code h_user_enable(struct http_req *req, struct http_reply *rep);
enum tr_code h_events(struct http_req *req, struct http_reply *rep);
enum tr_code h_records_create(struct http_req *req, struct http_reply *rep);
enum tr_code h_records_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_records_get(struct http_req *req, struct http_reply *rep);
enum tr_code h_records_patch(struct http_req *req, struct http_reply *rep);
enum tr_code h_records_transition(struct http_req *req, struct http_reply *rep);
enum tr_code h_records_history(struct http_req *req, struct http_reply *rep);
enum tr_code h_incident_suspects(struct http_req *req, struct http_reply *rep);
enum tr_code h_incident_suspect_confirm(struct http_req *req, struct http_reply *rep);
enum tr_code h_observations_create(struct http_req *req, struct http_reply *rep);
enum tr_code h_observations_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_observation_get(struct http_req *req, struct http_reply *rep);
/* A new observation in `out` (201) counts in transom_observed_deployments_total. */
void api_count_observation(struct http_req *req, const struct rec_reply *out);
enum tr_code h_workflows_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_workflow_get(struct http_req *req, struct http_reply *rep);
enum tr_code h_audit_verify(struct http_req *req, struct http_reply *rep);
enum tr_code h_risk_backtest(struct http_req *req, struct http_reply *rep);
enum tr_code h_report(struct http_req *req, struct http_reply *rep);
enum tr_code h_change_risk(struct http_req *req, struct http_reply *rep);
enum tr_code h_change_approvals(struct http_req *req, struct http_reply *rep);
enum tr_code h_change_vote(struct http_req *req, struct http_reply *rep);
/* GET / POST /v1/changes/{id}/comments: a change's comments; add one ({"text"}). */
enum tr_code h_change_comments_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_change_comment_add(struct http_req *req, struct http_reply *rep);
enum tr_code h_change_break_glass(struct http_req *req, struct http_reply *rep);
enum tr_code h_approvals_pending(struct http_req *req, struct http_reply *rep);
enum tr_code h_simulate(struct http_req *req, struct http_reply *rep);
enum tr_code h_policies(struct http_req *req, struct http_reply *rep);
enum tr_code h_windows(struct http_req *req, struct http_reply *rep);
enum tr_code h_freezes(struct http_req *req, struct http_reply *rep);
/* GET /v1/cab/meetings: CAB meeting instances (policies/cab.ics) in [from, to). */
enum tr_code h_cab_meetings(struct http_req *req, struct http_reply *rep);
enum tr_code h_schedule(struct http_req *req, struct http_reply *rep);
enum tr_code h_slots(struct http_req *req, struct http_reply *rep);
enum tr_code h_freebusy(struct http_req *req, struct http_reply *rep);
enum tr_code h_change_reschedule(struct http_req *req, struct http_reply *rep);
enum tr_code h_feeds_create(struct http_req *req, struct http_reply *rep);
enum tr_code h_feeds_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_feeds_revoke(struct http_req *req, struct http_reply *rep);
enum tr_code h_feed(struct http_req *req, struct http_reply *rep);
enum tr_code h_calendar(struct http_req *req, struct http_reply *rep);
/* deployments (h_deployments.c) */
enum tr_code h_deployments_create(struct http_req *req, struct http_reply *rep);
enum tr_code h_deployment_get(struct http_req *req, struct http_reply *rep);
enum tr_code h_deployment_result(struct http_req *req, struct http_reply *rep);
enum tr_code h_github(struct http_req *req, struct http_reply *rep);
/* POST /integrations/alertmanager (h_alerts.c) */
enum tr_code h_alertmanager(struct http_req *req, struct http_reply *rep);
/* imip: invitations, signed vote links, replies (h_imip.c) */
enum tr_code h_vote_link_get(struct http_req *req, struct http_reply *rep);
enum tr_code h_vote_link_post(struct http_req *req, struct http_reply *rep);
enum tr_code h_mail_quarantine(struct http_req *req, struct http_reply *rep);
enum tr_code h_imip_intake(struct http_req *req, struct http_reply *rep);
/* caldav (h_dav.c); app passwords (h_app_passwords.c) */
enum tr_code h_app_passwords_create(struct http_req *req, struct http_reply *rep);
enum tr_code h_app_passwords_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_app_passwords_revoke(struct http_req *req, struct http_reply *rep);
enum tr_code h_dav_well_known(struct http_req *req, struct http_reply *rep);
enum tr_code h_dav(struct http_req *req, struct http_reply *rep);
/* webhooks (h_webhooks.c) */
enum tr_code h_webhooks_create(struct http_req *req, struct http_reply *rep);
enum tr_code h_webhooks_list(struct http_req *req, struct http_reply *rep);
enum tr_code h_webhook_get(struct http_req *req, struct http_reply *rep);
enum tr_code h_webhooks_delete(struct http_req *req, struct http_reply *rep);
enum tr_code h_webhook_deliveries(struct http_req *req, struct http_reply *rep);
enum tr_code h_webhook_replay(struct http_req *req, struct http_reply *rep);

#endif /* TRANSOM_API_H */
