/*
 * test_catalog.c -- the service catalog (policy/catalog.h): the shipped
 * policies/services.json, every validation error with its exact message and JSON path,
 * dependency cycles, the dependency closure, teams, unknown names, criticality.
 * Run from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "policy/catalog.h"
#include "test_wf_util.h"

#define FILE_NAME "policies/services.json"

/* A minimal valid service entry (test JSON: ' for "). */
#define SVC(name) "{'name':'" name "','criticality':'low','team':'t'}"
/* One depending on the given quoted, comma-separated names. */
#define DEP(name, deps) "{'name':'" name "','criticality':'low','team':'t','depends_on':[" deps "]}"

/* Parses test JSON as FILE_NAME. */
static struct policy_catalog *parse(const char *src, struct diags *d)
{
	char *text = tw_json(src);
	struct policy_catalog *cat = catalog_parse(FILE_NAME, text, strlen(text), d);

	free(text);
	return cat;
}

/* The shipped catalog; aborts the test binary when it does not load (every test needs it). */
static struct policy_catalog *shipped(void)
{
	struct diags d = {0};
	struct policy_catalog *cat = catalog_load_file(FILE_NAME, &d);

	if (cat == NULL) {
		tw_dump(&d);
		fprintf(stderr, "cannot load %s (run from the repository root)\n", FILE_NAME);
		exit(1);
	}
	diags_clear(&d);
	return cat;
}

/* Whether the NULL-terminated list `got` equals `want` (also NULL-terminated). */
static bool same_list(const char *const *got, const char *const *want)
{
	size_t i = 0;

	for (; got[i] != NULL && want[i] != NULL; i++)
		if (strcmp(got[i], want[i]) != 0)
			return false;
	return got[i] == NULL && want[i] == NULL;
}

/* ---- the shipped file ----------------------------------------------------------------- */

static void test_shipped_loads_clean(void)
{
	struct diags d = {0};
	struct policy_catalog *cat = catalog_load_file(FILE_NAME, &d);

	CHECKF(cat != NULL && d.n == 0, "%zu diagnostics, first: %s", d.n, tw_diag(&d, 0));
	if (cat == NULL) {
		diags_clear(&d);
		return;
	}
	CHECK_INT(catalog_count(cat), 13);
	CHECK_STR(catalog_at(cat, 0)->name, "web-frontend");
	CHECK(catalog_at(cat, 13) == NULL);

	const struct catalog_service *p = catalog_find(cat, "payments");
	static const char *const pay_deps[] = {"payments-db", "ledger", "identity", "message-bus",
					       NULL};
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_STR(p->name, "payments");
		CHECK_INT(p->criticality, CATALOG_CRIT_CRITICAL);
		CHECK_STR(p->criticality_name, "critical");
		CHECK_STR(p->team, "payments-team");
		CHECK_STR(p->calendar, "payments-window");
		CHECK(p->description != NULL && strstr(p->description, "payments") != NULL);
		CHECK_INT(p->n_depends_on, 4);
		CHECK(same_list(p->depends_on, pay_deps));
	}
	const struct catalog_service *n = catalog_find(cat, "notifications");
	CHECK(n != NULL && n->calendar == NULL && n->criticality == CATALOG_CRIT_MEDIUM);
	const struct catalog_service *bus = catalog_find(cat, "message-bus");
	CHECK(bus != NULL && bus->n_depends_on == 0 && bus->depends_on[0] == NULL);
	CHECK(catalog_find(cat, "nope") == NULL);
	CHECK(catalog_find(cat, NULL) == NULL);
	CHECK(catalog_find(cat, "") == NULL);

	/* every service: its own entry found by name, its dependencies known */
	for (size_t i = 0; i < catalog_count(cat); i++) {
		const struct catalog_service *s = catalog_at(cat, i);
		CHECK(catalog_find(cat, s->name) == s);
		CHECK(s->team[0] != '\0' && s->description != NULL);
		CHECK(s->criticality >= CATALOG_CRIT_LOW &&
		      s->criticality <= CATALOG_CRIT_CRITICAL);
		for (size_t k = 0; k < s->n_depends_on; k++)
			CHECKF(catalog_find(cat, s->depends_on[k]) != NULL, "%s -> %s", s->name,
			       s->depends_on[k]);
	}
	catalog_free(cat);
	catalog_free(NULL);
	diags_clear(&d);
}

