/*
 * routes.c -- the route table: every HTTP route Transom serves, with its roles.
 * docs/openapi.yaml describes the same routes; a test checks that they agree.
 */
#include "api/api.h"
#include "auth/roles.h"

/* Who may write records: people who raise and run work, pipelines, and admins. */
#define RECORD_WRITERS (ROLE_REQUESTER | ROLE_CHANGE_MANAGER | ROLE_PIPELINE | ROLE_ADMIN)

/* The same six routes for changes, incidents and problems. */
/* clang-format off */
#define RECORD_ROUTES(base)                                                                        \
	{HTTP_POST, base, h_records_create, RECORD_WRITERS, ROUTE_JSON_BODY, "create"},         \
	{HTTP_GET, base, h_records_list, ROLE_ALL, 0, "list with filters"},                      \
	{HTTP_GET, base "/{id}", h_records_get, ROLE_ALL, 0, "read"},                            \
	{HTTP_PATCH, base "/{id}", h_records_patch, RECORD_WRITERS, ROUTE_JSON_BODY,             \
	 "edit (JSON merge patch, If-Match)"},                                                   \
	{HTTP_POST, base "/{id}/transitions", h_records_transition, ROLE_ALL, ROUTE_JSON_BODY,   \
	 "fire a workflow event"},                                                               \
	{HTTP_GET, base "/{id}/history", h_records_history, ROLE_ALL, 0, "audit events"}
/* clang-format on */

/* CalDAV: every method on every DAV path; h_dav.c answers 405 where one makes no sense. */
/* clang-format off */
#define DAV_METHODS (HTTP_GET | HTTP_PUT | HTTP_DELETE | HTTP_OPTIONS | HTTP_PROPFIND | HTTP_REPORT)
#define DAV_ROUTE(path, what) {DAV_METHODS, path, h_dav, ROLE_ALL, ROUTE_BASIC_AUTH, what}
/* clang-format on */

