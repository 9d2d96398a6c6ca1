/*
 * transom.c -- the `transom` command-line client: deployment gates for CI pipelines
 * (`deploy request`, `deploy result`) and changes for people (`changes list|show`,
 * `approve`).
 *
 * Commands are data: one table below names each with its options and help; the generic
 * work (options, --help, server URL and token from flags or TRANSOM_URL/TRANSOM_TOKEN)
 * runs once before the command.  Exit statuses: 0 ok (go), 1 error or bad usage,
 * 2 denied, 3 timed out (see client.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "main/cli/commands.h"
#include "net/net.h"

/* Accepted by every command, before or after its name. */
static const struct cli_opt common_opts[] = {
	{"url", "URL", "server base URL (default: $TRANSOM_URL)"},
	{"token", "TOKEN", "API token (default: $TRANSOM_TOKEN, safer: others see arguments)"},
	{"json", NULL, "print the server's JSON on stdout, nothing else"},
	{"help", NULL, "show this help"},
};
#define N_COMMON (sizeof common_opts / sizeof common_opts[0])

static const struct cli_opt deploy_request_opts[] = {
	{"service", "S", "the service to deploy (required)"},
	{"env", "E", "the environment, e.g. production (required)"},
	{"duration", "D", "how long the deployment takes: 30m, 2h, 1h30m, 45s (required)"},
	{"template", "T", "the standard-change template the deployment follows"},
	{"wait", NULL, "when told to wait, wait for the window (or a decision)"},
	{"timeout", "D", "with --wait: give up after D, exit 3 (default 1h)"},
	{"idempotency-key", "K", "the Idempotency-Key (default: from the CI run, else random)"},
	{"pipeline-url", "URL", "the pipeline run (default: from the CI environment)"},
	{"commit", "SHA", "the commit deployed (default: from the CI environment)"},
	{"actor", "NAME", "who started the pipeline (default: from the CI environment)"},
	{"id-file", "FILE", "write the deployment id to FILE (for `deploy result`)"},
	{"lease-file", "FILE", "on allow, write the lease token to FILE (for `deploy result`)"},
	{"emergency", NULL,
	 "an emergency change: the emergency board (or break glass) authorizes it"},
	{"justification", "TEXT", "with --emergency: why it cannot wait (required)"},
};

static const struct cli_opt deploy_result_opts[] = {
	{"outcome", "O", "success or failure (required)"},
	{"details", "TEXT", "what happened, for the record"},
	{"open-incident", NULL, "with failure: open an incident caused by the change"},
	{"lease", "TOKEN", "the lease the allow decision granted (required once granted)"},
	{"lease-file", "FILE", "read the lease token from FILE (see `deploy request`)"},
};

static const struct cli_opt changes_list_opts[] = {
	{"state", "S", "only changes in state S (e.g. authorize, scheduled)"},
	{"type", "T", "only changes of type T (standard, normal, emergency)"},
	{"service", "S", "only changes touching service S"},
	{"requester", "USER", "only changes raised by USER"},
	{"limit", "N", "at most N changes (the server caps it at 200)"},
	{"next", "CURSOR", "the next page (printed when there is one)"},
};

static const struct cli_opt approve_opts[] = {
	{"comment", "TEXT", "a comment recorded with the vote"},
};

struct command {
	const char *words;    /* "deploy request" */
	const char *synopsis; /* what follows the words in the usage line */
	size_t n_pos;         /* positional arguments it takes (exactly) */
	const struct cli_opt *opts;
	size_t n_opts;
	int (*run)(const struct cli *c, const struct cli_args *a);
	const char *summary; /* one line for the command list */
	const char *about;   /* more for --help; may be NULL */
};

#define OPTS(t) t, sizeof t / sizeof t[0]

