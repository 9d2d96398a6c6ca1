/*
 * err.h -- the one error table: every failure Transom reports has a code here.
 *
 * TR_ERRORS is an X-macro: each row registers one code a client can see, with the HTTP
 * status it maps to, its slug, its stable code name, a title and its documented meaning
 * (docs/errors.md is generated from it).  Control flow passes `enum tr_code`; the detail
 * travels in `struct tr_error`.
 */
#ifndef TRANSOM_ERR_H
#define TRANSOM_ERR_H

#include <stdarg.h>
#include <stdbool.h>

/*
 * name, HTTP status, slug, code, title, meaning.
 *
 * Two kinds of row.  TR_E_* codes are classes of HTTP refusal: the slug is the last part
 * of the problem `type` URI.  TR_R_* codes are the domain rules a refusal names: the slug
 * is the rule id sent in the problem's `rule` member, and the status is the one the rule
 * is refused with (the reply's `type`, `title` and `status` stay those of the TR_E_* code
 * passed to tr_error_set, which has that same status).  `code` is the registered name a
 * client branches on (problem member `code`): the slug in upper case, '-' as '_'.  It
 * never changes once released; a new rule is a new row.  `meaning` is the paragraph of
 * docs/errors.md (`make errors-doc` writes it from this table).
 */
