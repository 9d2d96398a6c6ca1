/*
 * fuzz_incidents.c -- libFuzzer target: bytes as the content of policies/incidents.json.
 *
 * Feeds the input to policy_incidents_parse and formats every diagnostic.  A policy that
 * parses ranks a fixed set of candidate changes (no catalog: only the incident's own
 * service relates) the way GET /v1/incidents/{id}/suspects does: every score must lie in
 * [0, 1], the list be sorted best first and hold at most `limit` entries.  Must never
 * crash, leak or hang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/incidents.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct policy_incidents *p)
{
	long long t = 1800000000000LL;
	static const char *const outcomes[] = {"failed",    "rolled_back", "in_progress",
					       "succeeded", "unknown",     "odd"};
	static const char *const levels[] = {"low", "medium", "high", "critical", "odd"};
	json_t *c = json_array();
	for (int i = 0; i < 12; i++)
		json_array_append_new(
			c,
			json_pack("{s:s, s:[s], s:I, s:s?, s:s}", "id", i % 2 ? "CHG-1" : "CHG-2",
				  "services", i % 3 ? "payments" : "search", "started_ms",
				  (json_int_t)(t - (long long)i * 37 * 60 * 1000 + (i == 5) * 9999),
				  "risk_level", i % 6 == 5 ? NULL : levels[i % 5], "outcome",
				  outcomes[i % 6]));
	json_t *r = policy_suspects_rank(p, NULL, "payments", t, c);
	if (r == NULL || json_array_size(r) > (size_t)p->limit)
		abort();
	double prev = 2;
	size_t i;
	json_t *s;
	json_array_foreach(r, i, s) {
		double score = json_number_value(json_object_get(s, "score"));
		if (!(score >= 0 && score <= 1 && score <= prev) ||
		    json_string_value(json_object_get(s, "reason")) == NULL)
			abort();
		prev = score;
	}
	json_decref(r);
	json_decref(c);
	for (int k = 0; k < 6; k++) {
		char prio[3] = {'P', (char)('0' + k), 0};
		(void)policy_incident_freezes(p, prio);
	}
	json_t *f = policy_freeze_services(p, NULL, "payments");
	if (f == NULL || json_array_size(f) != 1)
		abort();
	json_decref(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = {0};
	struct policy_incidents *p =
		policy_incidents_parse("policies/incidents.json", (const char *)data, size, &d);
	char *lines = diags_join(&d);
	if (p != NULL && d.n != 0)
		abort();
	if (p == NULL && d.n == 0 && !d.oom)
		abort(); /* a refusal always says why */
	free(lines);
	if (p != NULL)
		exercise(p);
	policy_incidents_free(p);
	diags_clear(&d);
	return 0;
}
