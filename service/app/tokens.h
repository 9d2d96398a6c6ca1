/*
 * tokens.h -- API tokens: issuing them (a random secret shown once, only its hash
 * kept), listing and revoking them; and the user lifecycle (list, disable, enable).
 */
#ifndef TRANSOM_APP_TOKENS_H
#define TRANSOM_APP_TOKENS_H

#include <jansson.h>
#include <stddef.h>

#include "app/session.h"
#include "core/err.h"
#include "store/store.h"

struct policy_set;

#define AUTH_TOKEN_MAX 64 /* "trn_" + 43 base64url characters + NUL, with room */

/*
 * Creates a token for user `name` (created or updated with `email` and `display_name`,
 * either may be NULL) with `roles` (enum role bits, not 0).  Writes the token text to
 * `token` (AUTH_TOKEN_MAX bytes) and its id to *id.  DB_ONE on success; DB_HARD also
 * when the CSPRNG fails.
 */
enum db_status app_token_issue(struct store *st, const char *name, const char *email,
			       const char *display_name, unsigned roles, char token[AUTH_TOKEN_MAX],
			       long long *id);

/*
 * What to tell whoever makes a token for `user` that does not stop it: an owned JSON
 * array of strings, empty when nothing.  Today: `user` is not a person of
 * policies/people.json (by name, e-mail or alias), so cannot vote as a CAB member.
 * `policies` may be NULL (not configured or not loaded: nothing can be checked, which is
 * said).  Pure; NULL only when out of memory.
 */
json_t *app_token_warnings(const struct policy_set *policies, const char *user);

/* True when `name` is a valid user name (1-128 of A-Z a-z 0-9 . _ @ + -). */
int app_user_name_valid(const char *name);

/* Every token (without hashes) as an owned JSON array in *out. */
enum tr_code app_tokens_list(struct app_session *s, const struct app_actor *who, json_t **out,
			     struct tr_error *err);

/* POST /v1/tokens decoded (all borrowed). */
struct app_token_request {
	const char *user;
	json_t *roles;                    /* a JSON array of role names */
	const char *email, *display_name; /* may be NULL */
};

/* A token made: shown once. */
struct app_token_made {
	long long id;
	char token[AUTH_TOKEN_MAX];
	json_t *warnings; /* app_token_warnings (owned) */
};

/*
 * Makes a token: 422 naming the field for a bad user name or role, 409 (rule
 * "user_disabled") for a disabled user.  TR_OK with `out` filled (release
 * out->warnings), or an error in `err`.
 */
enum tr_code app_token_create(struct app_session *s, const struct app_actor *who,
			      const struct app_token_request *rq, struct app_token_made *out,
			      struct tr_error *err);

/* Revokes token `id` (and what was made with it; app_credentials_changed): 404 when not
 * active. */
enum tr_code app_token_revoke(struct app_session *s, const struct app_actor *who, long long id,
			      struct tr_error *err);

/* What disabling a user revoked. */
struct app_revoked {
	long long tokens, app_passwords, feeds, sessions;
};

/* Every user as an owned JSON array in *out (see store_user_list). */
enum tr_code app_users_list(struct app_session *s, const struct app_actor *who, json_t **out,
			    struct tr_error *err);

/*
 * Disables user `name`: every credential of theirs revoked at once.  404 for no such
 * user (or a name that cannot be one), 422 (rule "self") for who themselves.
 */
enum tr_code app_user_disable(struct app_session *s, const struct app_actor *who, const char *name,
			      struct app_revoked *out, struct tr_error *err);

/* Enables user `name` again (their revoked credentials stay revoked): 404 when none. */
enum tr_code app_user_enable(struct app_session *s, const struct app_actor *who, const char *name,
			     struct tr_error *err);

/*
 * As app_user_disable and app_user_enable, `via` ("api", "scim") saying in the audit
 * event which interface asked.  Each writes the state change and one audit event
 * ("user.disabled", "user.enabled"; no record) in one transaction.
 */
enum tr_code app_user_disable_via(struct app_session *s, const struct app_actor *who,
				  const char *name, const char *via, struct app_revoked *out,
				  struct tr_error *err);
enum tr_code app_user_enable_via(struct app_session *s, const struct app_actor *who,
				 const char *name, const char *via, struct tr_error *err);

/*
 * The command line's disable (`disable`) or enable of user `name` on store `st`, by
 * `actor`: the same transaction as app_user_disable_via / app_user_enable_via (state,
 * revocations, one audit event with via "cli"), for a process that has no app.  DB_ONE,
 * DB_NONE when there is no such user, or an error; *out the credentials revoked.
 */
enum db_status app_user_state_cli(struct store *st, const char *actor, const char *name,
				  bool disable, int retries, struct app_revoked *out);

/*
 * Appends (queues) one audit event about users, of no record, by `who` with `action` and
 * `detail` (stolen; NULL: out of memory, DB_HARD), inside the caller's transaction on
 * `st`.  DB_ONE or an error.
 */
enum db_status app_user_audit(struct store *st, const struct app_actor *who, const char *action,
			      json_t *detail);

#endif /* TRANSOM_APP_TOKENS_H */