static const struct command commands[] = {
	{"deploy request", "--service S --env E --duration D [--template T] [--wait [--timeout D]]",
	 0, OPTS(deploy_request_opts), cli_deploy_request,
	 "ask whether a pipeline may deploy now; wait for the window when asked",
	 "Prints the decision: allowed (exit 0), waiting (exit 3 without --wait) or denied\n"
	 "(exit 2). With --wait a \"wait\" decision is followed until it becomes allow or deny\n"
	 "or --timeout passes (exit 3), retrying when the server is unreachable or busy; a\n"
	 "live progress line goes to stderr. Any other error exits 1.\n"},
	{"deploy result", "ID --outcome success|failure [--details TEXT] [--open-incident]", 1,
	 OPTS(deploy_result_opts), cli_deploy_result, "report how deployment ID went", NULL},
	{"changes list", "[--state S] [--limit N] [--type T] [--service S]", 0,
	 OPTS(changes_list_opts), cli_changes_list, "list changes: id, state, type, title", NULL},
	{"changes show", "ID", 1, NULL, 0, cli_changes_show,
	 "show one change: state, risk, approvals, schedule", NULL},
	{"approve", "ID [--comment TEXT]", 1, OPTS(approve_opts), cli_approve,
	 "approve change ID as a member of a group asked to approve", NULL},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_opts(FILE *f, const struct cli_opt *opts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
			 opts[i].metavar ? opts[i].metavar : "");
		fprintf(f, "  %-24s %s\n", left, opts[i].help);
	}
}

static void usage_all(FILE *f, const char *prefix)
{
	fprintf(f, "usage: transom [--url URL] [--token TOKEN] [--json] COMMAND ...\n\n");
	fprintf(f, "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (prefix == NULL || strncmp(commands[i].words, prefix, strlen(prefix)) == 0)
			fprintf(f, "  %-16s %s\n", commands[i].words, commands[i].summary);
	fprintf(f, "\ncommon options:\n");
	print_opts(f, common_opts, N_COMMON);
	fprintf(f, "\nexit status: 0 ok (deploy: go), 1 error, 2 denied, 3 timed out.\n"
		   "`transom COMMAND --help` describes each command.\n");
}

static void usage_cmd(FILE *f, const struct command *cmd, bool full)
{
	fprintf(f, "usage: transom %s %s\n", cmd->words, cmd->synopsis);
	if (!full) {
		fprintf(f, "`transom %s --help` for more.\n", cmd->words);
		return;
	}
	fprintf(f, "\n%c%s.\n", toupper((unsigned char)cmd->summary[0]), cmd->summary + 1);
	if (cmd->about)
		fprintf(f, "%s", cmd->about);
	if (cmd->n_opts > 0) {
		fprintf(f, "\noptions:\n");
		print_opts(f, cmd->opts, cmd->n_opts);
	}
	fprintf(f, "\ncommon options:\n");
	print_opts(f, common_opts, N_COMMON);
	fprintf(f, "\nexit status: 0 ok%s, 1 error%s.\n",
		strcmp(cmd->words, "deploy request") == 0 ? " (go)" : "",
		strcmp(cmd->words, "deploy request") == 0 ? ", 2 denied, 3 timed out (or waiting)"
							  : "");
}

/* The command named by argv[0] (and argv[1]); *words says how many argv it took. */
static const struct command *find_command(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const char *w = commands[i].words, *sp = strchr(w, ' ');
		if (sp == NULL && argc >= 1 && strcmp(argv[0], w) == 0) {
			*words = 1;
			return &commands[i];
		}
		if (sp != NULL && argc >= 2 && strncmp(argv[0], w, (size_t)(sp - w)) == 0 &&
		    argv[0][sp - w] == '\0' && strcmp(argv[1], sp + 1) == 0) {
			*words = 2;
			return &commands[i];
		}
	}
	return NULL;
}

/* Is `word` the first word of a two-word command ("deploy", "changes")? */
static bool is_group(const char *word)
{
	size_t n = strlen(word);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strncmp(commands[i].words, word, n) == 0 && commands[i].words[n] == ' ')
			return true;
	return false;
}