static void test_criticality_names(void)
{
	static const struct {
		const char *name;
		enum catalog_criticality c;
	} cases[] = {
		{"low", CATALOG_CRIT_LOW},
		{"medium", CATALOG_CRIT_MEDIUM},
		{"high", CATALOG_CRIT_HIGH},
		{"critical", CATALOG_CRIT_CRITICAL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_INT(catalog_criticality_parse(cases[i].name), cases[i].c);
		CHECK_STR(catalog_criticality_name(cases[i].c), cases[i].name);
	}
	CHECK(CATALOG_CRIT_LOW < CATALOG_CRIT_MEDIUM && CATALOG_CRIT_HIGH < CATALOG_CRIT_CRITICAL);
	CHECK_INT(catalog_criticality_parse("none"), CATALOG_CRIT_NONE);
	CHECK_INT(catalog_criticality_parse("Critical"), CATALOG_CRIT_NONE);
	CHECK_INT(catalog_criticality_parse(NULL), CATALOG_CRIT_NONE);
	CHECK_STR(catalog_criticality_name(CATALOG_CRIT_NONE), "none");
	CHECK(catalog_criticality_name((enum catalog_criticality)99) == NULL);
}

/* ---- validation errors ---------------------------------------------------------------- */

/* Each source yields exactly one diagnostic, formatted as `want`. */
static void test_each_error_class(void)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
		{"[]", FILE_NAME ": expected a JSON object"},
		{"{}", FILE_NAME ": missing key 'services'"},
		{"{'services':[],'version':1}", FILE_NAME ": unknown key 'version'"},
		{"{'services':{}}", FILE_NAME ": services: expected an array of services"},
		{"{'services':[1]}", FILE_NAME ": services[0]: expected an object"},
		{"{'services':[" SVC("a") ",null]}", FILE_NAME ": services[1]: expected an object"},
		{"{'services':[{'criticality':'low','team':'t'}]}",
		 FILE_NAME ": services[0]: missing key 'name'"},
		{"{'services':[{'name':5,'criticality':'low','team':'t'}]}",
		 FILE_NAME ": services[0].name: expected a non-empty string"},
		{"{'services':[" SVC("") "]}",
		 FILE_NAME ": services[0].name: expected a non-empty string"},
		{"{'services':[" SVC("Web") "]}", FILE_NAME
		 ": services[0].name: invalid service name 'Web' (lowercase letters, digits "
		 "and '-', not first, at most 63 characters)"},
		{"{'services':[" SVC("-web") "]}",
		 FILE_NAME ": services[0].name: invalid service name '-web' (lowercase letters, "
			   "digits and '-', not first, at most 63 characters)"},
		{"{'services':[" SVC("web_1") "]}",
		 FILE_NAME ": services[0].name: invalid service name 'web_1' (lowercase letters, "
			   "digits and '-', not first, at most 63 characters)"},
		{"{'services':[" SVC(
			 "a123456789b123456789c123456789d123456789e123456789f123456789g123") "]}",
		 FILE_NAME ": services[0].name: invalid service name "
			   "'a123456789b123456789c123456789d123456789e123456789f123456789g123' "
			   "(lowercase letters, digits and '-', not first, at most 63 characters)"},
		{"{'services':[" SVC("a") "," SVC("b") "," SVC("a") "]}",
		 FILE_NAME ": services[2].name: service 'a' is already defined at services[0]"},
		{"{'services':[{'name':'a','team':'t'}]}",
		 FILE_NAME ": services[0]: missing key 'criticality'"},
		{"{'services':[{'name':'a','criticality':'severe','team':'t'}]}", FILE_NAME
		 ": services[0].criticality: unknown criticality 'severe' (low, medium, high "
		 "or critical)"},
		{"{'services':[{'name':'a','criticality':3,'team':'t'}]}",
		 FILE_NAME ": services[0].criticality: expected a non-empty string"},
		{"{'services':[{'name':'a','criticality':'low'}]}",
		 FILE_NAME ": services[0]: missing key 'team'"},
		{"{'services':[{'name':'a','criticality':'low','team':''}]}",
		 FILE_NAME ": services[0].team: expected a non-empty string"},
		{"{'services':[{'name':'a','criticality':'low','team':'t','description':1}]}",
		 FILE_NAME ": services[0].description: expected a non-empty string"},
		{"{'services':[{'name':'a','criticality':'low','team':'t','calendar':false}]}",
		 FILE_NAME ": services[0].calendar: expected a non-empty string"},
		{"{'services':[{'name':'a','criticality':'low','team':'t','owner':'x'}]}",
		 FILE_NAME ": services[0]: unknown key 'owner'"},
		{"{'services':[{'name':'a','criticality':'low','team':'t','depends_on':'b'}]}",
		 FILE_NAME ": services[0].depends_on: expected an array of service names"},
		{"{'services':[" DEP("a", "1") "]}",
		 FILE_NAME ": services[0].depends_on[0]: expected a service name"},
		{"{'services':[" SVC("b") "," DEP("a", "'b',''") "]}",
		 FILE_NAME ": services[1].depends_on[1]: expected a service name"},
		{"{'services':[" SVC("b") "," DEP("a", "'b','ledgr'") "]}",
		 FILE_NAME ": services[1].depends_on[1]: unknown service 'ledgr'"},
		{"{'services':[" SVC("b") "," DEP("a", "'b','b'") "]}",
		 FILE_NAME ": services[1].depends_on[1]: service 'b' listed twice"},
		{"{'services':[" DEP("a", "'a'") "]}",
		 FILE_NAME ": services[0].depends_on: dependency cycle: a -> a"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct diags d = {0};
		struct policy_catalog *cat = parse(cases[i].src, &d);
		CHECKF(cat == NULL, "case %zu parsed", i);
		CHECKF(d.n == 1 && strcmp(tw_diag(&d, 0), cases[i].want) == 0,
		       "case %zu: %zu diagnostics, first: %s\n    want: %s", i, d.n, tw_diag(&d, 0),
		       cases[i].want);
		CHECK(!d.oom);
		catalog_free(cat);
		diags_clear(&d);
	}
}

