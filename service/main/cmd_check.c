/*
 * cmd_check.c -- `transomd check`: validate workflows and policies without a database,
 * for the CI of repositories that keep their own definitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defs/defs.h"
#include "main/main.h"
#include "policy/catalog.h"
#include "wf/wf.h"

int cmd_check(const struct config *cfg, int argc, char **argv)
{
	const char *workflows = cfg->workflows_dir, *policies = cfg->policies_dir;
	char now[32], *errors = NULL;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--workflows") == 0 && i + 1 < argc) {
			workflows = argv[++i];
		} else if (strcmp(argv[i], "--policies") == 0 && i + 1 < argc) {
			policies = argv[++i];
		} else {
			fprintf(stderr,
				"usage: transomd check [--workflows DIR] [--policies DIR]\n");
			return 2;
		}
	}
	main_now_rfc3339(now, sizeof now);
	struct defs *d = defs_load(workflows, policies, NULL, now, &errors);
	if (d == NULL) {
		fputs(errors ? errors : "definitions cannot be loaded\n", stderr);
		free(errors);
		return 1;
	}
	size_t i;
	json_t *w;
	json_array_foreach(d->warnings, i, w)
		printf("warning: %s\n", json_string_value(w));
	printf("ok: %zu workflows in %s, %zu services in %s, %u files in all, version %s\n",
	       wf_set_count(d->workflows), workflows, d->catalog ? catalog_count(d->catalog) : 0,
	       policies, d->files, d->version);
	defs_release(d);
	return 0;
}
