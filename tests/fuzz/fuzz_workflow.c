/*
 * fuzz_workflow.c -- libFuzzer target: bytes as the content of a workflow file.
 *
 * Feeds the input to the definition validator (wf_parse).  Every diagnostic is
 * formatted; a definition that validates is drawn (wf_dot), started with an empty
 * record and fired with each of its events as every role, so the engine runs on
 * whatever the validator lets through.  Must never crash, leak or hang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "wf/wf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Starts a record, then fires every event of the definition once from where it is. */
static void exercise(const struct wf *wf)
{
	json_t *rec = json_pack("{s:s, s:s, s:s, s:[s]}", "id", "X-1", "title", "t", "service",
				"web", "services", "web");
	json_t *teams = json_pack("{s:s}", "web", "team-web");
	struct wf_ctx ctx = {.record = rec,
			     .teams = teams,
			     .actor = "fuzz",
			     .roles = ~0u,
			     .now = 1700000000,
			     .entered_at = 1700000000 - 3600};
	struct wf_outcome out = {0};
	json_t *events = json_object_get(wf_definition(wf), "transitions");
	size_t i;
	json_t *t;

	if (rec == NULL || teams == NULL)
		goto done;
	if (wf_start(wf, &ctx, &out) == WF_OK) {
		json_decref(rec);
		rec = json_incref(out.record);
		ctx.record = rec;
	}
	wf_outcome_clear(&out);
	json_array_foreach(events, i, t) {
		const char *ev = json_string_value(json_object_get(t, "event"));
		wf_fire(wf, &ctx, ev, &out);
		wf_outcome_clear(&out);
	}
	wf_settle(wf, &ctx, &out);
	wf_outcome_clear(&out);
done:
	json_decref(rec);
	json_decref(teams);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = {0};
	struct wf *wf = wf_parse("workflows/fuzz.json", (const char *)data, size, &d);
	char *lines = diags_join(&d);

	free(lines);
	if (wf != NULL) {
		char *dot = wf_dot(wf);
		free(dot);
		for (size_t s = 0; s < wf_state_count(wf); s++) {
			json_t *ev = wf_events_allowed(wf, wf_state_name(wf, s), ~0u);
			json_decref(ev);
		}
		exercise(wf);
	}
	wf_free(wf);
	diags_clear(&d);
	return 0;
}