static void test_invalid_json_names_line_and_column(void)
{
	static const struct {
		const char *src;
		const char *path;
		int column;
	} cases[] = {
		{"{'services': [\n  {'name': 'a',,}\n]}", "line 2", 16},
		{"{'services':[], 'services':[]}", "line 1", 26},
		{"", "line 1", 0},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct diags d = {0};
		struct policy_catalog *cat = parse(cases[i].src, &d);
		CHECK(cat == NULL);
		CHECKF(d.n == 1, "case %zu: %zu diagnostics", i, d.n);
		if (d.n == 1) {
			CHECK_STR(d.v[0].file, FILE_NAME);
			CHECK_STR(d.v[0].path, cases[i].path);
			CHECKF(d.v[0].column == cases[i].column, "case %zu: column %d", i,
			       d.v[0].column);
			CHECK(strncmp(d.v[0].message, "invalid json: ", 14) == 0);
		}
		catalog_free(cat);
		diags_clear(&d);
	}
}

static void test_many_errors_at_once(void)
{
	static const char *const want[] = {
		FILE_NAME ": unknown key 'extra'",
		FILE_NAME ": services[0]: unknown key 'owner'",
		FILE_NAME
		": services[1].name: invalid service name 'Bad' (lowercase letters, digits "
		"and '-', not first, at most 63 characters)",
		FILE_NAME
		": services[1].criticality: unknown criticality 'huge' (low, medium, high or "
		"critical)",
		FILE_NAME ": services[1]: missing key 'team'",
		FILE_NAME ": services[3]: expected an object",
		FILE_NAME ": services[4].name: service 'a' is already defined at services[0]",
		FILE_NAME ": services[0].depends_on[0]: unknown service 'zz'",
		FILE_NAME ": services[2].depends_on[1]: service 'a' listed twice",
		FILE_NAME ": services[0].depends_on: dependency cycle: a -> c -> a",
	};
	const char *src =
		"{'extra':true,'services':["
		"{'name':'a','criticality':'low','team':'t','owner':'o',"
		"'depends_on':['zz','c']},"
		"{'name':'Bad','criticality':'huge'}," DEP("c", "'a','a'") ",[]," SVC("a") "]}";
	struct diags d = {0};
	struct policy_catalog *cat = parse(src, &d);
	size_t n = sizeof want / sizeof want[0];

	CHECK(cat == NULL);
	CHECK_INT(d.n, n);
	for (size_t i = 0; i < n && i < d.n; i++)
		CHECK_STR(tw_diag(&d, i), want[i]);
	if (d.n != n)
		tw_dump(&d);
	diags_clear(&d);
}

