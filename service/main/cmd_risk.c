/*
 * cmd_risk.c -- `transomd risk backtest`: the risk backtest of GET /v1/risk/backtest from
 * the shell, printed with what each figure means (or as the route's JSON with --json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/backtest.h"
#include "defs/defs.h"
#include "main/main.h"
#include "policy/policy.h"
#include "store/store.h"

static int usage_risk(void)
{
	fprintf(stderr, "usage: transomd risk backtest [--from TIME] [--to TIME] [--band N] "
			"[--json]\n");
	return 2;
}

int cmd_risk(const struct config *cfg, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *band = NULL;
	bool as_json = false;
	if (argc < 1 || strcmp(argv[0], "backtest") != 0)
		return usage_risk();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = true;
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--band") == 0 && i + 1 < argc)
			band = argv[++i];
		else
			return usage_risk();
	}
	struct app_backtest_q q;
	struct tr_error err = {0};
	if (app_backtest_args(from, to, band, &q, &err) != TR_OK) {
		fprintf(stderr, "transomd risk backtest: --%s: %s\n", err.field, err.detail);
		return 2;
	}
	char now[32], *errors = NULL;
	main_now_rfc3339(now, sizeof now);
	struct defs *d = defs_load(cfg->workflows_dir, cfg->policies_dir, NULL, now, &errors);
	if (d == NULL) {
		fputs(errors ? errors : "definitions cannot be loaded\n", stderr);
		free(errors);
		return 1;
	}
	struct store *st = store_new(cfg->database_url, NULL);
	int rc = 1;
	json_t *rep = NULL;
	if (st == NULL) {
		defs_release(d);
		return 1;
	}
	if (store_migrate(st) < 0 || app_backtest_compute(st, d->policies, &q, &rep) < 0) {
		fprintf(stderr, "transomd risk backtest: database: %s\n", store_last_error(st));
	} else {
		char *text = as_json ? json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
				     : policy_backtest_text(rep);
		if (text != NULL) {
			fputs(text, stdout);
			if (as_json)
				fputc('\n', stdout);
			if (!as_json)
				printf("\n%lld changes carried out with no recorded risk were left "
				       "out.\n",
				       (long long)json_integer_value(
					       json_object_get(rep, "unassessed")));
			rc = 0;
		}
		free(text);
	}
	json_decref(rep);
	store_free(st);
	defs_release(d);
	return rc;
}
