/*
 * main.h -- the sub-commands of the transomd binary.
 * Each returns the process exit status: 0 ok, 1 failure, 2 bad usage or configuration.
 */
#ifndef TRANSOM_MAIN_H
#define TRANSOM_MAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

int cmd_serve(const struct config *cfg);
/* `url`: the owner's connection (--database-url), or NULL for the settings'. */
int cmd_migrate(const struct config *cfg, const char *url);
int cmd_audit(const struct config *cfg, int argc, char **argv);
int cmd_db(const struct config *cfg, int argc, char **argv);
int cmd_token(const struct config *cfg, int argc, char **argv);
int cmd_user(const struct config *cfg, int argc, char **argv);
int cmd_check(const struct config *cfg, int argc, char **argv);
/* `transomd risk backtest [--from T] [--to T] [--band N] [--json]`; exit 0, 1 or 2. */
int cmd_risk(const struct config *cfg, int argc, char **argv);

/*
 * Brings the schema up to date, waiting up to `wait_seconds` for a database that is
 * starting.  With TRANSOM_MIGRATE_DATABASE_URL the migrations run as that (owning) login,
 * which then grants the serving login (TRANSOM_DATABASE_URL's) what it needs; without it
 * the serving login migrates when the schema is behind (it must then own the schema).
 * 0, or -1 after printing why.
 */
int main_schema_prepare(const struct config *cfg, unsigned wait_seconds);

/*
 * Sends `state` ("READY=1", "RELOADING=1", "STOPPING=1", ...) to systemd over the
 * datagram socket $NOTIFY_SOCKET names.  False when the variable is unset (not run by a
 * Type=notify unit) or the datagram cannot be sent; harmless either way.
 */
bool main_sd_notify(const char *state);

/* Writes the current UTC time as RFC 3339 into `out` (at least 32 bytes). */
void main_now_rfc3339(char *out, size_t outlen);

#endif /* TRANSOM_MAIN_H */