static void test_too_many_services(void)
{
	size_t n = CATALOG_MAX_SERVICES + 1, cap = 96 * n + 64, len = 0;
	char *src = malloc(cap);
	struct diags d = {0};

	if (src == NULL)
		abort();
	len += (size_t)snprintf(src + len, cap - len, "{\"services\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(
			src + len, cap - len,
			"%s{\"name\":\"s%zu\",\"criticality\":\"low\",\"team\":\"t\"}",
			i > 0 ? "," : "", i);
	len += (size_t)snprintf(src + len, cap - len, "]}");
	struct policy_catalog *cat = catalog_parse(FILE_NAME, src, len, &d);
	CHECK(cat == NULL);
	CHECK_INT(d.n, 1);
	CHECK_STR(tw_diag(&d, 0), FILE_NAME ": services: too many services (4097, at most 4096)");
	diags_clear(&d);

	/* the largest catalog allowed loads, and its closure works: a chain s0 -> s1 -> ... */
	len = (size_t)snprintf(src, cap, "{\"services\":[");
	for (size_t i = 0; i < CATALOG_MAX_SERVICES; i++) {
		char dep[48] = "";
		if (i + 1 < CATALOG_MAX_SERVICES)
			snprintf(dep, sizeof dep, ",\"depends_on\":[\"s%zu\"]", i + 1);
		len += (size_t)snprintf(
			src + len, cap - len,
			"%s{\"name\":\"s%zu\",\"criticality\":\"low\",\"team\":\"t\"%s}",
			i > 0 ? "," : "", i, dep);
	}
	len += (size_t)snprintf(src + len, cap - len, "]}");
	CHECK(len < cap);
	cat = catalog_parse(FILE_NAME, src, len, &d);
	CHECKF(cat != NULL && d.n == 0, "%s", tw_diag(&d, 0));
	if (cat != NULL) {
		CHECK_INT(catalog_count(cat), CATALOG_MAX_SERVICES);
		CHECK(catalog_depends(cat, "s0", "s4095"));
		CHECK(!catalog_depends(cat, "s4095", "s0"));
		CHECK(catalog_related(cat, "s4095", "s0"));
	}
	catalog_free(cat);
	diags_clear(&d);
	free(src);
}

/* ---- cycles --------------------------------------------------------------------------- */

