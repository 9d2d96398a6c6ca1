/*
 * fuzz_catalog.c -- libFuzzer target: bytes as the content of policies/services.json.
 *
 * Feeds the input to the catalog validator (catalog_parse) and formats every
 * diagnostic.  A catalog that validates is queried the way its callers will: each
 * service found by name, its dependencies checked to be related to it, teams, unknown
 * names and the highest criticality.  Must never crash, leak or hang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Pairs of services checked with catalog_related, at most this many per side. */
#define PAIRS_MAX 64

static void exercise(const struct policy_catalog *cat)
{
	size_t n = catalog_count(cat);
	json_t *names = json_array(), *teams = catalog_teams(cat);

	if (names == NULL || json_object_size(teams) != n)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct catalog_service *s = catalog_at(cat, i);
		if (catalog_find(cat, s->name) != s ||
		    catalog_criticality_name(s->criticality) == NULL)
			abort();
		if (strcmp(json_string_value(json_object_get(teams, s->name)), s->team) != 0)
			abort();
		for (size_t k = 0; k < s->n_depends_on; k++)
			if (!catalog_depends(cat, s->name, s->depends_on[k]) ||
			    catalog_depends(cat, s->depends_on[k], s->name))
				abort(); /* a direct edge, and no cycle */
		json_array_append_new(names, json_string(s->name));
		json_array_append_new(names, json_sprintf("%s-x", s->name));
	}
	for (size_t i = 0; i < n && i < PAIRS_MAX; i++)
		for (size_t j = 0; j < n && j < PAIRS_MAX; j++)
			if (catalog_related(cat, catalog_at(cat, i)->name,
					    catalog_at(cat, j)->name) !=
			    catalog_related(cat, catalog_at(cat, j)->name,
					    catalog_at(cat, i)->name))
				abort();
	json_t *unknown = catalog_unknown(cat, names);
	if (unknown != NULL && json_array_size(unknown) > json_array_size(names) - n)
		abort();
	if (n > 0 && catalog_max_criticality(cat, names) == CATALOG_CRIT_NONE)
		abort();
	json_decref(unknown);
	json_decref(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = {0};
	struct policy_catalog *cat =
		catalog_parse("policies/services.json", (const char *)data, size, &d);
	char *lines = diags_join(&d);

	if (cat != NULL && d.n != 0)
		abort();
	if (cat == NULL && d.n == 0 && !d.oom)
		abort(); /* a refusal always says why */
	free(lines);
	if (cat != NULL)
		exercise(cat);
	catalog_free(cat);
	diags_clear(&d);
	return 0;
}
