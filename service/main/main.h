/*
 * main.h -- the sub-commands of the transomd binary.
 * Each returns the process exit status: 0 ok, 1 failure, 2 bad usage or configuration.
 */
#ifndef TRANSOM_MAIN_H
#define TRANSOM_MAIN_H

#include "config/config.h"

int cmd_serve(const struct config *cfg);
int cmd_migrate(const struct config *cfg);
int cmd_token(const struct config *cfg, int argc, char **argv);
int cmd_user(const struct config *cfg, int argc, char **argv);
int cmd_check(const struct config *cfg, int argc, char **argv);

/* Writes the current UTC time as RFC 3339 into `out` (at least 32 bytes). */
void main_now_rfc3339(char *out, size_t outlen);

#endif /* TRANSOM_MAIN_H */