static void test_cycles_named(void)
{
	static const struct {
		const char *what, *src;
		const char *want[3]; /* every diagnostic, in order */
	} cases[] = {
		{"length 1",
		 "{'services':[" SVC("x") "," DEP("a", "'x','a'") "]}",
		 {FILE_NAME ": services[1].depends_on: dependency cycle: a -> a"}},
		{"length 2",
		 "{'services':[" DEP("web", "'api'") "," DEP("api", "'web'") "]}",
		 {FILE_NAME ": services[0].depends_on: dependency cycle: web -> api -> web"}},
		{"length 3",
		 "{'services':[" DEP("web", "'api'") "," DEP("api", "'db'") "," DEP("db",
										    "'web'") "]}",
		 {FILE_NAME ": services[0].depends_on: dependency cycle: web -> api -> db -> web"}},
		{"named from the first service the search meets",
		 "{'services':[" SVC("a") "," SVC("b") "," SVC("c") "," SVC("d") "," DEP(
			 "web", "'api'") "," DEP("api", "'web','a'") "]}",
		 {FILE_NAME ": services[4].depends_on: dependency cycle: web -> api -> web"}},
		{"a path into a cycle is not part of it",
		 "{'services':[" DEP("x", "'a'") "," DEP("a", "'b'") "," DEP("b", "'a'") "]}",
		 {FILE_NAME ": services[1].depends_on: dependency cycle: a -> b -> a"}},
		{"two independent cycles",
		 "{'services':[" DEP("a", "'b'") "," DEP("b", "'a'") "," SVC("m") "," DEP(
			 "c", "'d'") "," DEP("d", "'e'") "," DEP("e", "'c','m'") "]}",
		 {FILE_NAME ": services[0].depends_on: dependency cycle: a -> b -> a",
		  FILE_NAME ": services[3].depends_on: dependency cycle: c -> d -> e -> c"}},
		{"two cycles through one service",
		 "{'services':[" DEP("a", "'b','c'") "," DEP("b", "'a'") "," DEP("c", "'a'") "]}",
		 {FILE_NAME ": services[0].depends_on: dependency cycle: a -> b -> a",
		  FILE_NAME ": services[0].depends_on: dependency cycle: a -> c -> a"}},
		{"a cycle beside a self-dependency",
		 "{'services':[" DEP("a", "'b'") "," DEP("b", "'b','a'") "]}",
		 {FILE_NAME ": services[1].depends_on: dependency cycle: b -> b",
		  FILE_NAME ": services[0].depends_on: dependency cycle: a -> b -> a"}},
		{"diamond: no cycle",
		 "{'services':[" DEP("a", "'b','c'") "," DEP("b", "'d'") "," DEP(
			 "c", "'d'") "," SVC("d") "]}",
		 {NULL}},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct diags d = {0};
		struct policy_catalog *cat = parse(cases[i].src, &d);
		size_t n = 0;
		while (n < 3 && cases[i].want[n] != NULL)
			n++;
		CHECKF((cat == NULL) == (n > 0), "%s: parse result", cases[i].what);
		CHECKF(d.n == n, "%s: %zu diagnostics, want %zu", cases[i].what, d.n, n);
		for (size_t k = 0; k < n && k < d.n; k++)
			CHECKF(strcmp(tw_diag(&d, k), cases[i].want[k]) == 0, "%s: got %s",
			       cases[i].what, tw_diag(&d, k));
		catalog_free(cat);
		diags_clear(&d);
	}
}

/* A ring of 40 services with long names: the message lists a prefix and says how many more. */
static void test_long_cycle_shortened(void)
{
	enum { RING = 40 };
	char src[8192], name[64];
	size_t len = (size_t)snprintf(src, sizeof src, "{\"services\":[");
	struct diags d = {0};

	for (int i = 0; i < RING; i++)
		len += (size_t)snprintf(
			src + len, sizeof src - len,
			"%s{\"name\":\"service-with-a-long-name-%02d\",\"criticality\":"
			"\"low\",\"team\":\"t\",\"depends_on\":"
			"[\"service-with-a-long-name-%02d\"]}",
			i > 0 ? "," : "", i, (i + 1) % RING);
	snprintf(src + len, sizeof src - len, "]}");
	struct policy_catalog *cat = catalog_parse(FILE_NAME, src, strlen(src), &d);
	CHECK(cat == NULL);
	CHECK_INT(d.n, 1);
	if (d.n == 1) {
		const char *m = d.v[0].message;
		snprintf(name, sizeof name, " -> service-with-a-long-name-00");
		CHECK_STR(d.v[0].path, "services[0].depends_on");
		const char *start = "dependency cycle: service-with-a-long-name-00 -> "
				    "service-with-a-long-name-01 -> ";
		CHECK(strncmp(m, start, strlen(start)) == 0);
		CHECKF(strstr(m, " more) -> service-with-a-long-name-00") != NULL, "%s", m);
		CHECK(strcmp(m + strlen(m) - strlen(name), name) == 0);
		CHECK(strlen(m) < 1024);
	}
	diags_clear(&d);
}