/* Fills c->url and c->token from the options or the environment; false after saying why. */
static bool resolve_server(struct cli *c, const struct cli_args *a)
{
	const char *url = cli_args_get(a, "url"), *token = cli_args_get(a, "token");
	if (url == NULL || !*url)
		url = getenv("TRANSOM_URL");
	if (token == NULL || !*token)
		token = getenv("TRANSOM_TOKEN");
	if (url == NULL || !*url) {
		cli_error("no server: pass --url or set TRANSOM_URL (e.g. http://127.0.0.1:8080)");
		return false;
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		cli_error("server URL '%s': expected http:// or https://", url);
		return false;
	}
	if (strlen(url) >= sizeof c->url) {
		cli_error("server URL: longer than %zu bytes", sizeof c->url - 1);
		return false;
	}
	if (token == NULL || !*token) {
		cli_error("no token: pass --token or set TRANSOM_TOKEN");
		return false;
	}
	snprintf(c->url, sizeof c->url, "%s", url);
	for (size_t n = strlen(c->url); n > 0 && c->url[n - 1] == '/'; n--)
		c->url[n - 1] = '\0';
	c->token = token;
	return true;
}

static int run(int argc, char **argv)
{
	struct cli_args global = {0}, a = {0};
	struct cli_opt merged[CLI_MAX_OPTS];
	struct cli c = {0};
	char err[256];
	int used = 0, words = 0;

	/* Common options may come before the command. */
	if (cli_args_parse(&global, common_opts, N_COMMON, argc, argv, true, 0, &used, err,
			   sizeof err) != 0) {
		cli_error("%s", err);
		usage_all(stderr, NULL);
		return CLI_ERROR;
	}
	argc -= used;
	argv += used;
	if (argc > 0 && strcmp(argv[0], "help") == 0) {
		argc--;
		argv++;
		for (size_t i = 0; i < N_COMMON; i++)
			if (strcmp(common_opts[i].name, "help") == 0)
				global.val[i] = "";
	}
	bool help = cli_args_get(&global, "help") != NULL;
	const struct command *cmd = find_command(argc, argv, &words);
	if (cmd == NULL) {
		if (argc == 0) {
			if (!help)
				cli_error("no command given");
			usage_all(help ? stdout : stderr, NULL);
			return help ? CLI_OK : CLI_ERROR;
		}
		bool group = is_group(argv[0]);
		if (group && (help || (argc >= 2 && strcmp(argv[1], "--help") == 0))) {
			usage_all(stdout, argv[0]);
			return CLI_OK;
		}
		if (group && argc >= 2)
			cli_error("unknown command '%s %s'", argv[0], argv[1]);
		else if (group)
			cli_error("'%s' needs a command", argv[0]);
		else
			cli_error("unknown command '%s'", argv[0]);
		usage_all(stderr, group ? argv[0] : NULL);
		return CLI_ERROR;
	}

	/* The command's own options, then the common ones (as given before the command). */
	size_t n = 0;
	for (size_t i = 0; i < cmd->n_opts; i++)
		merged[n++] = cmd->opts[i];
	for (size_t i = 0; i < N_COMMON; i++) {
		a.val[n] = global.val[i];
		merged[n++] = common_opts[i];
	}
	if (cli_args_parse(&a, merged, n, argc - words, argv + words, false, cmd->n_pos, &used, err,
			   sizeof err) != 0) {
		if (cli_args_get(&a, "help") != NULL) {
			usage_cmd(stdout, cmd, true);
			return CLI_OK;
		}
		cli_error("%s", err);
		usage_cmd(stderr, cmd, false);
		return CLI_ERROR;
	}
	if (cli_args_get(&a, "help") != NULL) {
		usage_cmd(stdout, cmd, true);
		return CLI_OK;
	}
	if (a.n_pos != cmd->n_pos) {
		cli_error("%s needs %s", cmd->words, cmd->synopsis);
		usage_cmd(stderr, cmd, false);
		return CLI_ERROR;
	}
	if (!resolve_server(&c, &a))
		return CLI_ERROR;
	c.json = cli_args_get(&a, "json") != NULL;
	c.tty = isatty(STDERR_FILENO) == 1;
	return cmd->run(&c, &a);
}

int main(int argc, char **argv)
{
	net_init();
	int status = run(argc - 1, argv + 1);
	net_cleanup();
	if (fflush(stdout) != 0 && status == CLI_OK) {
		cli_error("cannot write the output");
		status = CLI_ERROR;
	}
	return status;
}
