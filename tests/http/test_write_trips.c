/*
 * test_write_trips.c -- what a record write costs in round trips to PostgreSQL, and that
 * the reply made for it is the record as stored.  Through the use cases (app/records.h)
 * on one store, as the HTTP handlers call them: a transition answers in two round trips
 * (BEGIN with the locking read; the writes, the reply's timers and COMMIT), its reply is
 * what a read of the record gives (the timers its new state armed included); with an
 * Idempotency-Key the reply is stored whole and replayed as sent; a refused transition
 * writes nothing and leaves no reply.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../unit/harness.h"
#include "app/records.h"
#include "auth/roles.h"
#include "defs/defs.h"
#include "store/store.h"

/* Flips between a and b; b arms a timer, so that a reply has timers to show. */
static const char toggle[] =
	"{\"name\": \"toggle\", \"kind\": \"change\", \"initial\": \"a\",\n"
	" \"states\": {\"a\": {\"description\": \"one side\"},\n"
	"  \"b\": {\"description\": \"the other\", \"timers\": [{\"after\": \"1h\", \"event\": "
	"\"expire\"}]},\n"
	"  \"done\": {\"description\": \"the end\", \"final\": true}},\n"
	" \"transitions\": [\n"
	"  {\"event\": \"flip\", \"from\": \"a\", \"to\": \"b\", \"roles\": [\"requester\"],\n"
	"   \"actions\": [{\"action\": \"emit\", \"event\": \"change.flipped\"}]},\n"
	"  {\"event\": \"flop\", \"from\": \"b\", \"to\": \"a\", \"roles\": [\"requester\"]},\n"
	"  {\"event\": \"expire\", \"from\": \"b\", \"to\": \"a\", \"roles\": [\"system\"]},\n"
	"  {\"event\": \"close\", \"from\": [\"a\", \"b\"], \"to\": \"done\", \"roles\": "
	"[\"requester\"]}]}\n";

static struct store *st;
static struct defs *defs;
static char id[32];
static long long now_ms = 1796601600000LL; /* 2026-12-07T00:00:00Z */

static bool setup(void)
{
	char dir[512], wf[600], pol[600], file[700];
	snprintf(dir, sizeof dir, "%s/write_trips.%d", getenv("TRANSOM_TEST_TMP") ?: "/tmp",
		 (int)getpid());
	snprintf(wf, sizeof wf, "%s/workflows", dir);
	snprintf(pol, sizeof pol, "%s/policies", dir);
	snprintf(file, sizeof file, "%s/toggle.json", wf);
	mkdir(dir, 0700);
	mkdir(wf, 0700);
	mkdir(pol, 0700);
	FILE *f = fopen(file, "w");
	if (f == NULL)
		return false;
	fputs(toggle, f);
	fclose(f);
	char *errors = NULL;
	defs = defs_load(wf, pol, NULL, "2026-12-07T00:00:00Z", &errors);
	CHECKF(defs != NULL, "definitions: %s", errors ? errors : "?");
	free(errors);
	st = store_new(getenv("TRANSOM_TEST_DATABASE_URL"), NULL);
	return defs != NULL && st != NULL && store_migrate(st) >= 0;
}

static void teardown(void)
{
	store_free(st);
	if (defs != NULL)
		defs_release(defs);
}

static struct rec_ctx ctx(void)
{
	return (struct rec_ctx){.st = st,
				.defs = defs,
				.actor = "alice",
				.roles = ROLE_REQUESTER,
				.request_id = "trips",
				.now_ms = now_ms += 1000,
				.retries = 3};
}

/* The reply as JSON (owned), whichever form it came in. */
static json_t *reply_json(const struct rec_reply *out)
{
	if (out->raw_body != NULL)
		return json_loads(out->raw_body, 0, NULL);
	return json_incref(out->body);
}

/* Whether every member of `reply` is in `record` with the same value. */
static bool same_members(json_t *reply, json_t *record)
{
	const char *key;
	json_t *v;
	json_object_foreach(reply, key, v) {
		if (!json_equal(v, json_object_get(record, key))) {
			fprintf(stderr, "  member '%s' differs\n", key);
			return false;
		}
	}
	return json_object_size(reply) > 0;
}

/* The record as a read gives it (owned), or NULL. */
static json_t *read_back(void)
{
	struct rec_ctx c = ctx();
	struct rec_reply out = {0};
	struct tr_error err = {0};
	if (records_get(&c, "change", id, NULL, &out, &err) != TR_OK)
		return NULL;
	json_t *j = reply_json(&out);
	rec_reply_clear(&out);
	return j;
}