static void test_cycles_capped(void)
{
	char src[8192];
	size_t len = (size_t)snprintf(src, sizeof src, "{\"services\":[");
	struct diags d = {0};

	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(
			src + len, sizeof src - len,
			"%s{\"name\":\"s%d\",\"criticality\":\"low\",\"team\":\"t\","
			"\"depends_on\":[\"s%d\"]}",
			i > 0 ? "," : "", i, i);
	snprintf(src + len, sizeof src - len, "]}");
	struct policy_catalog *cat = catalog_parse(FILE_NAME, src, strlen(src), &d);
	CHECK(cat == NULL);
	CHECK_INT(d.n, 33);
	CHECK_STR(tw_diag(&d, 0), FILE_NAME ": services[0].depends_on: dependency cycle: s0 -> s0");
	CHECK_STR(tw_diag(&d, 31),
		  FILE_NAME ": services[31].depends_on: dependency cycle: s31 -> s31");
	CHECK_STR(tw_diag(&d, 32), FILE_NAME ": services: more dependency cycles not listed");
	diags_clear(&d);
}

/* ---- queries -------------------------------------------------------------------------- */

static void test_related_transitive(void)
{
	static const struct {
		const char *a, *b;
		bool depends; /* a depends on b */
		bool related;
	} cases[] = {
		{"web-frontend", "api-gateway", true, true},  /* direct */
		{"web-frontend", "payments-db", true, true},  /* via api-gateway, payments */
		{"payments-db", "web-frontend", false, true}, /* the other direction */
		{"reporting", "ledger-db", true, true},       /* via ledger */
		{"mobile-api", "message-bus", true, true},    /* three hops */
		{"message-bus", "mobile-api", false, true},
		{"payments", "payments", false, true},   /* same service */
		{"search", "payments-db", false, false}, /* siblings under the gateway */
		{"reporting", "web-frontend", false, false},
		{"notifications", "search", false, false}, /* share message-bus only */
		{"ledger-db", "payments-db", false, false},
		{"nope", "nope", false, true}, /* equal names, even unknown */
		{"nope", "payments", false, false},
		{"payments", "nope", false, false},
	};
	struct policy_catalog *cat = shipped();

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECKF(catalog_depends(cat, cases[i].a, cases[i].b) == cases[i].depends,
		       "depends(%s, %s)", cases[i].a, cases[i].b);
		CHECKF(catalog_related(cat, cases[i].a, cases[i].b) == cases[i].related,
		       "related(%s, %s)", cases[i].a, cases[i].b);
		CHECKF(catalog_related(cat, cases[i].b, cases[i].a) == cases[i].related,
		       "related(%s, %s)", cases[i].b, cases[i].a);
	}
	CHECK(!catalog_related(cat, NULL, "payments"));
	CHECK(!catalog_related(cat, "payments", NULL));
	CHECK(!catalog_depends(cat, NULL, NULL));
	catalog_free(cat);
}

static void test_diamond_closure(void)
{
	struct diags d = {0};
	struct policy_catalog *cat =
		parse("{'services':[" DEP("a", "'b','c'") "," DEP("b", "'d'") "," DEP(
			      "c", "'d'") "," SVC("d") "," SVC("e") "]}",
		      &d);
	static const char *const a_deps[] = {"b", "c", NULL};

	CHECKF(cat != NULL && d.n == 0, "%s", tw_diag(&d, 0));
	if (cat != NULL) {
		CHECK(same_list(catalog_find(cat, "a")->depends_on, a_deps));
		CHECK(catalog_depends(cat, "a", "d"));
		CHECK(catalog_depends(cat, "b", "d"));
		CHECK(!catalog_depends(cat, "d", "a"));
		CHECK(!catalog_depends(cat, "a", "a"));
		CHECK(!catalog_related(cat, "b", "c"));
		CHECK(!catalog_related(cat, "e", "a"));
		CHECK(catalog_related(cat, "d", "a"));
	}
	catalog_free(cat);
	diags_clear(&d);
}