#define TR_ERRORS(X)                                                                               \
	X(TR_OK, 200, "ok", "OK", "OK", "Success; never sent in a problem reply.")                 \
	X(TR_E_BAD_REQUEST, 400, "bad-request", "BAD_REQUEST", "Bad request",                      \
	  "The request is malformed: a required header, body or value is missing or not of the "   \
	  "expected form. `detail` says what, `field` names it when there is one.")                \
	X(TR_E_MALFORMED_JSON, 400, "malformed-json", "MALFORMED_JSON", "Malformed JSON",          \
	  "The body is not valid JSON (or repeats a member); `detail` gives the line and column.") \
	X(TR_E_BAD_PARAMETER, 400, "bad-parameter", "BAD_PARAMETER", "Bad query parameter",        \
	  "A query parameter is missing, unknown or out of range; `field` names it.")              \
	X(TR_E_UNAUTHENTICATED, 401, "unauthenticated", "UNAUTHENTICATED",                         \
	  "Authentication required",                                                               \
	  "No credentials, or credentials that are unknown, expired, revoked or of a disabled "    \
	  "user. The `WWW-Authenticate` header says which scheme the path takes.")                 \
	X(TR_E_FORBIDDEN, 403, "forbidden", "FORBIDDEN", "Forbidden",                              \
	  "The caller is known but may not do this. A refusal by a named rule carries that "       \
	  "rule's code instead.")                                                                  \
	X(TR_E_NOT_FOUND, 404, "not-found", "NOT_FOUND", "Not found",                              \
	  "No route matches the path, or the resource it names does not exist.")                   \
	X(TR_E_METHOD_NOT_ALLOWED, 405, "method-not-allowed", "METHOD_NOT_ALLOWED",                \
	  "Method not allowed",                                                                    \
	  "The path exists but not with this method; the `Allow` header lists the methods it "     \
	  "takes.")                                                                                \
	X(TR_E_NOT_ACCEPTABLE, 406, "not-acceptable", "NOT_ACCEPTABLE", "Not acceptable",          \
	  "None of the media types in `Accept` can be produced for this resource.")                \
	X(TR_E_CONFLICT, 409, "conflict", "CONFLICT", "Conflict",                                  \
	  "The request conflicts with the current state of the resource (it exists already, or "   \
	  "it moved on). A refusal by a named rule carries that rule's code instead.")             \
	X(TR_E_PRECONDITION_FAILED, 412, "precondition-failed", "PRECONDITION_FAILED",             \
	  "Precondition failed",                                                                   \
	  "`If-Match` names a version that is no longer current: read the resource again and "     \
	  "retry with its `ETag`.")                                                                \
	X(TR_E_BODY_TOO_LARGE, 413, "body-too-large", "BODY_TOO_LARGE", "Request body too large",  \
	  "The body is longer than the server accepts. Sent by the transport, with the rule "      \
	  "`max_body` (code `MAX_BODY`).")                                                         \
	X(TR_E_URI_TOO_LONG, 414, "uri-too-long", "URI_TOO_LONG", "Request URI too long",          \
	  "The request URI is longer than the server accepts. Sent by the transport, with the "    \
	  "rule `max_url` (code `MAX_URL`).")                                                      \
	X(TR_E_UNSUPPORTED_MEDIA, 415, "unsupported-media-type", "UNSUPPORTED_MEDIA_TYPE",         \
	  "Unsupported media type",                                                                \
	  "The `Content-Type` of the body is not one this path takes (most take "                  \
	  "`application/json`).")                                                                  \
	X(TR_E_UNPROCESSABLE, 422, "unprocessable", "UNPROCESSABLE", "Unprocessable content",      \
	  "The body is well-formed but a value in it is not valid; `field` names it. A refusal "   \
	  "by a named rule carries that rule's code instead.")                                     \
	X(TR_E_PRECONDITION_REQUIRED, 428, "precondition-required", "PRECONDITION_REQUIRED",       \
	  "Precondition required",                                                                 \
	  "This write needs an `If-Match` header with the version read last, so that concurrent "  \
	  "edits are not lost.")                                                                   \
	X(TR_E_DB_READ_ONLY, 503, "database-read-only", "DATABASE_READ_ONLY",                      \
	  "Database is read-only",                                                                 \
	  "The database accepts no writes now (a standby, or a failover in progress). Retry "      \
	  "after `Retry-After`.")                                                                  \
	X(TR_E_DB_TIMEOUT, 503, "database-timeout", "DATABASE_TIMEOUT", "Database timed out",      \
	  "A statement ran into the statement or lock timeout. Retry after `Retry-After`.")        \
	X(TR_E_TOO_MANY_REQUESTS, 429, "too-many-requests", "TOO_MANY_REQUESTS",                   \
	  "Too many requests",                                                                     \
	  "A limit on concurrent use was reached; `Retry-After` says when to try again.")          \
	X(TR_E_INTERNAL, 500, "internal", "INTERNAL", "Internal error",                            \
	  "The server failed. The reply carries no server or database text: quote its `instance` " \
	  "(the request id) to an operator, whose log has the detail.")                            \
	X(TR_E_NOMEM, 500, "out-of-memory", "OUT_OF_MEMORY", "Out of memory",                      \
	  "The server ran out of memory while answering. Retrying later may succeed.")             \
	X(TR_E_DB_UNAVAILABLE, 503, "database-unavailable", "DATABASE_UNAVAILABLE",                \
	  "Database unavailable",                                                                  \
	  "The database cannot be reached (down, restarting or refusing connections). Retry "      \
	  "after `Retry-After`.")                                                                  \
	X(TR_E_DB_CONFLICT, 503, "database-busy", "DATABASE_BUSY", "Database busy, retry",         \
	  "Concurrent transactions kept conflicting (serialization failures or deadlocks) after "  \
	  "every retry. Retry after `Retry-After`.")                                               \
	X(TR_E_NOT_READY, 503, "not-ready", "NOT_READY", "Service not ready",                      \
	  "The service is starting, draining or has no valid definitions loaded. Retry after "     \
	  "`Retry-After`, or another replica.")                                                    \
	X(TR_E_CONFIG, 500, "config", "CONFIG", "Invalid configuration",                           \
	  "A setting is invalid; reported at start-up and by the CLI rather than to API clients.") \
	X(TR_E_DEFERRED, 503, "deferred", "DEFERRED", "Handed to a request worker",                \
	  "Internal, never sent: a write begun on a transport thread needed what may wait "        \
	  "(a placement, a risk decision, a retry) and was rolled back and handed to a request "   \
	  "worker, which answers it.")                                                             \
	X(TR_R_STATE, 409, "state", "STATE", "Wrong state",                                        \
	  "The record is not in a state that allows this: the event is not allowed from its "      \
	  "current state, it is not awaiting approvals or its slot, or it has not been assessed "  \
	  "yet. `detail` names the state.")                                                        \
	X(TR_R_ROLE, 403, "role", "ROLE", "Role required",                                         \
	  "The caller has none of the roles the route or the workflow event requires; `detail` "   \
	  "lists them.")                                                                           \
	X(TR_E_IDP_UNAVAILABLE, 503, "identity-provider-unavailable",                              \
	  "IDENTITY_PROVIDER_UNAVAILABLE", "Identity provider unavailable",                        \
	  "A JWT bearer token could not be checked because the OpenID Provider's "                 \
	  "discovery document or keys (JWKS) could not be fetched and none are cached. "           \
	  "Retry after `Retry-After`.")                                                            \
	X(TR_R_TOKEN_MALFORMED, 401, "token_malformed", "TOKEN_MALFORMED", "Malformed JWT",        \
	  "The bearer token looks like a JWT (three base64url segments) but is not a "             \
	  "compact JWS of JSON.")                                                                  \
	X(TR_R_TOKEN_ALGORITHM, 401, "token_algorithm", "TOKEN_ALGORITHM",                         \
	  "JWT algorithm refused",                                                                 \
	  "The JWT's `alg` is not accepted: only RS256 and ES256 are; `none` and every "           \
	  "HMAC algorithm (such as HS256 keyed with a public key) are refused.")                   \
	X(TR_R_TOKEN_KEY, 401, "token_key", "TOKEN_KEY", "JWT key unknown",                        \
	  "No signing key of the OpenID Provider has the JWT's `kid` (even after fetching"         \
	  " the keys again), or that key is not of the type, use or algorithm the JWT "            \
	  "says.")                                                                                 \
	X(TR_R_TOKEN_SIGNATURE, 401, "token_signature", "TOKEN_SIGNATURE",                         \
	  "JWT signature invalid",                                                                 \
	  "The JWT's signature does not verify with the OpenID Provider's key: the token "         \
	  "was altered or not made by the provider.")                                              \
	X(TR_R_TOKEN_ISSUER, 401, "token_issuer", "TOKEN_ISSUER", "JWT issuer refused",            \
	  "The JWT's `iss` is not the configured issuer (`TRANSOM_OIDC_ISSUER`).")                 \
	X(TR_R_TOKEN_AUDIENCE, 401, "token_audience", "TOKEN_AUDIENCE", "JWT audience refused",    \
	  "The JWT's `aud` does not contain the configured audience "                              \
	  "(`TRANSOM_OIDC_AUDIENCE`).")                                                            \
	X(TR_R_TOKEN_EXPIRED, 401, "token_expired", "TOKEN_EXPIRED", "JWT expired",                \
	  "The JWT has no `exp`, or it is past (allowing `TRANSOM_OIDC_SKEW` seconds): "           \
	  "get a new token.")                                                                      \
	X(TR_R_TOKEN_NOT_YET_VALID, 401, "token_not_yet_valid", "TOKEN_NOT_YET_VALID",             \
	  "JWT not yet valid",                                                                     \
	  "The JWT's `nbf` or `iat` is in the future (beyond `TRANSOM_OIDC_SKEW` "                 \
	  "seconds): check the clocks.")                                                           \
	X(TR_R_TOKEN_SUBJECT, 401, "token_subject", "TOKEN_SUBJECT", "JWT without subject",        \
	  "The JWT has no `sub` claim.")                                                           \
	X(TR_R_TOKEN_NOT_ACCEPTED, 401, "token_not_accepted", "TOKEN_NOT_ACCEPTED",                \
	  "JWT not accepted",                                                                      \
	  "A JWT was sent but this service accepts none: `TRANSOM_OIDC_ISSUER` is not "            \
	  "set.")                                                                                  \
	X(TR_R_SERVICE_NOT_MAPPED, 403, "service_not_mapped", "SERVICE_NOT_MAPPED",                \
	  "Service not mapped to this pipeline",                                                   \
	  "A pipeline signed in with a JWT asked to deploy a service that "                        \
	  "`policies/identity.json` does not map to its claims; `detail` names the "               \
	  "service.")                                                                              \
	X(TR_R_REQUIRED, 422, "required", "REQUIRED", "Required fields missing",                   \
	  "The workflow requires fields that the record lacks before this event; the `missing` "   \
	  "member lists them.")                                                                    \
	X(TR_R_GUARD, 409, "guard", "GUARD", "Guard refused",                                      \
	  "A guard of the workflow refused the event. `rule` is the guard's name as the workflow " \
	  "defines it (or `guard` when it has none); `detail` says why.")                          \
	X(TR_R_WORKFLOW, 409, "workflow", "WORKFLOW", "Workflow not loaded",                       \
	  "The record follows a workflow that is no longer loaded, so no event can be applied to " \
	  "it.")                                                                                   \
	X(TR_R_EDITABLE, 409, "editable", "EDITABLE", "Field not editable",                        \
	  "A field may not be edited in the record's current state; `field` names it and the "     \
	  "`editable` member lists those that may.")                                               \
	X(TR_R_REFERENCE, 422, "reference", "REFERENCE", "Unknown reference",                      \
	  "A link field names records that do not exist; `field` names it.")                       \
	X(TR_R_CATALOG, 422, "catalog", "CATALOG", "Unknown service",                              \
	  "The request names services that are not in the catalog; the `unknown_services` member " \
	  "lists them.")                                                                           \
	X(TR_R_IDEMPOTENCY_KEY, 422, "idempotency_key", "IDEMPOTENCY_KEY",                         \
	  "Idempotency key reused",                                                                \
	  "The `Idempotency-Key` was used within 24 hours for a different request (method, path "  \
	  "or body).")                                                                             \
	X(TR_R_TEMPLATE_NOT_PREAPPROVED, 422, "template_not_preapproved",                          \
	  "TEMPLATE_NOT_PREAPPROVED", "Template does not pre-approve",                             \
	  "A standard change names a template whose condition does not hold for it; file it as a " \
	  "normal change to go through the CAB. The `template` member shows the template.")        \
	X(TR_R_WITHIN_WINDOW, 409, "within_window", "WITHIN_WINDOW", "Outside the booked window",  \
	  "The change may start only within its booked maintenance window; the `window` member "   \
	  "gives it (or null when there is none). Only an emergency change or break glass may "    \
	  "skip it.")                                                                              \
	X(TR_R_POLICY, 409, "policy", "POLICY", "No approval policies",                            \
	  "No approval policies are loaded, so no vote can be counted.")                           \
	X(TR_R_REQUESTER_CANNOT_APPROVE, 403, "requester_cannot_approve",                          \
	  "REQUESTER_CANNOT_APPROVE", "Requester cannot approve",                                  \
	  "Segregation of duties: the requester of a change may not vote on it.")                  \
	X(TR_R_EDITOR_CANNOT_APPROVE, 403, "editor_cannot_approve", "EDITOR_CANNOT_APPROVE",       \
	  "Editor cannot approve",                                                                 \
	  "Segregation of duties: someone who edited the change's content may not vote on it.")    \
	X(TR_R_NOT_A_MEMBER, 403, "not_a_member", "NOT_A_MEMBER", "Not a member",                  \
	  "The voter is not an eligible member of the group voted for (or of any required "        \
	  "group).")                                                                               \
	X(TR_R_NOT_REQUIRED, 403, "not_required", "NOT_REQUIRED", "Group not required",            \
	  "The group named in the vote is not among the groups this change requires.")             \
	X(TR_R_REQUESTER_CANNOT_BREAK_GLASS, 403, "requester_cannot_break_glass",                  \
	  "REQUESTER_CANNOT_BREAK_GLASS", "Requester cannot break glass",                          \
	  "Segregation of duties: the requester of a change may not break glass on it.")           \
	X(TR_R_BREAK_GLASS_NOT_ALLOWED, 403, "break_glass_not_allowed", "BREAK_GLASS_NOT_ALLOWED", \
	  "Break glass not allowed",                                                               \
	  "The policy's `break_glass.when` does not hold for this change, or break glass is not "  \
	  "configured.")                                                                           \
	X(TR_R_JUSTIFICATION_TOO_SHORT, 422, "justification_too_short", "JUSTIFICATION_TOO_SHORT", \
	  "Justification too short",                                                               \
	  "A break-glass justification is shorter than the policy requires; `field` is "           \
	  "`justification`.")                                                                      \
	X(TR_R_OWNER_ONLY, 403, "owner_only", "OWNER_ONLY", "Owner only",                          \
	  "Only the change's requester (or the requester's team, when the policy says so), a "     \
	  "change manager or an admin may do this.")                                               \
	X(TR_R_OUTCOME_RECORDED, 409, "outcome_recorded", "OUTCOME_RECORDED",                      \
	  "Outcome already recorded",                                                              \
	  "The deployment already has an outcome; it is recorded once.")                           \
	X(TR_R_LEASE_REQUIRED, 403, "lease_required", "LEASE_REQUIRED", "Lease required",          \
	  "Only the pipeline that requested the deployment may report its result without the "     \
	  "lease the gate gave.")                                                                  \
	X(TR_R_NOT_STARTED, 409, "not_started", "NOT_STARTED", "Change not started",               \
	  "The change is not implementing: deploy when the gate says allow.")                      \
	X(TR_R_USER_DISABLED, 409, "user_disabled", "USER_DISABLED", "User disabled",              \
	  "The user is disabled; enable them before issuing a token.")                             \
	X(TR_R_SELF, 422, "self", "SELF", "Cannot act on yourself",                                \
	  "An admin cannot disable their own account (another admin can).")                        \
	X(TR_R_OWN_CALENDARS, 403, "own-calendars", "OWN_CALENDARS", "Own calendars only",         \
	  "A CalDAV user may read only their own calendars.")                                      \
	X(TR_R_INTERNAL_ADDRESS, 422, "internal-address", "INTERNAL_ADDRESS", "Internal address",  \
	  "A webhook URL points at an internal or otherwise refused address (SSRF guard).")        \
	X(TR_R_STREAMS_PER_USER, 429, "streams_per_user", "STREAMS_PER_USER",                      \
	  "Too many streams for this user",                                                        \
	  "The user already holds the most event streams and long-polls one user may on this "     \
	  "server; close one first.")                                                              \
	X(TR_R_STREAMS_SHARED, 429, "streams_shared", "STREAMS_SHARED", "Too many streams",        \
	  "Users hold the most event streams and long-polls this server shares among them; retry " \
	  "later.")                                                                                \
	X(TR_R_MAX_EVENT_STREAMS, 503, "max_event_streams", "MAX_EVENT_STREAMS", "Event hub full", \
	  "This server already serves the most event streams it can; retry later or on another "   \
	  "replica.")                                                                              \
	X(TR_R_UTF8, 400, "utf8", "UTF8", "Not UTF-8 text",                                        \
	  "The path, a query parameter or a header is not valid UTF-8 text or holds control "      \
	  "characters; `field` names it.")                                                         \
	X(TR_R_MAX_BODY, 413, "max_body", "MAX_BODY", "Body over the limit",                       \
	  "The request body is longer than the server's limit.")                                   \
	X(TR_R_MAX_URL, 414, "max_url", "MAX_URL", "URI over the limit",                           \
	  "The request URI is longer than the server's limit.")                                    \
	X(TR_R_DATA, 400, "data", "DATA", "Value rejected",                                        \
	  "The database rejected a value of the request (malformed text, or a number or date out " \
	  "of range). No database text is included.")                                              \
	X(TR_R_CSRF, 403, "csrf", "CSRF", "CSRF token missing or wrong",                           \
	  "A request that changes something was made with the web app's session cookie without "   \
	  "the session's X-CSRF-Token header (or from another site's page).")                      \
	X(TR_R_ALERT_SERVICE, 422, "alert_service", "ALERT_SERVICE", "Alert names no service",     \
	  "An Alertmanager alert group's labels name no service of the catalog (through "          \
	  "`policies/alerts.json`), and the policy says to refuse such alerts; `field` names the " \
	  "label looked at.")                                                                      \
	X(TR_R_INCIDENT_FREEZE, 409, "incident_freeze", "INCIDENT_FREEZE",                         \
	  "Frozen by an incident",                                                                 \
	  "An open incident of a freezing priority (policies/incidents.json: P1 and P2 by "        \
	  "default) holds its service and the services depending on it: the deployment gate "      \
	  "denies (`rule` of the gate's reply, the incident named in its reasons) and the "        \
	  "scheduler places nothing there until the incident is resolved. An emergency change "    \
	  "naming the incident in `fixes_incident` is exempt.")                                    \
	X(TR_R_OIDC_STATE, 400, "oidc_state", "OIDC_STATE", "Sign-in state refused",               \
	  "The OpenID Provider's redirect back (GET /oidc/callback) came with a `state` that is "  \
	  "missing, not the one of this browser's sign-in cookie, already used or expired: start " \
	  "the sign-in again.")                                                                    \
	X(TR_R_OIDC_CODE, 401, "oidc_code", "OIDC_CODE", "Authorization code refused",             \
	  "The OpenID Provider refused to exchange the authorization code (used already, "         \
	  "expired, or the PKCE verifier does not match), or its reply carried no ID token.")      \
	X(TR_R_OIDC_ID_TOKEN, 401, "oidc_id_token", "OIDC_ID_TOKEN", "ID token refused",           \
	  "The ID token from the OpenID Provider does not verify: signature, issuer, audience "    \
	  "(the client id), azp, expiry or nonce; `detail` says which.")                           \
	X(TR_R_OIDC_OFF, 404, "oidc_off", "OIDC_OFF", "Single sign-on not configured",             \
	  "Sign-in through the OpenID Provider needs TRANSOM_OIDC_ISSUER, "                        \
	  "TRANSOM_OIDC_CLIENT_ID and a client secret.")                                           \
	X(TR_R_LOGOUT_TOKEN, 400, "logout_token", "LOGOUT_TOKEN", "Logout token refused",          \
	  "A back-channel logout token does not verify or lacks what it must carry (the "          \
	  "back-channel logout event, sid or sub, no nonce).")                                     \
	X(TR_R_UNKNOWN_USER, 422, "unknown_user", "UNKNOWN_USER", "Unknown user",                  \
	  "POST /v1/tokens for a user that neither policies/people.json nor the identity "         \
	  "provider (a sign-in through it) knows, while policies/identity.json says "              \
	  "tokens.unknown_user \"refuse\".")                                                       \
	X(TR_R_SCIM_INVALID_FILTER, 400, "scim_invalid_filter", "SCIM_INVALID_FILTER",             \
	  "SCIM filter not supported",                                                             \
	  "A SCIM `filter` is malformed or asks for what Transom does not filter on: only "        \
	  "`userName eq \"...\"` is supported (SCIM `scimType` `invalidFilter`).")                 \
	X(TR_R_SCIM_INVALID_VALUE, 400, "scim_invalid_value", "SCIM_INVALID_VALUE",                \
	  "SCIM value invalid",                                                                    \
	  "A SCIM attribute or query parameter has a value Transom cannot take: a user name "      \
	  "outside A-Z a-z 0-9 . _ @ + - (or \"system\"), a value of the wrong type, a string "    \
	  "too "                                                                                   \
	  "long, a count that is not a number; `field` names it (SCIM `scimType` "                 \
	  "`invalidValue`).")                                                                      \
	X(TR_R_SCIM_INVALID_SYNTAX, 400, "scim_invalid_syntax", "SCIM_INVALID_SYNTAX",             \
	  "SCIM request malformed",                                                                \
	  "The SCIM request body is not JSON, or lacks the schema or members the message needs "   \
	  "(a PatchOp without `Operations`); SCIM `scimType` `invalidSyntax`.")                    \
	X(TR_R_SCIM_INVALID_PATH, 400, "scim_invalid_path", "SCIM_INVALID_PATH",                   \
	  "SCIM attribute not supported",                                                          \
	  "A SCIM PATCH operation names an attribute Transom does not keep, or an operation "      \
	  "other than add, replace and remove; `field` names it (SCIM `scimType` "                 \
	  "`invalidPath`).")                                                                       \
	X(TR_R_SCIM_NO_TARGET, 400, "scim_no_target", "SCIM_NO_TARGET",                            \
	  "SCIM PATCH without target",                                                             \
	  "A SCIM PATCH `remove` operation names no `path`: say which attribute to remove (SCIM "  \
	  "`scimType` `noTarget`).")                                                               \
	X(TR_R_SCIM_MUTABILITY, 400, "scim_mutability", "SCIM_MUTABILITY",                         \
	  "SCIM attribute immutable",                                                              \
	  "A SCIM write tries to change a user's `userName` (or `id`): Transom keeps user names "  \
	  "for good, they are its audit trail's actors (SCIM `scimType` `mutability`).")           \
	X(TR_R_SCIM_UNIQUENESS, 409, "scim_uniqueness", "SCIM_UNIQUENESS", "SCIM user exists",     \
	  "A SCIM POST /scim/v2/Users names a `userName` Transom already has (active or "          \
	  "disabled); find it with `filter=userName eq \"...\"` (SCIM `scimType` `uniqueness`).")

