/*
 * client.h -- the transom CLI's side of the HTTP API: one JSON request with the bearer
 * token (through net_send), problem+json replies turned into one-line messages, and which
 * failures are worth retrying.
 */
#ifndef TRANSOM_CLI_CLIENT_H
#define TRANSOM_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Process exit statuses of the transom CLI. */
enum cli_exit {
	CLI_OK = 0,      /* done; for deploy request: go */
	CLI_ERROR = 1,   /* bad usage, an error reply, or no server */
	CLI_DENIED = 2,  /* deploy request: the deployment is denied */
	CLI_TIMEOUT = 3, /* deploy request: still waiting when --timeout passed (or no --wait) */
};

/* What every command gets: the server, the caller and the output mode.  Read-only. */
struct cli {
	char url[1024];    /* base URL without a trailing '/' */
	const char *token; /* bearer token (borrowed) */
	bool json;         /* --json: the server's JSON on stdout, nothing else there */
	bool tty;          /* stderr is a terminal (live progress line) */
};

struct cli_reply {
	int status;      /* HTTP status; 0 when no response arrived */
	json_t *json;    /* owned: the parsed body, NULL when empty or not JSON */
	bool transient;  /* worth retrying: no response, 408, 429, 502, 503 or 504 */
	char error[512]; /* "" after a 2xx, else one line for people: the problem's title,
			    status, detail and field, or why no response arrived */
};

#define CLI_TIMEOUT_MS_DEFAULT 30000L

/*
 * Sends `method` `c->url``path` with Authorization: Bearer, Accept: application/json and,
 * when `body` is not NULL, the body as JSON; `idempotency_key` (may be NULL) is sent as
 * Idempotency-Key.  `timeout_ms` <= 0 means CLI_TIMEOUT_MS_DEFAULT.  `r` is overwritten:
 * release it with cli_reply_clear().
 *
 * Returns 0 after a 2xx reply whose body is JSON (or empty), else -1 with r->error set
 * and r->transient saying whether trying again may help.  Blocks up to timeout_ms.
 */
int cli_request(const struct cli *c, const char *method, const char *path, const json_t *body,
		const char *idempotency_key, long timeout_ms, struct cli_reply *r);

/* Is an HTTP `status` worth retrying (408, 429, 502, 503, 504)? */
bool cli_status_transient(int status);

/* Frees r->json and zeroes `r`.  NULL is a no-op. */
void cli_reply_clear(struct cli_reply *r);

/* Prints "transom: <message>" and a newline on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Is `id` safe as one path segment (1 to 64 of A-Z a-z 0-9 . _ -, not "." or "..")?  When
 * not, prints why (naming `what`) and returns false.
 */
bool cli_id_ok(const char *id, const char *what);

/* Appends "&key=value" (or "?key=value" when `buf` has no '?') percent-encoded. */
void cli_query_add(char *buf, size_t len, const char *key, const char *value);

/* Prints `j` on stdout, indented, with a newline. */
void cli_json_print(const json_t *j);

/* String member `key` of `j`, or `def` when absent or not a string. */
const char *cli_str(const json_t *j, const char *key, const char *def);

/* Sleeps `ms` milliseconds (nothing when <= 0). */
void cli_sleep_ms(long long ms);

#endif /* TRANSOM_CLI_CLIENT_H */
