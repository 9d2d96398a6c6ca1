/*
 * commands.h -- the commands of the transom CLI.  transom.c holds the table that names
 * them with their options; each returns the process exit status (enum cli_exit).
 *
 * Every command gets its parsed arguments (options by the names in that table) and the
 * shared context; it prints its result on stdout (the server's JSON with --json, else
 * text for people) and its errors on stderr.
 */
#ifndef TRANSOM_CLI_COMMANDS_H
#define TRANSOM_CLI_COMMANDS_H

#include "main/cli/args.h"
#include "main/cli/client.h"

/* deploy.c */
int cli_deploy_request(const struct cli *c, const struct cli_args *a);
int cli_deploy_result(const struct cli *c, const struct cli_args *a);

/* changes.c */
int cli_changes_list(const struct cli *c, const struct cli_args *a);
int cli_changes_show(const struct cli *c, const struct cli_args *a);
int cli_approve(const struct cli *c, const struct cli_args *a);

/*
 * Writes a window for people: "2026-12-05 02:00–04:00 UTC" (one day) or
 * "2026-12-05 22:00 – 2026-12-06 02:00 UTC"; the raw strings when they do not parse.
 */
void cli_window_text(const char *start, const char *end, char *out, size_t len);

#endif /* TRANSOM_CLI_COMMANDS_H */
