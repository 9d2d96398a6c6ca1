/*
 * dav.h -- the CalDAV aggregate: app passwords (HTTP Basic for calendar programs) and the
 * change log behind sync tokens and ctags (migration 0008).
 *
 * The change log is kept by reconciliation: a caller that has just computed a
 * collection's objects (name and ETag each) hands them to store_dav_sync(), which gives
 * every object that appeared, changed or disappeared since the last call a new value of
 * one PostgreSQL sequence, and returns the collection's token (the highest value).  So a
 * vote, a reschedule, a reloaded calendar or the passing of time all move the token, and
 * sync-collection can list what changed since any token it handed out.
 */
#ifndef TRANSOM_STORE_DAV_H
#define TRANSOM_STORE_DAV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"
#include "store/tokens.h"

/* ---- app passwords ---------------------------------------------------------------------- */

/*
 * Stores an app password of user `user` (who must exist in `users`, as every token
 * holder does) with `roles` (enum role bits), made with API token `token_id` (revoking
 * that token revokes the password), `label` (may be NULL), its `salt` (32 hex digits) and
 * `hash` (64 hex digits: HMAC-SHA256 of the password under the salt).  Sets *id.  DB_ONE
 * on success.
 */
enum db_status store_app_password_create(struct store *st, const char *user, unsigned roles,
					 long long token_id, const char *label, const char *salt,
					 const char *hash, long long *id);

/*
 * Whether a candidate app password matches: called with the stored salt and hash of
 * each unrevoked app password of the user, newest first, until it returns true.
 */
typedef bool (*store_app_password_check_fn)(void *cls, const char *salt, const char *hash);

/*
 * Finds the unrevoked app password of `user` that `check` accepts and fills `out` (name,
 * e-mail, display name, the password's roles; token_id = the app password's id).  Only
 * an active user's passwords whose token is unrevoked are candidates: the database
 * decides at every lookup.  DB_ONE when found, DB_NONE when none matches (or the user has
 * none, or is disabled).
 */
enum db_status store_app_password_find(struct store *st, const char *user,
				       store_app_password_check_fn check, void *cls,
				       struct store_user *out);

/* The app passwords of `user` (without secrets) as an owned array of {"id", "label",
 * "created_at", "revoked_at"} in *out, newest first. */
enum db_status store_app_passwords_list(struct store *st, const char *user, json_t **out);

/* Revokes app password `id` of `user`.  DB_ONE when it was active, DB_NONE otherwise.
 * Tells other replicas to forget cached credentials (NOTIFY token.changed). */
enum db_status store_app_password_revoke(struct store *st, long long id, const char *user);

/* ---- the change log ----------------------------------------------------------------------- */

/* One object of a collection as it is now.  Borrowed strings: name without '"' or '\\'. */
struct store_dav_obj {
	const char *name; /* "CHG-12.ics" */
	const char *etag; /* without quotes */
};

/*
 * Records collection (`user`, `calendar`) as holding exactly `objs` (`n`, names unique),
 * whose digest (any string that changes whenever a name or ETag does) is `digest`.  When
 * the digest is the one recorded, nothing is written.  Sets *token to the collection's
 * sync token (> 0 once it held an object; 0 for a collection that never did).  DB_ONE
 * on success.
 */
enum db_status store_dav_sync(struct store *st, const char *user, const char *calendar,
			      const char *digest, const struct store_dav_obj *objs, size_t n,
			      long long *token);

/*
 * What changed in (`user`, `calendar`) after token `since`: an owned array of
 * {"name", "deleted": bool} in *out, in change order.
 */
enum db_status store_dav_changes(struct store *st, const char *user, const char *calendar,
				 long long since, json_t **out);

#endif /* TRANSOM_STORE_DAV_H */