static void test_teams(void)
{
	struct policy_catalog *cat = shipped();
	json_t *teams = catalog_teams(cat);

	CHECK(json_is_object(teams));
	CHECK_INT(json_object_size(teams), catalog_count(cat));
	CHECK_STR(json_string_value(json_object_get(teams, "payments")), "payments-team");
	CHECK_STR(json_string_value(json_object_get(teams, "search")), "discovery-team");
	CHECK_STR(json_string_value(json_object_get(teams, "web-frontend")), "web-team");
	CHECK(json_object_get(teams, "nope") == NULL);
	CHECK(catalog_teams(cat) == teams);

	/* exactly what route_to_team reads as ctx.teams */
	struct diags d = {0};
	struct wf *wf = tw_parse_as("routed",
				    "{'kind':'incident','initial':'a','states':{'a':{'on_enter':"
				    "[{'action':'route_to_team'}]},'b':{'final':true}},"
				    "'transitions':[{'event':'x','from':'a','to':'b',"
				    "'roles':['requester']}]}",
				    &d);
	CHECKF(wf != NULL, "%s", tw_diag(&d, 0));
	if (wf != NULL) {
		json_t *rec = json_pack("{s:s, s:s}", "title", "t", "service", "ledger");
		struct wf_ctx ctx = {
			.record = rec, .teams = teams, .roles = WF_ROLE_REQUESTER, .now = T_NOW};
		struct wf_outcome out = {0};
		CHECK_INT(wf_start(wf, &ctx, &out), WF_OK);
		CHECK_STR(json_string_value(json_object_get(out.record, "assignment_group")),
			  "payments-team");
		wf_outcome_clear(&out);
		json_decref(rec);
	}
	wf_free(wf);
	diags_clear(&d);
	catalog_free(cat);
}

static void test_unknown(void)
{
	static const struct {
		const char *names; /* JSON */
		const char *want;  /* JSON */
	} cases[] = {
		{"[\"payments\", \"nope\", \"web-frontend\", \"nope\", 5, \"zzz\", null]",
		 "[\"nope\", \"zzz\"]"},
		{"[\"payments\", \"ledger\"]", "[]"},
		{"[]", "[]"},
		{"\"nope\"", "[\"nope\"]"},
		{"\"ledger\"", "[]"},
		{"{\"payments\": 1}", "[]"},
		{"[\"Payments\", \"payments \"]", "[\"Payments\", \"payments \"]"},
	};
	struct policy_catalog *cat = shipped();

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *names = json_loads(cases[i].names, JSON_DECODE_ANY, NULL);
		json_t *want = json_loads(cases[i].want, 0, NULL);
		json_t *got = catalog_unknown(cat, names);
		CHECKF(got != NULL && json_equal(got, want), "case %zu: got %s", i, tw_show(got));
		json_decref(names);
		json_decref(want);
		json_decref(got);
	}
	json_t *got = catalog_unknown(cat, NULL);
	CHECK(json_is_array(got) && json_array_size(got) == 0);
	json_decref(got);
	catalog_free(cat);
}