static void test_a_transition_answers_in_two_round_trips(void)
{
	if (!setup()) {
		CHECK(!"setup");
		return;
	}
	atexit(teardown);
	struct rec_ctx c = ctx();
	struct rec_reply out = {.as_text = true};
	struct tr_error err = {0};
	json_t *input = json_pack("{s:s, s:s}", "title", "trips", "type", "standard");
	CHECK_INT(records_create(&c, "change", input, &out, &err), TR_OK);
	json_decref(input);
	snprintf(id, sizeof id, "%s", out.id);
	CHECK(strncmp(id, "CHG-", 4) == 0);
	rec_reply_clear(&out);

	for (int i = 0; i < 4; i++) {
		const char *event = i % 2 == 0 ? "flip" : "flop";
		c = ctx();
		unsigned long before = store_round_trips(st);
		CHECK_INT(records_transition(&c, "change", id, event, NULL, NULL, &out, &err),
			  TR_OK);
		/* BEGIN + the locking read; the writes, the timers and COMMIT */
		CHECK_INT(store_round_trips(st) - before, 2);
		CHECK(out.raw_body != NULL && out.body == NULL);
		CHECK_INT(out.version, 2 + i);
		json_t *reply = reply_json(&out), *stored = read_back();
		CHECKF(reply != NULL && stored != NULL && same_members(reply, stored), "reply %s",
		       out.raw_body ? out.raw_body : "(null)");
		CHECK_STR(json_string_value(json_object_get(reply, "state")), i % 2 ? "a" : "b");
		CHECK_INT(json_integer_value(json_object_get(reply, "version")), 2 + i);
		/* b armed its timer in this transaction: the reply shows it; a shows none */
		json_t *timers = json_object_get(reply, "timers");
		CHECK_INT(json_array_size(timers), i % 2 ? 0 : 1);
		if (i % 2 == 0)
			CHECK_STR(json_string_value(
					  json_object_get(json_array_get(timers, 0), "event")),
				  "expire");
		json_decref(reply);
		json_decref(stored);
		rec_reply_clear(&out);
	}
}

static void test_an_idempotent_transition_stores_its_whole_reply(void)
{
	if (id[0] == '\0') {
		CHECK(!"no change to work on");
		return;
	}
	struct rec_ctx c = ctx();
	c.idem_key = "trips-key";
	c.idem_method = "POST";
	c.idem_path = "/v1/changes/x/transitions";
	c.idem_body_hash = "0123";
	struct rec_reply out = {.as_text = true}, again = {.as_text = true};
	struct tr_error err = {0};
	CHECK_INT(records_transition(&c, "change", id, "flip", NULL, NULL, &out, &err), TR_OK);
	json_t *first = reply_json(&out);
	CHECK_STR(json_string_value(json_object_get(first, "state")), "b");
	CHECK_INT(json_array_size(json_object_get(first, "timers")), 1);
	/* the same key again: the first reply, as it was, and nothing fired */
	c.now_ms = now_ms += 1000;
	CHECK_INT(records_transition(&c, "change", id, "flip", NULL, NULL, &again, &err), TR_OK);
	json_t *replayed = reply_json(&again);
	CHECK(first != NULL && replayed != NULL && json_equal(first, replayed));
	json_t *stored = read_back();
	CHECK_INT(json_integer_value(json_object_get(stored, "version")), 6);
	json_decref(first);
	json_decref(replayed);
	json_decref(stored);
	rec_reply_clear(&out);
	rec_reply_clear(&again);
}

static void test_a_refused_transition_writes_nothing_and_leaves_no_reply(void)
{
	if (id[0] == '\0') {
		CHECK(!"no change to work on");
		return;
	}
	struct rec_ctx c = ctx();
	struct rec_reply out = {.as_text = true};
	struct tr_error err = {0};
	/* at b: flip is not allowed (409), and a stale If-Match is refused (412) */
	CHECK_INT(records_transition(&c, "change", id, "flip", NULL, NULL, &out, &err),
		  TR_E_CONFLICT);
	CHECK(out.raw_body == NULL && out.body == NULL);
	rec_reply_clear(&out);
	struct rec_versions v1 = {.n = 1, .v = {1}};
	CHECK_INT(records_transition(&c, "change", id, "flop", NULL, &v1, &out, &err),
		  TR_E_PRECONDITION_FAILED);
	CHECK(out.raw_body == NULL && out.body == NULL);
	rec_reply_clear(&out);
	json_t *stored = read_back();
	CHECK_STR(json_string_value(json_object_get(stored, "state")), "b");
	CHECK_INT(json_integer_value(json_object_get(stored, "version")), 6);
	json_decref(stored);
}

TESTS(test_a_transition_answers_in_two_round_trips,
      test_an_idempotent_transition_stores_its_whole_reply,
      test_a_refused_transition_writes_nothing_and_leaves_no_reply)
