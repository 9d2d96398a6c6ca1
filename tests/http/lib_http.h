/*
 * lib_http.h -- helpers for HTTP tests: start the real transomd against the test
 * database, make requests with libcurl, read replies.
 *
 * Environment (set by tests/run.sh): TRANSOM_TEST_BIN, TRANSOM_TEST_DATABASE_URL (the
 * owner's login: tests poke the database with it, transomd migrates with it),
 * TRANSOM_TEST_SERVE_DATABASE_URL (the unprivileged role transomd serves as),
 * TRANSOM_TEST_AUDIT_KEY, TRANSOM_TEST_CHECKPOINTS (the checkpoint file; the interval is
 * a day unless a test sets TRANSOM_AUDIT_CHECKPOINT_INTERVAL), TRANSOM_TEST_ROOT,
 * TRANSOM_TEST_PG, TRANSOM_TEST_PGDATA, TRANSOM_TEST_PGSOCK, TRANSOM_TEST_TMP.
 */
#ifndef TRANSOM_TEST_LIB_HTTP_H
#define TRANSOM_TEST_LIB_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct server {
	pid_t pid;
	char base[128];       /* http://127.0.0.1:PORT */
	char workflows[1024]; /* the directories it serves */
	char policies[1024];
	int out_fd; /* transomd's stdout */
};

/*
 * Starts `transomd serve` on an ephemeral port.  `workflows`/`policies` may be NULL (the
 * shipped ones).  `extra_env` is a NULL-terminated list of "KEY=value" (may be NULL).
 * Returns false (after printing why) when it does not come up within 30 s.
 */
bool server_start(struct server *s, const char *workflows, const char *policies,
		  const char *const *extra_env);

/* Sends `sig` to the server. */
void server_signal(struct server *s, int sig);

/* SIGTERM and wait (up to `seconds`); returns the exit status, or -1 on a timeout/crash. */
int server_stop(struct server *s, unsigned seconds, double *elapsed);

/* Runs `transomd ARGS...` to completion with the test database; returns its stdout. */
char *transomd_run(int *status, const char *const *args);

/* Creates a token for `user` with `roles` ("a,b") through the CLI.  Static buffer. */
const char *token_for(const char *user, const char *roles);

struct reply {
	long status;
	char *body;
	size_t len;
	char *headers; /* raw header block */
	json_t *json;  /* parsed body when it is JSON, else NULL */
};

/*
 * Writes `text` to file `name` in folder `dir`, whole or not at all (a temporary file
 * renamed over it, so a server reloading meanwhile never reads half of it).
 */
bool write_file_in(const char *dir, const char *name, const char *text);

/*
 * A fresh copy of the shipped policies/ in $TRANSOM_TEST_TMP/`name`, its path into `dir`
 * (`len` bytes): the suite then edits what it needs.  False when the copy failed.
 */
bool policies_copy(const char *name, char *dir, size_t len);

/*
 * Starts the test OpenID Provider (node tests/oidc/op.mjs, oidc-provider from npm) on a
 * free port; its URL into op->base.  Returns its pid, or -1 when it did not come up.
 */
pid_t oidc_provider_start(struct server *op);

/* The base64 of NUL-terminated `in` into `out` (room for 4 * ceil(strlen(in) / 3) + 1). */
void b64_encode(const char *in, char *out);

/* "Authorization: Basic <base64 of user:pw>" into `out` (`len` bytes, 480 is plenty). */
void basic_auth_header(const char *user, const char *pw, char *out, size_t len);

/*
 * Makes a request.  `token` may be NULL; `body` may be NULL; `headers` is a
 * NULL-terminated list of extra "Name: value" lines (may be NULL).
 */
struct reply *request(const struct server *s, const char *method, const char *path,
		      const char *token, const char *body, const char *const *headers);

/* Header `name` of `r` (case-insensitive), into a static buffer, or NULL. */
const char *reply_header(const struct reply *r, const char *name);

/* String member `key` of the JSON reply, or "". */
const char *reply_str(const struct reply *r, const char *key);

void reply_free(struct reply *r);

/* Runs deploy/pg.sh with `verb` on the test cluster ("stop" or "start"). */
int pg_ctl_test(const char *verb);

#endif /* TRANSOM_TEST_LIB_HTTP_H */