const struct http_route api_routes[] = {
	{HTTP_GET, "/healthz", h_healthz, 0, ROUTE_PUBLIC | ROUTE_QUICK, "process alive"},
	{HTTP_GET, "/readyz", h_readyz, 0, ROUTE_PUBLIC | ROUTE_QUICK,
	 "database reachable and writable, definitions loaded"},
	{HTTP_GET, "/metrics", h_metrics, 0, ROUTE_PUBLIC | ROUTE_QUICK, "Prometheus metrics"},
	{HTTP_GET, "/v1/openapi.json", h_openapi, 0, ROUTE_PUBLIC, "this API's description"},
	{HTTP_GET, "/v1/me", h_me, ROLE_ALL, 0, "the caller"},
	{HTTP_POST, "/v1/session", h_session_create, 0, ROUTE_PUBLIC | ROUTE_JSON_BODY,
	 "sign in to the web app (user and app password, or a login link): a session cookie"},
	{HTTP_GET, "/v1/session", h_session_get, ROLE_ALL, 0,
	 "the signed-in user and the session's CSRF token"},
	{HTTP_DELETE, "/v1/session", h_session_delete, ROLE_ALL, 0, "sign out (ends the session)"},
	{HTTP_GET, "/v1/session/providers", h_session_providers, 0, ROUTE_PUBLIC,
	 "how one may sign in: password, and the OpenID Provider when configured"},
	{HTTP_GET, "/oidc/login", h_oidc_login, 0, ROUTE_PUBLIC,
	 "sign in through the OpenID Provider: a redirect to it (?return=/app/...)"},
	{HTTP_GET, "/oidc/callback", h_oidc_callback, 0, ROUTE_PUBLIC,
	 "the OpenID Provider's redirect back: a session cookie and a redirect into the app"},
	{HTTP_GET, "/oidc/logout", h_oidc_logout, 0, ROUTE_PUBLIC,
	 "sign out, and out of the OpenID Provider (RP-initiated logout)"},
	{HTTP_POST, "/oidc/backchannel-logout", h_oidc_backchannel, 0, ROUTE_PUBLIC,
	 "the OpenID Provider ends the sessions of a sid (a logout token)"},
	{HTTP_GET, "/v1/tokens", h_tokens_list, ROLE_ADMIN, 0, "list API tokens"},
	{HTTP_POST, "/v1/tokens", h_tokens_create, ROLE_ADMIN, ROUTE_JSON_BODY, "create a token"},
	{HTTP_DELETE, "/v1/tokens/{id}", h_tokens_revoke, ROLE_ADMIN, 0,
	 "revoke a token (and the app passwords and feed URLs made with it)"},
	{HTTP_GET, "/v1/users", h_users_list, ROLE_ADMIN, 0, "users with their state"},
	{HTTP_DELETE, "/v1/users/{name}", h_user_disable, ROLE_ADMIN, 0,
	 "disable a user (same as POST .../disable)"},
	{HTTP_POST, "/v1/users/{name}/disable", h_user_disable, ROLE_ADMIN, 0,
	 "disable a user: every credential they hold stops working at once"},
	{HTTP_POST, "/v1/users/{name}/enable", h_user_enable, ROLE_ADMIN, 0,
	 "enable a disabled user (they need a new token)"},
	{HTTP_GET, "/v1/events", h_events, ROLE_ALL, 0, "record events (Server-Sent Events)"},
	RECORD_ROUTES("/v1/changes"),
	RECORD_ROUTES("/v1/incidents"),
	RECORD_ROUTES("/v1/problems"),
	{HTTP_GET, "/v1/incidents/{id}/suspects", h_incident_suspects, ROLE_ALL, 0,
	 "changes that may have caused the incident, ranked, each with why"},
	{HTTP_POST, "/v1/incidents/{id}/suspects/{change_id}/confirm", h_incident_suspect_confirm,
	 RECORD_WRITERS, 0, "confirm a change as the cause: sets caused_by (If-Match optional)"},
	{HTTP_GET, "/v1/workflows", h_workflows_list, ROLE_ALL, 0, "loaded workflows"},
	{HTTP_GET, "/v1/workflows/{name}", h_workflow_get, ROLE_ALL, 0, "one workflow (or DOT)"},
	{HTTP_GET, "/v1/audit/verify", h_audit_verify, ROLE_ADMIN, 0, "recompute the audit chain"},
	{HTTP_GET, "/v1/risk/backtest", h_risk_backtest, ROLE_CHANGE_MANAGER | ROLE_ADMIN, 0,
	 "how well the recorded risk levels foretold failures and incidents"},
	{HTTP_GET, "/v1/reports/{name}", h_report, ROLE_CHANGE_MANAGER | ROLE_ADMIN, 0,
	 "change success, lead time, risk levels, change-caused incidents per bucket (JSON or "
	 "CSV)"},
	{HTTP_GET, "/v1/changes/{id}/risk", h_change_risk, ROLE_ALL, 0, "the risk explanation"},
	{HTTP_GET, "/v1/changes/{id}/approvals", h_change_approvals, ROLE_ALL, 0,
	 "approvals required, votes, who may still vote"},
	{HTTP_POST, "/v1/changes/{id}/approvals", h_change_vote, ROLE_ALL, ROUTE_JSON_BODY,
	 "vote (membership and segregation of duties checked against policies/)"},
	{HTTP_GET, "/v1/changes/{id}/comments", h_change_comments_list, ROLE_ALL, 0,
	 "a change's comments, oldest first"},
	{HTTP_POST, "/v1/changes/{id}/comments", h_change_comment_add, ROLE_ALL, ROUTE_JSON_BODY,
	 "comment on a change (audited)"},
	{HTTP_POST, "/v1/changes/{id}/break-glass", h_change_break_glass,
	 ROLE_CHANGE_MANAGER | ROLE_ADMIN, ROUTE_JSON_BODY, "satisfy approvals on a justification"},
	{HTTP_GET, "/v1/approvals/pending", h_approvals_pending, ROLE_ALL, 0,
	 "changes waiting for the caller's vote"},
	{HTTP_POST, "/v1/simulate", h_simulate, ROLE_ALL, ROUTE_JSON_BODY,
	 "dry run of a draft change: risk, approvals, workflow path"},
	{HTTP_GET, "/v1/policies", h_policies, ROLE_ALL, 0, "loaded policies and their version"},
	{HTTP_GET, "/v1/windows", h_windows, ROLE_ALL, 0, "maintenance window instances"},
	{HTTP_GET, "/v1/freezes", h_freezes, ROLE_ALL, 0, "change freeze instances"},
	{HTTP_GET, "/v1/cab/meetings", h_cab_meetings, ROLE_ALL, 0, "CAB meeting instances"},
	{HTTP_GET, "/v1/schedule", h_schedule, ROLE_ALL, 0, "bookings with their changes"},
	{HTTP_GET, "/v1/slots", h_slots, ROLE_ALL, 0, "next free slots for a hypothetical change"},
	{HTTP_GET, "/v1/freebusy", h_freebusy, ROLE_ALL, 0,
	 "a service's busy time (JSON, or VFREEBUSY for Accept: text/calendar)"},
	{HTTP_POST, "/v1/changes/{id}/reschedule", h_change_reschedule,
	 ROLE_CHANGE_MANAGER | ROLE_ADMIN, ROUTE_JSON_BODY, "move a scheduled change later"},
	{HTTP_POST, "/v1/feeds", h_feeds_create, ROLE_ALL, ROUTE_JSON_BODY,
	 "a secret calendar subscription URL"},
	{HTTP_GET, "/v1/feeds", h_feeds_list, ROLE_ALL, 0, "the caller's feed URLs (ids only)"},
	{HTTP_DELETE, "/v1/feeds/{id}", h_feeds_revoke, ROLE_ALL, 0, "revoke a feed URL"},
	{HTTP_GET, "/v1/calendars/{file}", h_calendar, ROLE_ALL, 0,
	 "schedule.ics, freezes.ics or cab.ics"},
	{HTTP_GET, "/v1/calendars/services/{file}", h_calendar, ROLE_ALL, 0,
	 "one service's calendar ({name}.ics)"},
	{HTTP_GET, "/feeds/{token}/{file}", h_feed, 0, ROUTE_PUBLIC,
	 "schedule.ics, freezes.ics or cab.ics by secret feed URL"},
	{HTTP_GET, "/feeds/{token}/services/{file}", h_feed, 0, ROUTE_PUBLIC,
	 "one service's calendar by secret feed URL"},
	/* deployments (h_deployments.c) */
	{HTTP_POST, "/v1/deployments", h_deployments_create, ROLE_PIPELINE | ROLE_ADMIN,
	 ROUTE_JSON_BODY, "ask for a deploy window: allow, wait or deny"},
	{HTTP_GET, "/v1/deployments/{id}", h_deployment_get, ROLE_ALL, 0,
	 "the gate: the current decision (?wait=N long-polls)"},
	{HTTP_POST, "/v1/deployments/{id}/result", h_deployment_result, ROLE_PIPELINE | ROLE_ADMIN,
	 ROUTE_JSON_BODY, "success or failure: closes the change"},
	/* deployments observed outside Transom (h_observations.c) */
	{HTTP_POST, "/v1/observations", h_observations_create, ROLE_PIPELINE | ROLE_ADMIN,
	 ROUTE_JSON_BODY,
	 "report a deployment seen outside Transom: flagged when no change "
	 "authorized it"},
	{HTTP_GET, "/v1/observations", h_observations_list,
	 ROLE_CHANGE_MANAGER | ROLE_PIPELINE | ROLE_ADMIN, 0,
	 "observed deployments, newest first (?unauthorized=true, since, limit)"},
	{HTTP_GET, "/v1/observations/{id}", h_observation_get,
	 ROLE_CHANGE_MANAGER | ROLE_PIPELINE | ROLE_ADMIN, 0, "one observed deployment"},
	{HTTP_POST, "/integrations/github", h_github, 0, ROUTE_PUBLIC,
	 "GitHub deployment protection rules (HMAC-signed webhooks; signature checked first)"},
	{HTTP_POST, "/integrations/alertmanager", h_alertmanager, ROLE_PIPELINE | ROLE_ADMIN,
	 ROUTE_JSON_BODY,
	 "Alertmanager webhook (payload v4): an incident per alert group, resolved and reopened "
	 "with it, or linked to a change under way"},
	/* imip: invitations, signed vote links, replies (h_imip.c) */
	{HTTP_GET, "/v/{token}", h_vote_link_get, 0, ROUTE_PUBLIC,
	 "a signed vote link from an invitation: the confirm page (HTML)"},
	{HTTP_POST, "/v/{token}", h_vote_link_post, 0, ROUTE_PUBLIC,
	 "a signed vote link: the vote (single use, HTML)"},
	{HTTP_GET, "/v1/mail/quarantine", h_mail_quarantine, ROLE_CHANGE_MANAGER | ROLE_ADMIN, 0,
	 "e-mail replies that were not counted, with the reason and the raw message"},
	{HTTP_POST, "/v1/imip", h_imip_intake, ROLE_PIPELINE | ROLE_ADMIN, 0,
	 "a mail gateway hands in a reply (message/rfc822 or a bare text/calendar REPLY)"},
	/* caldav (h_dav.c) */
	{HTTP_POST, "/v1/me/app-passwords", h_app_passwords_create, ROLE_ALL, ROUTE_JSON_BODY,
	 "an app password for a calendar program (shown once)"},
	{HTTP_GET, "/v1/me/app-passwords", h_app_passwords_list, ROLE_ALL, 0,
	 "the caller's app passwords (no secrets)"},
	{HTTP_DELETE, "/v1/me/app-passwords/{id}", h_app_passwords_revoke, ROLE_ALL, 0,
	 "revoke an app password"},
	{DAV_METHODS, "/.well-known/caldav", h_dav_well_known, 0, ROUTE_PUBLIC,
	 "CalDAV discovery: 301 to /dav/"},
	{HTTP_PROPFIND | HTTP_REPORT | HTTP_OPTIONS, "/", h_dav, ROLE_ALL, ROUTE_BASIC_AUTH,
	 "the bare server URL for calendar programs: answers as the DAV root"},
	/* the web app (h_webapp.c): every page is index.html; its files are versioned */
	{HTTP_GET, "/", h_webapp_page, 0, ROUTE_PUBLIC | ROUTE_QUICK, "the web app"},
	{HTTP_GET, "/app", h_webapp_page, 0, ROUTE_PUBLIC | ROUTE_QUICK, "the web app"},
	{HTTP_GET, "/app/{page}", h_webapp_page, 0, ROUTE_PUBLIC | ROUTE_QUICK, "a web app page"},
	{HTTP_GET, "/app/{page}/{id}", h_webapp_page, 0, ROUTE_PUBLIC | ROUTE_QUICK,
	 "a web app page about one thing"},
	{HTTP_GET, "/app/{page}/{id}/{view}", h_webapp_page, 0, ROUTE_PUBLIC | ROUTE_QUICK,
	 "a web app page about one thing"},
	{HTTP_GET, "/assets/{version}/{file}", h_webapp_asset, 0, ROUTE_PUBLIC | ROUTE_QUICK,
	 "the web app's files (immutable per version)"},
	{HTTP_GET, "/assets/{version}/{dir}/{file}", h_webapp_asset, 0, ROUTE_PUBLIC | ROUTE_QUICK,
	 "the web app's files (immutable per version)"},
	DAV_ROUTE("/dav", "the DAV root: current-user-principal"),
	DAV_ROUTE("/dav/", "the DAV root: current-user-principal"),
	DAV_ROUTE("/dav/principals/", "principals"),
	DAV_ROUTE("/dav/principals/{user}", "a member's principal"),
	DAV_ROUTE("/dav/principals/{user}/", "a member's principal"),
	DAV_ROUTE("/dav/calendars/{user}", "a member's calendar home"),
	DAV_ROUTE("/dav/calendars/{user}/", "a member's calendar home"),
	DAV_ROUTE("/dav/calendars/{user}/{cal}", "schedule, cab-votes, inbox, outbox"),
	DAV_ROUTE("/dav/calendars/{user}/{cal}/", "schedule, cab-votes, inbox, outbox"),
	DAV_ROUTE("/dav/calendars/{user}/{cal}/{object}",
		  "one event; a PUT changing only PARTSTAT in cab-votes is a vote"),
	/* webhooks (h_webhooks.c) */
	{HTTP_POST, "/v1/webhooks", h_webhooks_create,
	 ROLE_ADMIN | ROLE_CHANGE_MANAGER | ROLE_PIPELINE, ROUTE_JSON_BODY,
	 "subscribe a URL to record events"},
	{HTTP_GET, "/v1/webhooks", h_webhooks_list,
	 ROLE_ADMIN | ROLE_CHANGE_MANAGER | ROLE_PIPELINE, 0,
	 "the caller's subscriptions (admins: all)"},
	{HTTP_GET, "/v1/webhooks/{id}", h_webhook_get,
	 ROLE_ADMIN | ROLE_CHANGE_MANAGER | ROLE_PIPELINE, 0,
	 "one subscription with delivery counts"},
	{HTTP_DELETE, "/v1/webhooks/{id}", h_webhooks_delete,
	 ROLE_ADMIN | ROLE_CHANGE_MANAGER | ROLE_PIPELINE, 0,
	 "unsubscribe (pending deliveries stop)"},
	{HTTP_GET, "/v1/webhooks/{id}/deliveries", h_webhook_deliveries,
	 ROLE_ADMIN | ROLE_CHANGE_MANAGER | ROLE_PIPELINE, 0,
	 "deliveries with their attempts, status codes and errors"},
	{HTTP_POST, "/v1/webhooks/{id}/deliveries/{delivery_id}/replay", h_webhook_replay,
	 ROLE_ADMIN | ROLE_CHANGE_MANAGER | ROLE_PIPELINE, 0,
	 "send a dead or delivered delivery again"},
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];
