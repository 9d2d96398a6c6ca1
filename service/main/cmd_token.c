/*
 * cmd_token.c -- `transomd token create|ensure|list|revoke`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/roles.h"
#include "app/tokens.h"
#include "crypto/crypto.h"
#include "main/main.h"
#include "policy/policy.h"
#include "store/tokens.h"
#include "wf/wf.h"

struct token_args {
	const char *user, *roles, *email, *display_name, *file;
	char role_list[512]; /* every --role, comma-joined; `roles` points here */
};

/* Adds one --role value ("a" or "a,b") to the list; -1 when the list is too long. */
static int add_roles(struct token_args *a, const char *value)
{
	size_t used = strlen(a->role_list);
	int n = snprintf(a->role_list + used, sizeof a->role_list - used, "%s%s",
			 used > 0 ? "," : "", value);
	if (n < 0 || (size_t)n >= sizeof a->role_list - used) {
		fprintf(stderr, "transomd token: --role: too many roles\n");
		return -1;
	}
	a->roles = a->role_list;
	return 0;
}

static int parse_args(int argc, char **argv, struct token_args *a)
{
	for (int i = 0; i < argc; i++) {
		const char **slot = NULL;
		bool role = strcmp(argv[i], "--role") == 0 || strcmp(argv[i], "--roles") == 0;
		if (role && i + 1 < argc) { /* repeatable: --role a --role b,c */
			if (add_roles(a, argv[++i]) != 0)
				return -1;
			continue;
		}
		if (strcmp(argv[i], "--user") == 0)
			slot = &a->user;
		else if (strcmp(argv[i], "--email") == 0)
			slot = &a->email;
		else if (strcmp(argv[i], "--display-name") == 0)
			slot = &a->display_name;
		else if (strcmp(argv[i], "--file") == 0)
			slot = &a->file;
		if (slot == NULL || i + 1 >= argc) {
			fprintf(stderr, "transomd token: unexpected argument '%s'\n", argv[i]);
			return -1;
		}
		*slot = argv[++i];
	}
	return 0;
}

static int check_identity(const struct token_args *a, unsigned *mask)
{
	char bad[64];
	if (a->user == NULL || a->roles == NULL) {
		fprintf(stderr, "transomd token: --user and --role are required\n");
		return -1;
	}
	if (!app_user_name_valid(a->user)) {
		fprintf(stderr,
			"transomd token: --user '%s': expected 1 to 128 of "
			"A-Z a-z 0-9 . _ @ + -\n",
			a->user);
		return -1;
	}
	if (roles_parse(a->roles, mask, bad, sizeof bad) != 0) {
		fprintf(stderr,
			"transomd token: --role: unknown role '%s' (roles are requester, "
			"cab, change_manager, pipeline, admin)\n",
			bad);
		return -1;
	}
	return 0;
}

/* Prints to stderr what app_token_warnings says about `user`, against policies/people.json. */
static void warn_about(const struct config *cfg, const char *user)
{
	struct diags diags = {0};
	struct policy_set *ps = policy_dir_configured(cfg->policies_dir)
					? policy_load_dir(cfg->policies_dir, NULL, &diags)
					: NULL;
	json_t *w = app_token_warnings(ps, user);
	size_t i;
	json_t *v;
	json_array_foreach(w, i, v)
		fprintf(stderr, "transomd token: warning: %s\n", json_string_value(v));
	json_decref(w);
	policy_free(ps);
	diags_clear(&diags);
}

static int issue(struct store *st, const struct token_args *a, unsigned mask,
		 char token[AUTH_TOKEN_MAX])
{
	long long id;
	enum db_status s = store_user_disabled(st, a->user);
	if (s == DB_ONE) {
		fprintf(stderr,
			"transomd token: user '%s' is disabled (transomd user enable %s first)\n",
			a->user, a->user);
		return -1;
	}
	s = app_token_issue(st, a->user, a->email, a->display_name, mask, token, &id);
	if (s < 0) {
		fprintf(stderr, "transomd token: cannot store the token: %s\n",
			store_last_error(st));
		return -1;
	}
	return 0;
}

/* Writes `token` to `path` with mode 0600, replacing it atomically. */
static int write_token_file(const char *path, const char *token)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	size_t n = strlen(token);
	bool ok = write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Reads a token from `path`; returns 0 when one was read. */
