/*
 * scim.h -- provisioning by an identity provider (SCIM 2.0, RFC 7643/7644): the users
 * Transom knows, created, changed, disabled and enabled again, and the policy groups
 * read (they are declarative: policies/people.json and the provider's sign-in claims).
 *
 * A user's SCIM id is their user name, which never changes.  Setting active to false is
 * app_user_disable (every credential revoked at once, streams ended, audited); deleting
 * is the same, since the audit trail keeps naming the user.  Every write is audited
 * ("user.created", "user.updated", "user.disabled", "user.enabled", via "scim").
 */
#ifndef TRANSOM_APP_SCIM_H
#define TRANSOM_APP_SCIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app/session.h"
#include "core/err.h"

#define APP_SCIM_PAGE_MAX 200 /* users in one page of a list, at most */
#define APP_SCIM_TEXT_MAX 255 /* bytes of a display name or an e-mail address */

/* A user as SCIM shows them. */
struct app_scim_user {
	char name[128];         /* userName and id */
	char email[256];        /* "" when none */
	char display_name[256]; /* "" when none */
	bool active;
	char created[32]; /* RFC 3339 */
};

/* One page of users. */
struct app_scim_page {
	long total;                  /* users matching, in all */
	long start;                  /* 1-based index of items[0] */
	size_t n;                    /* items on this page */
	struct app_scim_user *items; /* owned (app_scim_page_free) */
};

void app_scim_page_free(struct app_scim_page *p);

/*
 * The users (only the one named `user_name_eq` when not NULL), ordered by name, from the
 * `start`-th (1-based; below 1 counts as 1) and at most `count` of them (negative counts
 * as 0; capped at APP_SCIM_PAGE_MAX).  TR_OK with `out` filled, or a database error.
 */
enum tr_code app_scim_users_list(struct app_session *s, const struct app_actor *who,
				 const char *user_name_eq, long start, long count,
				 struct app_scim_page *out, struct tr_error *err);

/* User `id` into `out`: TR_OK, 404 when there is none, or a database error. */
enum tr_code app_scim_user_get(struct app_session *s, const struct app_actor *who, const char *id,
			       struct app_scim_user *out, struct tr_error *err);

/* A SCIM write decoded (strings borrowed; a `set_` flag false: leave it as it is). */
struct app_scim_user_write {
	const char *user_name; /* create: required; replace and patch: NULL or the id */
	bool set_display_name;
	const char *display_name; /* NULL or "": none */
	bool set_email;
	const char *email; /* NULL or "": none */
	bool set_active;
	bool active;
};

/*
 * Creates user `w->user_name` (a valid user name, not "system": 400 rule
 * scim_invalid_value naming userName) with `w`'s display name and e-mail (at most
 * APP_SCIM_TEXT_MAX bytes each: 400 scim_invalid_value), disabled at once when
 * `w->active` is set false.  409 rule scim_uniqueness when the name is taken.  TR_OK
 * with the user in `out`, or an error in `err`.
 */
enum tr_code app_scim_user_create(struct app_session *s, const struct app_actor *who,
				  const struct app_scim_user_write *w, struct app_scim_user *out,
				  struct tr_error *err);

/*
 * Changes user `id` as `w` says: active false disables them (app_user_disable: every
 * credential revoked; 422 rule self for the caller), true enables them (reviving no
 * credential); then the display name and e-mail.  404 when there is no such user, 400
 * rule scim_mutability when `w->user_name` is not `id`, 400 scim_invalid_value for a
 * value too long.  TR_OK with the user as now in `out`, or an error in `err`.
 */
enum tr_code app_scim_user_update(struct app_session *s, const struct app_actor *who,
				  const char *id, const struct app_scim_user_write *w,
				  struct app_scim_user *out, struct tr_error *err);

/* Deleting user `id` disables them (as app_scim_user_update with active false). */
enum tr_code app_scim_user_delete(struct app_session *s, const struct app_actor *who,
				  const char *id, struct tr_error *err);

/* A policy group as SCIM shows it. */
struct app_scim_group {
	const char *name;        /* id and displayName (borrowed from the definitions) */
	const char *description; /* NULL when none */
	json_t *members;         /* user names, sorted, each once (owned) */
};

/* The policy groups listed (app_scim_groups_free). */
struct app_scim_groups {
	size_t n;
	struct app_scim_group *items;
	struct defs *defs; /* the definitions the names are borrowed from (a reference) */
};

void app_scim_groups_free(struct app_scim_groups *g);

/*
 * The policy groups of policies/people.json (only the one named `name_eq` when not
 * NULL), each with its members: those people.json names and those the OpenID Provider's
 * claims gave the group at their last sign-in.  TR_OK with `out` filled (free it), 503
 * when no definitions are loaded, or a database error.
 */
enum tr_code app_scim_groups_list(struct app_session *s, const struct app_actor *who,
				  const char *name_eq, struct app_scim_groups *out,
				  struct tr_error *err);

#endif /* TRANSOM_APP_SCIM_H */