enum tr_code {
#define TR_ERR_ENUM(name, status, slug, code, title, meaning) name,
	TR_ERRORS(TR_ERR_ENUM)
#undef TR_ERR_ENUM
		TR_CODE_COUNT_
};

/*
 * Detail of one error.  `field` names the request field or setting at fault and `rule`
 * the rule that refused it; either may be empty.  `rule_code` is the registered TR_R_*
 * code of that rule (TR_OK when none): the code a client sees instead of `code`'s.
 * Plain data: copy freely.
 */
struct tr_error {
	enum tr_code code;
	char detail[512];
	char field[128];
	char rule[128];
	enum tr_code rule_code;
};

/* HTTP status of `code` (500 for an out-of-range code). */
int tr_code_http_status(enum tr_code code);

/* Problem type slug of `code`, e.g. "not-found".  Static storage. */
const char *tr_code_slug(enum tr_code code);

/* Human title of `code`, e.g. "Not found".  Static storage. */
const char *tr_code_title(enum tr_code code);

/* Registered name of `code`, e.g. "NOT_FOUND", "REQUESTER_CANNOT_APPROVE".  Static. */
const char *tr_code_name(enum tr_code code);

/* The documented meaning of `code` (a paragraph of docs/errors.md).  Static storage. */
const char *tr_code_meaning(enum tr_code code);