static int read_token_file(const char *path, char token[AUTH_TOKEN_MAX])
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	bool ok = fgets(token, AUTH_TOKEN_MAX, fp) != NULL;
	fclose(fp);
	if (!ok)
		return -1;
	token[strcspn(token, "\r\n")] = '\0';
	return token[0] ? 0 : -1;
}

static int token_ensure(struct store *st, const struct token_args *a, unsigned mask)
{
	char token[AUTH_TOKEN_MAX], hash[CRYPTO_SHA256_HEX_LEN];
	struct store_user user;
	if (a->file == NULL) {
		fprintf(stderr, "transomd token ensure: --file is required\n");
		return 2;
	}
	if (read_token_file(a->file, token) == 0) {
		crypto_sha256_hex(token, strlen(token), hash);
		enum db_status s = store_token_lookup(st, hash, &user);
		if (s == DB_ONE && strcmp(user.name, a->user) == 0 && (user.roles & mask) == mask) {
			printf("%s\n", token);
			return 0;
		}
		if (s < 0) {
			fprintf(stderr, "transomd token: %s\n", store_last_error(st));
			return 1;
		}
	}
	if (issue(st, a, mask, token) != 0)
		return 1;
	if (write_token_file(a->file, token) != 0) {
		fprintf(stderr, "transomd token: cannot write %s: %s\n", a->file, strerror(errno));
		return 1;
	}
	printf("%s\n", token);
	return 0;
}

static int token_list(struct store *st)
{
	json_t *list;
	if (store_token_list(st, &list) < 0) {
		fprintf(stderr, "transomd token: %s\n", store_last_error(st));
		return 1;
	}
	printf("%-6s %-24s %-36s %-21s %s\n", "ID", "USER", "ROLES", "CREATED", "REVOKED");
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t) {
		const char *revoked = json_string_value(json_object_get(t, "revoked_at"));
		printf("%-6lld %-24s %-36s %-21s %s\n",
		       (long long)json_integer_value(json_object_get(t, "id")),
		       json_string_value(json_object_get(t, "user")),
		       json_string_value(json_object_get(t, "roles")),
		       json_string_value(json_object_get(t, "created_at")),
		       revoked ? revoked : "-");
	}
	json_decref(list);
	return 0;
}

int cmd_token(const struct config *cfg, int argc, char **argv)
{
	struct token_args a = {0};
	unsigned mask = 0;
	int rc = 2;
	if (argc < 1) {
		fprintf(stderr, "usage: transomd token create|ensure|list|revoke ...\n");
		return 2;
	}
	const char *verb = argv[0];
	bool creates = strcmp(verb, "create") == 0 || strcmp(verb, "ensure") == 0;
	if (creates && (parse_args(argc - 1, argv + 1, &a) != 0 || check_identity(&a, &mask) != 0))
		return 2;
	if (main_schema_prepare(cfg, 0) != 0)
		return 1;
	struct store *st = store_new(cfg->database_url, NULL);
	if (st == NULL)
		return 1;
	if (strcmp(verb, "create") == 0) {
		char token[AUTH_TOKEN_MAX];
		rc = issue(st, &a, mask, token) == 0 ? 0 : 1;
		if (rc == 0) {
			printf("%s\n", token);
			warn_about(cfg, a.user);
		}
	} else if (strcmp(verb, "ensure") == 0) {
		rc = token_ensure(st, &a, mask);
	} else if (strcmp(verb, "list") == 0) {
		rc = token_list(st);
	} else if (strcmp(verb, "revoke") == 0 && argc == 2) {
		char *end;
		long long id = strtoll(argv[1], &end, 10);
		if (*end != '\0' || id <= 0) {
			fprintf(stderr, "transomd token revoke: '%s' is not a token id\n", argv[1]);
		} else {
			enum db_status s = store_token_revoke(st, id);
			rc = s == DB_ONE ? 0 : 1;
			if (s < 0)
				fprintf(stderr, "transomd token: %s\n", store_last_error(st));
			else if (s == DB_NONE)
				fprintf(stderr, "transomd token: no active token %lld\n", id);
			else
				printf("revoked token %lld\n", id);
		}
	} else {
		fprintf(stderr, "usage: transomd token create|ensure|list|revoke ...\n");
	}
	store_free(st);
	return rc;
}
