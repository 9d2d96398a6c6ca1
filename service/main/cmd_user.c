/*
 * cmd_user.c -- `transomd user list|disable|enable|login-link`: the user lifecycle from
 * the shell.
 *
 * The same transaction as /v1/users (h_users.c) and SCIM: disabling revokes every token,
 * app password, feed URL and web session of the user in one statement, writes its audit
 * event (actor "cli:<login>") and tells running replicas to forget cached lookups
 * (NOTIFY); lookups refuse a disabled user's credentials anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/tokens.h"
#include "app/web_sessions.h"
#include "main/main.h"
#include "store/tokens.h"

static int user_list(struct store *st)
{
	json_t *list;
	if (store_user_list(st, &list) < 0) {
		fprintf(stderr, "transomd user: %s\n", store_last_error(st));
		return 1;
	}
	printf("%-24s %-9s %-7s %-21s %s\n", "USER", "STATE", "TOKENS", "CREATED", "DISABLED");
	size_t i;
	json_t *u;
	json_array_foreach(list, i, u) {
		const char *disabled = json_string_value(json_object_get(u, "disabled_at"));
		printf("%-24s %-9s %-7lld %-21s %s\n",
		       json_string_value(json_object_get(u, "user")),
		       json_string_value(json_object_get(u, "state")),
		       (long long)json_integer_value(json_object_get(u, "active_tokens")),
		       json_string_value(json_object_get(u, "created_at")),
		       disabled ? disabled : "-");
	}
	json_decref(list);
	return 0;
}

static int user_set(struct store *st, const char *verb, const char *name)
{
	struct app_revoked r = {0};
	/* audited as the account running the command, like any other actor */
	char actor[160];
	const char *login = getenv("SUDO_USER") ?: getenv("USER") ?: getenv("LOGNAME");
	snprintf(actor, sizeof actor, "cli:%s", login && *login ? login : "unknown");
	enum db_status s = app_user_state_cli(st, actor, name, strcmp(verb, "disable") == 0, 3, &r);
	if (s < 0) {
		fprintf(stderr, "transomd user: %s\n", store_last_error(st));
		return 1;
	}
	if (s == DB_NONE) {
		fprintf(stderr, "transomd user: no user '%s'\n", name);
		return 1;
	}
	if (strcmp(verb, "disable") == 0)
		printf("disabled %s: revoked %lld tokens, %lld app passwords, %lld feed URLs, "
		       "%lld web sessions\n",
		       name, r.tokens, r.app_passwords, r.feeds, r.sessions);
	else
		printf("enabled %s (credentials revoked by the disable stay revoked: create a "
		       "new token)\n",
		       name);
	return 0;
}

/* `user login-link NAME --role ROLES [--ttl SECONDS]`: prints a one-time sign-in URL. */
static int user_login_link(struct store *st, const struct config *cfg, int argc, char **argv)
{
	const char *roles = NULL;
	long long ttl = 900;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--role") == 0 || strcmp(argv[i], "--roles") == 0)
			roles = argv[i + 1];
		else if (strcmp(argv[i], "--ttl") == 0)
			ttl = atoll(argv[i + 1]);
	}
	char token[APP_LOGIN_LINK_MAX];
	struct tr_error err = {0};
	if (app_login_link_create(st, argv[1], roles ? roles : "", ttl, token, &err) != TR_OK) {
		fprintf(stderr, "transomd user login-link: %s%s%s\n", err.field,
			err.field[0] ? ": " : "", err.detail);
		return 1;
	}
	const char *base = cfg->public_url[0] ? cfg->public_url : "http://127.0.0.1:8080";
	printf("%s/app/signin#link=%s\n", base, token);
	fprintf(stderr, "one-time sign-in link for %s, valid %lld seconds\n", argv[1], ttl);
	explicit_bzero(token, sizeof token);
	return 0;
}

int cmd_user(const struct config *cfg, int argc, char **argv)
{
	const char *verb = argc >= 1 ? argv[0] : "";
	bool list = strcmp(verb, "list") == 0 && argc == 1;
	bool set = (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) && argc == 2;
	bool link = strcmp(verb, "login-link") == 0 && argc >= 4 && argc % 2 == 0;
	if (!list && !set && !link) {
		fprintf(stderr, "usage: transomd user list | disable NAME | enable NAME | "
				"login-link NAME --role ROLES [--ttl SECONDS]\n");
		return 2;
	}
	if ((set || link) && !app_user_name_valid(argv[1])) {
		fprintf(stderr, "transomd user: '%s' is not a user name\n", argv[1]);
		return 2;
	}
	struct store *st = store_new(cfg->database_url, NULL);
	if (st == NULL)
		return 1;
	int rc = 1;
	if (store_migrate(st) < 0)
		fprintf(stderr, "transomd user: database: %s\n", store_last_error(st));
	else
		rc = list   ? user_list(st)
		     : link ? user_login_link(st, cfg, argc, argv)
			    : user_set(st, verb, argv[1]);
	store_free(st);
	return rc;
}
