/*
 * cmd_user.c -- `transomd user list|disable|enable`: the user lifecycle from the shell.
 *
 * The same store calls as /v1/users (h_users.c): disabling revokes every token, app
 * password and feed URL of the user in one statement and tells running replicas to
 * forget cached lookups (NOTIFY); lookups refuse a disabled user's credentials anyway.
 */
#include <stdio.h>
#include <string.h>

#include "app/tokens.h"
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
	struct store_revoked r = {0};
	enum db_status s = strcmp(verb, "disable") == 0 ? store_user_disable(st, name, &r)
							: store_user_enable(st, name);
	if (s < 0) {
		fprintf(stderr, "transomd user: %s\n", store_last_error(st));
		return 1;
	}
	if (s == DB_NONE) {
		fprintf(stderr, "transomd user: no user '%s'\n", name);
		return 1;
	}
	if (strcmp(verb, "disable") == 0)
		printf("disabled %s: revoked %lld tokens, %lld app passwords, %lld feed URLs\n",
		       name, r.tokens, r.app_passwords, r.feeds);
	else
		printf("enabled %s (credentials revoked by the disable stay revoked: create a "
		       "new token)\n",
		       name);
	return 0;
}

int cmd_user(const struct config *cfg, int argc, char **argv)
{
	const char *verb = argc >= 1 ? argv[0] : "";
	bool list = strcmp(verb, "list") == 0 && argc == 1;
	bool set = (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) && argc == 2;
	if (!list && !set) {
		fprintf(stderr, "usage: transomd user list | disable NAME | enable NAME\n");
		return 2;
	}
	if (set && !app_user_name_valid(argv[1])) {
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
		rc = list ? user_list(st) : user_set(st, verb, argv[1]);
	store_free(st);
	return rc;
}
