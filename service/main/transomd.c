/*
 * transomd.c -- entry point: global options, configuration, sub-command dispatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calendar/calendar.h"
#include "core/clock.h"
#include "main/main.h"
#include "net/net.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: transomd [--config FILE] COMMAND [ARGS]\n"
		"\n"
		"Transom: change-management workflows and CAB scheduling over HTTP.\n"
		"\n"
		"Commands:\n"
		"  serve                       apply migrations, then serve HTTP until SIGTERM\n"
		"  migrate [--database-url URL]\n"
		"                              apply database migrations (as the schema owner:\n"
		"                              URL, else TRANSOM_MIGRATE_DATABASE_URL, else\n"
		"                              TRANSOM_DATABASE_URL) and exit\n"
		"  db grant ROLE [--database-url URL]\n"
		"                              as the owner: migrate, then grant the serving\n"
		"                              login ROLE what serve needs (and no more)\n"
		"  audit key [--file PATH]     print the public key audit checkpoints verify with\n"
		"  audit keygen PATH           create a signing key (PEM, mode 0600)\n"
		"  audit verify --checkpoints FILE [--database-url URL] [--key ed25519:...]\n"
		"                              verify a database's audit trail offline against\n"
		"                              signed checkpoints; names the first bad event\n"
		"  token create --user NAME --role ROLE[,ROLE...]... [--email ADDR]\n"
		"               [--display-name TEXT]\n"
		"                              create an API token (printed once)\n"
		"  token ensure --user NAME --role ROLES --file PATH\n"
		"                              reuse the token in PATH if valid, else create one\n"
		"  token list                  list tokens (never their secrets)\n"
		"  token revoke ID             revoke a token (and its app passwords and feed "
		"URLs)\n"
		"  user list                   list users and their state (active, disabled)\n"
		"  user disable NAME           disable a user: every credential stops working\n"
		"  user enable NAME            enable a user again (they need a new token)\n"
		"  user login-link NAME --role ROLE[,ROLE...] [--ttl SECONDS]\n"
		"                              print a one-time web app sign-in URL (900 s)\n"
		"  risk backtest [--from TIME] [--to TIME] [--band N] [--json]\n"
		"                              replay carried-out changes: how well the risk\n"
		"                              levels and scores foretold failures and incidents\n"
		"  check [--workflows DIR] [--policies DIR]\n"
		"                              validate definitions; exit 0 when valid, 1 if not\n"
		"\n"
		"Signals (serve): SIGTERM/SIGINT stop gracefully; SIGHUP reloads workflows and\n"
		"policies (invalid files are reported and the old ones kept).\n"
		"\n");
	config_print_help(out);
}

void main_now_rfc3339(char *out, size_t outlen)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int main(int argc, char **argv)
{
	const char *config_path = getenv("TRANSOM_CONFIG");
	struct config_file *file = NULL;
	struct config cfg;
	struct tr_error err = {0};
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_path = argv[++i];
		} else {
			fprintf(stderr, "transomd: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (config_path != NULL && *config_path != '\0') {
		file = config_file_load(config_path, &err);
		if (file == NULL) {
			fprintf(stderr, "transomd: %s\n", err.detail);
			return 2;
		}
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	enum tr_code rc = config_parse(config_env_get, NULL, file ? config_file_get : NULL, file,
				       ncpu > 0 ? (unsigned)ncpu : 1, &cfg, &err);
	config_file_free(file);
	if (rc != TR_OK) {
		fprintf(stderr, "transomd: invalid setting %s\n", err.detail);
		return 2;
	}
	log_level_set(cfg.log_level);
	clock_init(); /* TRANSOM_CLOCK_OFFSET_FILE, for tests */
	cal_init();   /* libical's settings and zones, before any thread starts */
	net_init();   /* libcurl's global state, likewise */
	atexit(net_cleanup);

	const char *cmd = argv[i];
	int sub_argc = argc - i - 1;
	char **sub_argv = argv + i + 1;
	const char *migrate_url = NULL;
	if (strcmp(cmd, "migrate") == 0 && sub_argc == 2 &&
	    strcmp(sub_argv[0], "--database-url") == 0)
		migrate_url = sub_argv[1];
	else if (strcmp(cmd, "migrate") == 0 && sub_argc != 0) {
		fprintf(stderr, "usage: transomd migrate [--database-url URL]\n");
		return 2;
	}
	bool needs_db =
		strcmp(cmd, "serve") == 0 || strcmp(cmd, "token") == 0 ||
		strcmp(cmd, "user") == 0 || strcmp(cmd, "risk") == 0 ||
		(strcmp(cmd, "migrate") == 0 && migrate_url == NULL && cfg.migrate_url[0] == '\0');
	if (needs_db && cfg.database_url[0] == '\0') {
		fprintf(stderr, "transomd: invalid setting TRANSOM_DATABASE_URL='': expected a "
				"PostgreSQL connection string (make run sets one up)\n");
		return 2;
	}
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(&cfg);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(&cfg, migrate_url);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(&cfg, sub_argc, sub_argv);
	if (strcmp(cmd, "db") == 0)
		return cmd_db(&cfg, sub_argc, sub_argv);
	if (strcmp(cmd, "token") == 0)
		return cmd_token(&cfg, sub_argc, sub_argv);
	if (strcmp(cmd, "user") == 0)
		return cmd_user(&cfg, sub_argc, sub_argv);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(&cfg, sub_argc, sub_argv);
	if (strcmp(cmd, "risk") == 0)
		return cmd_risk(&cfg, sub_argc, sub_argv);
	fprintf(stderr, "transomd: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