static void test_max_criticality(void)
{
	static const struct {
		const char *names; /* JSON */
		enum catalog_criticality want;
	} cases[] = {
		{"[\"reporting\"]", CATALOG_CRIT_LOW},
		{"[\"reporting\", \"data-warehouse\"]", CATALOG_CRIT_MEDIUM},
		{"[\"search\", \"reporting\", \"notifications\"]", CATALOG_CRIT_HIGH},
		{"[\"reporting\", \"payments\", \"search\"]", CATALOG_CRIT_CRITICAL},
		{"[\"nope\", 3, \"reporting\"]", CATALOG_CRIT_LOW},
		{"\"search\"", CATALOG_CRIT_HIGH},
		{"[]", CATALOG_CRIT_NONE},
		{"[\"nope\"]", CATALOG_CRIT_NONE},
		{"42", CATALOG_CRIT_NONE},
	};
	struct policy_catalog *cat = shipped();

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *names = json_loads(cases[i].names, JSON_DECODE_ANY, NULL);
		CHECKF(names != NULL, "case %zu", i);
		CHECKF(catalog_max_criticality(cat, names) == cases[i].want, "case %zu: got %s", i,
		       catalog_criticality_name(catalog_max_criticality(cat, names)));
		json_decref(names);
	}
	CHECK_INT(catalog_max_criticality(cat, NULL), CATALOG_CRIT_NONE);
	catalog_free(cat);
}

/* ---- loading -------------------------------------------------------------------------- */

static void test_load_file_errors(void)
{
	struct diags d = {0};
	char path[] = "/tmp/test_catalog-XXXXXX";
	int fd;

	CHECK(catalog_load_file("policies/no-such-file.json", &d) == NULL);
	CHECK_INT(d.n, 1);
	CHECK_STR(tw_diag(&d, 0),
		  "policies/no-such-file.json: cannot open: No such file or directory");
	diags_clear(&d);

	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	char *big = malloc(CATALOG_FILE_MAX + 1);
	if (big == NULL)
		abort();
	memset(big, ' ', CATALOG_FILE_MAX + 1);
	CHECK(write(fd, big, CATALOG_FILE_MAX + 1) == CATALOG_FILE_MAX + 1);
	close(fd);
	free(big);
	CHECK(catalog_load_file(path, &d) == NULL);
	CHECK_INT(d.n, 1);
	CHECK(d.n == 1 && strcmp(d.v[0].message, "file larger than 1048576 bytes") == 0 &&
	      strcmp(d.v[0].file, path) == 0);
	unlink(path);
	diags_clear(&d);
}

/* Text need not be NUL-terminated, and earlier diagnostics do not fail a good file. */
static void test_parse_bounds_and_appends(void)
{
	const char *text =
		"{\"services\":[{\"name\":\"a\",\"criticality\":\"low\",\"team\":\"t\"}]}"
		"GARBAGE";
	struct diags d = {0};
	struct policy_catalog *cat;

	cat = parse("{'services':[]}", &d); /* an empty catalog is valid */
	CHECK(cat != NULL && catalog_count(cat) == 0 && catalog_at(cat, 0) == NULL);
	CHECK(cat != NULL && json_object_size(catalog_teams(cat)) == 0);
	catalog_free(cat);

	CHECK(parse("[]", &d) == NULL);
	CHECK_INT(d.n, 1);
	cat = catalog_parse(FILE_NAME, text, strlen(text) - strlen("GARBAGE"), &d);
	CHECKF(cat != NULL, "%s", tw_diag(&d, 1));
	CHECK_INT(d.n, 1);
	CHECK(cat != NULL && catalog_find(cat, "a") != NULL);
	CHECK(cat != NULL && catalog_find(cat, "a")->description == NULL);
	catalog_free(cat);
	CHECK(catalog_parse(FILE_NAME, text, strlen(text), &d) == NULL);
	CHECK_INT(d.n, 2);
	CHECK(d.n == 2 && strncmp(d.v[1].message, "invalid json: ", 14) == 0);
	diags_clear(&d);
}

TESTS(test_shipped_loads_clean, test_criticality_names, test_each_error_class,
      test_invalid_json_names_line_and_column, test_many_errors_at_once, test_too_many_services,
      test_cycles_named, test_long_cycle_shortened, test_cycles_capped, test_related_transitive,
      test_diamond_closure, test_teams, test_unknown, test_max_criticality, test_load_file_errors,
      test_parse_bounds_and_appends)