/* Whether `code` is a domain rule (TR_R_*) rather than an HTTP class (TR_E_*). */
bool tr_code_is_rule(enum tr_code code);

/* The TR_R_* code whose rule id is `rule` (e.g. "state"), or TR_OK when none is. */
enum tr_code tr_code_of_rule(const char *rule);

/*
 * The code a client sees for `err`: its rule's code when a rule refused, else the HTTP
 * class code (`err->code`).
 */
enum tr_code tr_error_public_code(const struct tr_error *err);

/*
 * Fills `err` (which may be NULL, then it only returns) with `code`, the field (may be
 * NULL) and a printf-style detail.  Returns `code`, so callers can write
 * `return tr_error_set(err, TR_E_NOT_FOUND, NULL, "no change %s", id);`.
 */
enum tr_code tr_error_set(struct tr_error *err, enum tr_code code, const char *field,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Names the registered rule (a TR_R_* code) that refused, after tr_error_set: `rule`
 * becomes err->rule_code and its rule id err->rule.  NULL-safe; TR_OK clears the rule.
 */
void tr_error_rule(struct tr_error *err, enum tr_code rule);

/*
 * As tr_error_rule, with `id` (may be NULL: the table's id) as the rule id sent to the
 * client: for rules named by definitions, such as a workflow's guards (TR_R_GUARD).
 */
void tr_error_rule_as(struct tr_error *err, enum tr_code rule, const char *id);

#endif /* TRANSOM_ERR_H */
