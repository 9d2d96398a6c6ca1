/*
 * test_records_core.c -- the pure parts under the record API: date-times, durations,
 * field checks, and the audit chain's hashing and verification.
 */
#include "../unit/harness.h"
#include "audit/audit.h"
#include "core/timeutil.h"
#include "app/fields.h"

static void test_rfc3339(void)
{
	static const struct {
		const char *s;
		bool ok;
		long long ms;
	} cases[] = {
		{"1970-01-01T00:00:00Z", true, 0},
		{"2026-12-05T02:00:00Z", true, 1796436000000LL},
		{"2026-12-05T03:00:00+01:00", true, 1796436000000LL},
		{"2026-12-04T21:30:00-04:30", true, 1796436000000LL},
		{"2026-12-05T02:00:00.250Z", true, 1796436000250LL},
		{"2024-02-29T00:00:00Z", true, 1709164800000LL},
		{"2023-02-29T00:00:00Z", false, 0},
		{"2026-13-01T00:00:00Z", false, 0},
		{"2026-12-05 02:00:00Z", true, 1796436000000LL},
		{"2026-12-05T02:00:00", false, 0},
		{"2026-12-05T24:00:00Z", false, 0},
		{"2026-12-05", false, 0},
		{"tomorrow", false, 0},
		{"", false, 0},
		{"2026-12-05T02:00:00Zjunk", false, 0},
		{"1969-12-31T23:59:59Z", false, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long long ms = -1;
		bool ok = time_parse_rfc3339(cases[i].s, &ms);
		CHECKF(ok == cases[i].ok, "'%s'", cases[i].s);
		if (ok && cases[i].ok)
			CHECKF(ms == cases[i].ms, "'%s': %lld", cases[i].s, ms);
	}
	char out[TIME_RFC3339_LEN];
	time_format_ms(1796436000250LL, out);
	CHECK_STR(out, "2026-12-05T02:00:00.250Z");
}

static void test_durations(void)
{
	static const struct {
		const char *s;
		long long secs; /* -1: invalid */
	} cases[] = {
		{"PT2H", 7200},     {"PT30M", 1800},  {"PT45S", 45},     {"P1D", 86400},
		{"P1DT30M", 88200}, {"P2W", 1209600}, {"PT1H30M", 5400}, {"P1M", -1},
		{"P1Y", -1},        {"PT", -1},       {"P", -1},         {"2h", -1},
		{"PT0S", -1},       {"PT30M1H", -1},  {"PT1H1H", -1},    {"P400D", -1},
		{"PT-1H", -1},      {"pt2h", -1},     {"PT2", -1},       {"", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long long secs = 0;
		bool ok = time_parse_duration(cases[i].s, &secs);
		CHECKF(ok == (cases[i].secs >= 0), "'%s'", cases[i].s);
		if (ok && cases[i].secs >= 0)
			CHECKF(secs == cases[i].secs, "'%s': %lld", cases[i].s, secs);
	}
}

static void test_field_checks(void)
{
	static const struct {
		const char *kind, *json;
		bool creating;
		const char *field; /* NULL: accepted */
	} cases[] = {
		{"change", "{\"title\": \"t\", \"type\": \"normal\"}", true, NULL},
		{"change", "{\"title\": \"t\"}", true, "type"},
		{"change", "{\"description\": \"d\"}", false, NULL},
		{"change", "{\"title\": null}", false, "title"},
		{"change", "{\"rollback_plan\": null}", false, NULL},
		{"change", "{\"services\": []}", false, "services"},
		{"change", "{\"services\": [\"web\", 3]}", false, "services[1]"},
		{"change", "{\"services\": [\"bad name\"]}", false, "services[0]"},
		{"change", "{\"requester\": \"mallory\"}", false, "requester"},
		{"change", "{\"risk\": {\"level\": \"low\"}}", false, "risk"},
		{"incident", "{\"title\": \"t\", \"priority\": \"P5\"}", true, "priority"},
		{"incident", "{\"title\": \"t\", \"caused_by\": \"INC-3\"}", true, "caused_by"},
		{"incident", "{\"title\": \"t\", \"caused_by\": \"CHG-3\"}", true, NULL},
		{"problem", "{\"title\": \"t\", \"incidents\": [\"INC-1\", \"INC-1\"]}", true,
		 "incidents[1]"},
		{"problem", "{\"title\": \"t\", \"incidents\": [\"CHG-1\"]}", true, "incidents[0]"},
		{"problem", "{\"title\": \"t\", \"fix_change\": \"CHG-7\"}", true, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *in = json_loads(cases[i].json, 0, NULL);
		struct tr_error e = {0};
		enum tr_code rc = fields_check(cases[i].kind, in, cases[i].creating, &e);
		if (cases[i].field == NULL)
			CHECKF(rc == TR_OK, "case %zu: %s", i, e.detail);
		else
			CHECKF(rc == TR_E_UNPROCESSABLE && strcmp(e.field, cases[i].field) == 0,
			       "case %zu: rc %d field '%s'", i, rc, e.field);
		json_decref(in);
	}
	CHECK_STR(fields_kind_of_id("PRB-12"), "problem");
	CHECK(fields_kind_of_id("PRB-") == NULL);
	CHECK(fields_kind_of_id("PRB-1x") == NULL);
	CHECK(fields_kind_of_id("XYZ-1") == NULL);
}

static void test_audit_chain(void)
{
	json_t *detail = json_pack("{s:s, s:s}", "from", "draft", "to", "assess");
	struct audit_event ev = {
		"2026-11-27T04:00:00.000Z", "alice", "CHG-1", "transitioned", "rid", detail};
	char *content = audit_content(&ev);
	CHECK(content != NULL && strstr(content, "\"actor\":\"alice\"") != NULL);
	/* Canonical: keys sorted, so the same event always hashes the same. */
	CHECK(content && strncmp(content, "{\"action\":", 10) == 0);
	char hash[CRYPTO_SHA256_HEX_LEN], why[160];
	audit_hash(AUDIT_GENESIS, content, hash);
	struct audit_row row = {1, "alice", "CHG-1", "transitioned", content, AUDIT_GENESIS, hash};
	CHECK(audit_verify_step(&row, 1, AUDIT_GENESIS, why, sizeof why));
	CHECK(!audit_verify_step(&row, 2, AUDIT_GENESIS, why, sizeof why)); /* a gap */
	CHECK(strstr(why, "missing") != NULL);
	row.actor = "mallory"; /* a column that disagrees with the hashed content */
	CHECK(!audit_verify_step(&row, 1, AUDIT_GENESIS, why, sizeof why));
	row.actor = "alice";
	char tampered[512];
	snprintf(tampered, sizeof tampered, "%s", content);
	tampered[strlen(tampered) - 2] ^= 1;
	row.content = tampered;
	CHECK(!audit_verify_step(&row, 1, AUDIT_GENESIS, why, sizeof why));
	CHECK(strstr(why, "hash") != NULL);
	row.content = content;
	row.prev_hash = hash; /* chained to the wrong predecessor */
	CHECK(!audit_verify_step(&row, 1, AUDIT_GENESIS, why, sizeof why));
	free(content);
	json_decref(detail);
}

TESTS(test_rfc3339, test_durations, test_field_checks, test_audit_chain)
