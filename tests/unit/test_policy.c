/*
 * test_policy.c -- people, risk, approvals and templates (policy/policy.h): the shipped
 * policies/ load clean; risk scores and factor lists per change, each factor on and off,
 * thresholds, rounding, history smoothing; approval routing per level, service owners,
 * emergency; votes and segregation of duties; tallies; break glass; template
 * pre-approval; every validation error with its exact line; the workflow actions.
 * Run from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "policy/policy.h"
#include "test_wf_util.h"
#include "wf/wf_action.h"

/* ---- fixtures ------------------------------------------------------------------------- */

static struct policy_catalog *cat_shipped;
static struct policy_set *set_shipped;

static void free_shipped(void)
{
	policy_free(set_shipped);
	catalog_free(cat_shipped);
}

/* The shipped catalog and policies; exits when they do not load (every test needs them). */
static void load_shipped(void)
{
	struct diags d = {0};

	if (set_shipped != NULL)
		return;
	atexit(free_shipped);
	cat_shipped = catalog_load_file("policies/services.json", &d);
	set_shipped = cat_shipped != NULL ? policy_load_dir("policies", cat_shipped, &d) : NULL;
	if (set_shipped == NULL) {
		tw_dump(&d);
		fprintf(stderr, "cannot load policies/ (run from the repository root)\n");
		exit(1);
	}
	diags_clear(&d);
}

/* Test JSON (' for ", ` for \") parsed; aborts on a typo in the test itself. */
static json_t *J(const char *src)
{
	char *text = tw_json(src);
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

	if (v == NULL) {
		fprintf(stderr, "bad test json: %s: %s\n", e.text, text);
		abort();
	}
	free(text);
	return v;
}

/* Minimal valid files for built sets. */
#define P0                                                                                         \
	"{'users':[{'name':'ann','display_name':'Ann','email':'ann@x.org'},"                       \
	"{'name':'bob','display_name':'Bob','email':'bob@x.org'},"                                 \
	"{'name':'cy','display_name':'Cy','email':'cy@x.org'}],"                                   \
	"'groups':[{'name':'cab','members':['ann','bob','cy']}]}"
#define R0 "{'factors':[],'levels':[{'name':'low','min':0}]}"
#define A0 "{'defaults':{'expires_after':'72h','expiry_event':'expire'},'rules':[]}"

/* A small catalog for cross-file checks: team web-team has no group in P0. */
#define C0                                                                                         \
	"{'services':[{'name':'web','criticality':'high','team':'web-team'},"                      \
	"{'name':'db','criticality':'critical','team':'cab'}]}"

static struct policy_catalog *small_catalog(void)
{
	struct diags d = {0};
	char *text = tw_json(C0);
	struct policy_catalog *cat =
		catalog_parse("policies/services.json", text, strlen(text), &d);

	free(text);
	diags_clear(&d);
	if (cat == NULL)
		abort();
	return cat;
}

/* Builds a set from test JSON (NULL: the minimal file; templates NULL: none). */
static struct policy_set *build(const char *people, const char *risk, const char *approvals,
				const char *templates, const struct policy_catalog *cat,
				struct diags *d)
{
	char *p = tw_json(people != NULL ? people : P0), *r = tw_json(risk != NULL ? risk : R0);
	char *a = tw_json(approvals != NULL ? approvals : A0);
	char *t = templates != NULL ? tw_json(templates) : NULL;
	struct policy_people *pp = policy_parse_people("policies/people.json", p, strlen(p), d);
	struct policy_risk *rr = policy_parse_risk("policies/risk.json", r, strlen(r), d);
	struct policy_approvals *aa =
		policy_parse_approvals("policies/approvals.json", a, strlen(a), d);
	struct policy_templates *tt =
		t != NULL ? policy_parse_templates("policies/templates.json", t, strlen(t), d)
			  : NULL;
	struct policy_set *set = NULL;

	if (pp != NULL && rr != NULL && aa != NULL && (t == NULL || tt != NULL))
		set = policy_set_new(pp, rr, aa, tt, cat, d);
	else {
		policy_people_free(pp);
		policy_risk_free(rr);
		policy_approvals_free(aa);
		policy_templates_free(tt);
	}
	free(p);
	free(r);
	free(a);
	free(t);
	return set;
}

/* A clean low-risk change on a low-criticality service, on a Saturday; `over` replaces. */
static json_t *change_with(const char *over)
{
	json_t *c = J("{'id':'CHG-1','type':'normal','requester':'kmensah','title':'Dashboards',"
		      "'services':['reporting'],'duration':'PT1H',"
		      "'not_before':'2026-12-05T10:00:00+01:00',"
		      "'rollback_plan':'Redeploy the previous image tag from the registry.',"
		      "'test_evidence':'CI run 4411 green; staging soak 2h.'}");
	json_t *o = J(over);

	json_object_update(c, o);
	json_decref(o);
	return c;
}

/* The ids of `risk.factors`, comma-separated (static buffer). */
static const char *factor_ids(json_t *risk)
{
	static char buf[512];
	size_t len = 0, i;
	json_t *f;

	buf[0] = '\0';
	json_array_foreach(json_object_get(risk, "factors"), i, f) {
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i == 0 ? "" : ",",
					json_string_value(json_object_get(f, "id")));
	}
	return buf;
}

/* ---- the shipped files ---------------------------------------------------------------- */

static void test_shipped_loads_clean(void)
{
	struct diags d = {0};
	struct policy_set *again;

	load_shipped();
	again = policy_load_dir("policies", cat_shipped, &d);
	CHECKF(again != NULL && d.n == 0, "%zu diagnostics, first: %s", d.n, tw_diag(&d, 0));
	CHECK_INT(strlen(policy_version(set_shipped)), 16);
	CHECK_STR(policy_version(again), policy_version(set_shipped));
	CHECK_INT(policy_group_count(set_shipped), 10);
	CHECK_INT(policy_template_count(set_shipped), 4);
	CHECK_INT(policy_group_find(set_shipped, "cab")->n_members, 5);
	CHECK_INT(policy_group_find(set_shipped, "ecab")->n_members, 3);
	CHECK(policy_group_find(set_shipped, "change-managers") != NULL);
	/* every team owning a service has a group */
	for (size_t i = 0; i < catalog_count(cat_shipped); i++)
		CHECKF(policy_group_find(set_shipped, catalog_at(cat_shipped, i)->team) != NULL,
		       "team %s", catalog_at(cat_shipped, i)->team);
	CHECK(policy_dir_configured("policies"));
	CHECK(!policy_dir_configured("workflows"));
	CHECK_INT(policy_history_window(set_shipped), 90 * 86400);
	policy_free(again);
	diags_clear(&d);
}

static void test_version_canonical(void)
{
	struct diags d = {0};
	struct policy_set *a = build(NULL, NULL, NULL, NULL, NULL, &d);
	struct policy_set *b =
		build(NULL, "{ 'levels' : [ {'min':0, 'name':'low'} ],\n'factors':[] }", NULL, NULL,
		      NULL, &d);
	struct policy_set *c = build(NULL, "{'factors':[],'levels':[{'name':'low','min':1}]}", NULL,
				     NULL, NULL, &d);

	CHECK(a != NULL && b != NULL && c != NULL && d.n == 0);
	if (a != NULL && b != NULL && c != NULL) {
		CHECK_STR(policy_version(a), policy_version(b));
		CHECK(strcmp(policy_version(a), policy_version(c)) != 0);
	}
	policy_free(a);
	policy_free(b);
	policy_free(c);
	diags_clear(&d);
}

static void test_missing_files(void)
{
	char dir[] = "/tmp/policy-test-XXXXXX", path[64];
	struct diags d = {0};

	CHECK(mkdtemp(dir) != NULL);
	CHECK(!policy_dir_configured(dir));
	snprintf(path, sizeof path, "%s/templates.json", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("{\"templates\": []}", f);
		fclose(f);
	}
	CHECK(policy_dir_configured(dir));
	CHECK(policy_load_dir(dir, NULL, &d) == NULL);
	CHECK_INT(d.n, 3);
	char want[160];
	snprintf(want, sizeof want,
		 "%s/risk.json: missing: people.json, risk.json and approvals.json are required "
		 "once any policy file exists",
		 dir);
	CHECKF(tw_has_line(&d, want), "first: %s", tw_diag(&d, 0));
	unlink(path);
	rmdir(dir);
	diags_clear(&d);
}

/* ---- people --------------------------------------------------------------------------- */

static void test_people_lookups(void)
{
	load_shipped();
	const struct policy_user *u = policy_user_find(set_shipped, "amartin");

	CHECK(u != NULL);
	if (u != NULL) {
		CHECK_STR(u->display_name, "Alice Martin");
		CHECK_STR(u->email, "alice.martin@example.com");
		CHECK_INT(u->n_aliases, 2);
		CHECK_STR(u->aliases[1], "change-chair@example.com");
		CHECK(u->aliases[2] == NULL);
		CHECK(u->team == NULL);
	}
	CHECK(policy_user_find(set_shipped, "AMARTIN") == NULL); /* names are case-sensitive */
	CHECK(policy_user_by_email(set_shipped, "ALICE@Example.com") == u);
	CHECK(policy_user_by_email(set_shipped, "alice.martin@example.com") == u);
	CHECK(policy_user_by_email(set_shipped, "c.nguyen@example.com") ==
	      policy_user_find(set_shipped, "cnguyen"));
	CHECK(policy_user_by_email(set_shipped, "nobody@example.com") == NULL);
	CHECK(policy_user_by_email(set_shipped, NULL) == NULL);
	CHECK(policy_user_resolve(set_shipped, "Ewa@Example.com") ==
	      policy_user_find(set_shipped, "ekowalski"));
	CHECK_STR(policy_user_find(set_shipped, "grossi")->team, "payments-team");

	CHECK(policy_group_has(set_shipped, "cab", "amartin"));
	CHECK(policy_group_has(set_shipped, "cab", "alice@example.com")); /* by alias */
	CHECK(!policy_group_has(set_shipped, "cab", "ekowalski"));
	CHECK(!policy_group_has(set_shipped, "nope", "amartin"));
	CHECK(!policy_group_has(set_shipped, "cab", NULL));
	CHECK_STR(policy_group_at(set_shipped, 0)->name, "cab");
	CHECK(policy_group_at(set_shipped, 10) == NULL);
	CHECK_STR(policy_group_find(set_shipped, "ecab")->members[2], "fdiallo");

	json_t *g = policy_user_groups(set_shipped, "dschmidt");
	static const char *const want[] = {"cab", "ecab", "identity-team", NULL};
	CHECKF(tw_strs(g, want), "%s", tw_show(g));
	json_decref(g);
	g = policy_user_groups(set_shipped, "stranger");
	CHECK(json_is_array(g) && json_array_size(g) == 0);
	json_decref(g);
}

/* ---- risk ----------------------------------------------------------------------------- */

struct risk_case {
	const char *over;    /* fields replacing the clean change's */
	const char *history; /* raw counts, or NULL */
	long long score;
	const char *level;
	const char *factors; /* ids, comma-separated */
};

static void test_risk_factors_table(void)
{
	static const struct risk_case cases[] = {
		{"{}", NULL, 0, "low", ""},
		{"{'services':['payments']}", NULL, 25, "low", "critical-service"},
		{"{'services':['search']}", NULL, 10, "low", "customer-facing-service"},
		{"{'services':['reporting','billing']}", NULL, 15, "low", "unknown-service"},
		{"{'rollback_plan':'n/a'}", NULL, 20, "low", "no-rollback-plan"},
		{"{'rollback_plan':'Redeploy previous.'}", NULL, 20, "low", "no-rollback-plan"},
		{"{'test_evidence':''}", NULL, 15, "low", "no-test-evidence"},
		{"{'test_evidence':null}", NULL, 15, "low", "no-test-evidence"},
		{"{'duration':'PT4H'}", NULL, 0, "low", ""},
		{"{'duration':'PT4H1M'}", NULL, 10, "low", "long-duration"},
		{"{'duration':null}", NULL, 0, "low", ""},
		{"{'services':['reporting','data-warehouse','notifications','search']}", NULL, 20,
		 "low", "customer-facing-service,many-services"},
		{"{'services':['reporting','data-warehouse','notifications','search','web-frontend'"
		 ","
		 "'mobile-api']}",
		 NULL, 30, "medium", "customer-facing-service,many-services"},
		{"{'not_before':'2026-12-02T09:30:00+01:00'}", NULL, 10, "low", "business-hours"},
		{"{'not_before':'2026-12-02T07:00:00Z'}", NULL, 10, "low", "business-hours"},
		{"{'not_before':'2026-12-02T16:59:59Z'}", NULL, 10, "low", "business-hours"},
		{"{'not_before':'2026-12-02T17:00:00Z'}", NULL, 0, "low", ""},
		{"{'not_before':'2026-12-07T06:59:00Z'}", NULL, 0, "low", ""},
		{"{'not_before':'2026-12-06T12:00:00+01:00'}", NULL, 0, "low", ""},
		{"{'not_before':null}", NULL, 0, "low", ""},
		{"{}", "{'services':{'reporting':{'changes':2,'failures':2}}}", 25, "low",
		 "poor-track-record"},
		{"{}", "{'services':{'reporting':{'changes':1,'failures':1}}}", 0, "low", ""},
		{"{}", "{'services':{'reporting':{'changes':40,'failures':30}}}", 30, "medium",
		 "poor-track-record"},
		{"{'type':'emergency'}", NULL, 10, "low", "emergency"},
		{"{'rollback_plan':'','not_before':'2026-12-02T09:30:00+01:00'}", NULL, 30,
		 "medium", "no-rollback-plan,business-hours"},
		{"{'services':['payments'],'rollback_plan':'','test_evidence':''}", NULL, 60,
		 "high", "critical-service,no-rollback-plan,no-test-evidence"},
		{"{'services':['payments','ledger'],'rollback_plan':'n/a','test_evidence':'',"
		 "'duration':'PT6H','not_before':'2026-12-02T09:30:00+01:00'}",
		 "{'services':{'payments':{'changes':8,'failures':3,'incidents_caused':2}}}", 102,
		 "high",
		 "critical-service,no-rollback-plan,no-test-evidence,long-duration,business-hours,"
		 "poor-track-record"},
	};
	load_shipped();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct risk_case *c = &cases[i];
		struct policy_error err = {{0}};
		json_t *change = change_with(c->over);
		json_t *hist = c->history != NULL ? J(c->history) : NULL;
		json_t *r = policy_risk_assess(set_shipped, cat_shipped, change, hist, &err);
		CHECKF(r != NULL, "case %zu: %s", i, err.message);
		if (r != NULL) {
			CHECKF(json_integer_value(json_object_get(r, "score")) == c->score,
			       "case %zu: score %s", i, tw_show(json_object_get(r, "score")));
			CHECKF(strcmp(json_string_value(json_object_get(r, "level")), c->level) ==
				       0,
			       "case %zu: level %s", i, tw_show(json_object_get(r, "level")));
			CHECKF(strcmp(factor_ids(r), c->factors) == 0, "case %zu: factors %s", i,
			       factor_ids(r));
		}
		json_decref(r);
		json_decref(change);
		json_decref(hist);
	}
}

static void test_risk_explanation(void)
{
	load_shipped();
	json_t *change = change_with("{'services':['payments','ledger'],'rollback_plan':'n/a',"
				     "'test_evidence':'','duration':'PT6H','requester':'grossi',"
				     "'not_before':'2026-12-02T09:30:00+01:00'}");
	json_t *hist = J("{'services':{'payments':{'changes':8,'failures':3,'incidents_caused':2},"
			 "'ledger':{'changes':5,'failures':0}},"
			 "'teams':{'payments-team':{'changes':20,'failures':1}}}");
	json_t *a = policy_risk_assess(set_shipped, cat_shipped, change, hist, NULL);
	json_t *b = policy_risk_assess(set_shipped, cat_shipped, change, hist, NULL);

	CHECK(a != NULL && b != NULL && json_equal(a, b)); /* deterministic */
	if (a == NULL || b == NULL)
		goto out;
	CHECK_STR(json_string_value(json_object_get(a, "policy_version")),
		  policy_version(set_shipped));
	json_t *f = json_array_get(json_object_get(a, "factors"), 5);
	CHECK_STR(json_string_value(json_object_get(f, "id")), "poor-track-record");
	CHECK_INT(json_integer_value(json_object_get(f, "points")), 22);
	CHECK_STR(json_string_value(json_object_get(f, "reason")),
		  "recent changes to these services often failed or caused incidents");
	json_t *in = json_object_get(a, "inputs");
	CHECK_STR(json_string_value(json_object_get(in, "services.max_criticality")), "critical");
	CHECK_INT(json_integer_value(json_object_get(in, "change.duration_seconds")), 21600);
	CHECK(json_is_true(json_object_get(in, "change.in_business_hours")));
	CHECK(json_real_value(json_object_get(in, "history.failure_rate")) == 4.0 / 18.0);
	CHECK(json_object_get(in, "requester.name") == NULL); /* no factor reads it */
	json_t *h = json_object_get(a, "history");
	CHECK_STR(json_string_value(json_object_get(h, "service")), "payments");
	CHECK_INT(json_integer_value(json_object_get(h, "changes")), 8);
	CHECK_INT(json_integer_value(json_object_get(h, "failures")), 3);
	CHECK_INT(json_integer_value(json_object_get(h, "incidents_caused")), 2);
	CHECK(json_is_null(json_object_get(h, "template")));
	json_t *team = json_object_get(h, "team");
	CHECK_STR(json_string_value(json_object_get(team, "name")), "payments-team");
	CHECK(json_real_value(json_object_get(team, "failure_rate")) == 2.0 / 30.0);
	json_t *nf = json_object_get(a, "not_fired");
	static const char *const want_nf[] = {"customer-facing-service", "unknown-service",
					      "many-services", "emergency", NULL};
	CHECKF(tw_strs(nf, want_nf), "%s", tw_show(nf));
out:
	json_decref(a);
	json_decref(b);
	json_decref(change);
	json_decref(hist);
}

static void test_risk_thresholds_and_rounding(void)
{
	static const struct {
		const char *points;
		size_t title_len;
		long long score;
		const char *level;
	} cases[] = {
		{"len(change.title)", 0, 0, "low"},
		{"len(change.title)", 29, 29, "low"},
		{"len(change.title)", 30, 30, "medium"},
		{"len(change.title)", 59, 59, "medium"},
		{"len(change.title)", 60, 60, "high"},
		{"len(change.title)", 200, 200, "high"},
		{"len(change.title) / 2", 5, 3, "low"},
		{"len(change.title) / 2", 4, 2, "low"},
		{"len(change.title) / -2", 5, -3, "low"},
		{"len(change.title) * 0.3", 101, 30, "medium"},
	};
	char risk[512], title[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct diags d = {0};
		snprintf(risk, sizeof risk,
			 "{'factors':[{'id':'t','when':'true','points':'%s','reason':'title'}],"
			 "'levels':[{'name':'low','min':0},{'name':'medium','min':30},"
			 "{'name':'high','min':60}]}",
			 cases[i].points);
		struct policy_set *set = build(NULL, risk, NULL, NULL, NULL, &d);
		CHECKF(set != NULL, "case %zu: %s", i, tw_diag(&d, 0));
		memset(title, 'x', cases[i].title_len);
		title[cases[i].title_len] = '\0';
		json_t *change = json_pack("{s:s}", "title", title);
		json_t *r = set != NULL ? policy_risk_assess(set, NULL, change, NULL, NULL) : NULL;
		CHECKF(json_integer_value(json_object_get(r, "score")) == cases[i].score,
		       "case %zu: %s", i, tw_show(r));
		CHECKF(json_is_string(json_object_get(r, "level")) &&
			       strcmp(json_string_value(json_object_get(r, "level")),
				      cases[i].level) == 0,
		       "case %zu: %s", i, tw_show(r));
		json_decref(r);
		json_decref(change);
		policy_free(set);
		diags_clear(&d);
	}

	/* a score below the first level's min gets the first level */
	struct diags d = {0};
	struct policy_set *set = build(NULL,
				       "{'factors':[],'levels':[{'name':'minor','min':10},"
				       "{'name':'major','min':20}]}",
				       NULL, NULL, NULL, &d);
	json_t *change = json_object();
	json_t *r = set != NULL ? policy_risk_assess(set, NULL, change, NULL, NULL) : NULL;
	CHECK_STR(json_string_value(json_object_get(r, "level")), "minor");
	json_decref(r);
	json_decref(change);
	policy_free(set);
	diags_clear(&d);
}

static void test_risk_eval_errors(void)
{
	static const struct {
		const char *factor;
		const char *want;
	} cases[] = {
		{"{'id':'d','when':'change.duration_seconds > 4h','points':1,'reason':'r'}",
		 "risk factor 'd': when: column 25: cannot compare null with number"},
		{"{'id':'p','when':'true','points':'change.title','reason':'r'}",
		 "risk factor 'p': points: expected a number, got a string"},
		{"{'id':'p','when':'true','points':'change.nothing_here','reason':'r'}", NULL},
		{"{'id':'p','when':'true','points':'len(change.title) * 100000','reason':'r'}",
		 "risk factor 'p': points out of range (at most 1000000 either way)"},
	};
	char risk[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct diags d = {0};
		struct policy_error err = {{0}};
		snprintf(risk, sizeof risk, "{'factors':[%s],'levels':[{'name':'low','min':0}]}",
			 cases[i].factor);
		struct policy_set *set = build(NULL, risk, NULL, NULL, NULL, &d);
		json_t *change = J("{'title':'a long enough title'}");
		json_t *r = set != NULL ? policy_risk_assess(set, NULL, change, NULL, &err) : NULL;
		if (cases[i].want == NULL) { /* an unknown change field is refused at load */
			CHECK(set == NULL);
			CHECK(tw_has_line(&d, "policies/risk.json: factors[0].points: column 1: "
					      "unknown field 'change.nothing_here'"));
		} else {
			CHECK(set != NULL && r == NULL);
			CHECK_STR(err.message, cases[i].want);
		}
		json_decref(r);
		json_decref(change);
		policy_free(set);
		diags_clear(&d);
	}
	load_shipped();
	struct policy_error err = {{0}};
	json_t *not_obj = json_string("x");
	CHECK(policy_risk_assess(set_shipped, cat_shipped, not_obj, NULL, &err) == NULL);
	CHECK_STR(err.message, "the change is not a JSON object");
	json_decref(not_obj);
}

static void test_history_smoothing(void)
{
	load_shipped();
	const struct policy_set *s = set_shipped;

	CHECK(policy_failure_rate(s, 0, 0) == 0.1);        /* no history: the prior mean */
	CHECK(policy_failure_rate(s, 1, 1) == 2.0 / 11.0); /* not 100% */
	CHECK(policy_failure_rate(s, 0, 1) == 1.0 / 11.0);
	CHECK(policy_failure_rate(s, 3, 10) == 0.2);
	CHECK(policy_failure_rate(s, 30, 100) == 31.0 / 110.0);
	CHECK(policy_failure_rate(s, 5, 2) == 3.0 / 12.0); /* failures clamped to changes */
	CHECK(policy_failure_rate(s, -4, -1) == 0.1);

	struct diags d = {0};
	struct policy_set *set = build(NULL,
				       "{'factors':[],'levels':[{'name':'low','min':0}],"
				       "'history':{'window':'30d','prior':{'failures':0.5,"
				       "'successes':4.5}}}",
				       NULL, NULL, NULL, &d);
	CHECK(set != NULL);
	if (set != NULL) {
		CHECK(policy_failure_rate(set, 0, 0) == 0.1);
		CHECK(policy_failure_rate(set, 1, 1) == 1.5 / 6.0);
		CHECK_INT(policy_history_window(set), 30 * 86400);
	}
	policy_free(set);
	diags_clear(&d);

	/* the summary: the worst service, its counts, template and team */
	json_t *change = J("{'services':['payments','ledger','search'],'template':'x',"
			   "'requester':'bola.okafor@example.com'}");
	json_t *hist = J("{'services':{'payments':{'changes':10,'failures':1},"
			 "'ledger':{'changes':2,'failures':2,'incidents_caused':1},"
			 "'search':{'changes':'many','failures':-3}},"
			 "'templates':{'x':{'changes':7,'failures':0}},"
			 "'teams':{'payments-team':{'changes':3,'failures':1}}}");
	json_t *h = policy_history_summary(set_shipped, change, hist);
	CHECK_STR(json_string_value(json_object_get(h, "service")), "ledger");
	CHECK(json_real_value(json_object_get(h, "failure_rate")) == 3.0 / 12.0);
	CHECK_INT(json_integer_value(json_object_get(h, "incidents_caused")), 1);
	json_t *t = json_object_get(h, "template");
	CHECK_STR(json_string_value(json_object_get(t, "id")), "x");
	CHECK(json_real_value(json_object_get(t, "failure_rate")) == 1.0 / 17.0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(h, "team"), "name")),
		  "payments-team");
	CHECK_INT(json_integer_value(json_object_get(h, "window")), 7776000);
	json_decref(h);
	h = policy_history_summary(set_shipped, change, NULL);
	CHECK(json_real_value(json_object_get(h, "failure_rate")) == 0.1);
	CHECK_STR(json_string_value(json_object_get(h, "service")), "payments"); /* first on tie */
	json_decref(h);
	json_decref(change);
	json_decref(hist);
}

static void test_expr_fields_known(void)
{
	static const struct {
		const char *path;
		bool risk, approvals, templates, break_glass;
	} cases[] = {
		{"change.title", true, true, true, true},
		{"change.review.required", true, true, true, true},
		{"change.duration_seconds", true, true, true, true},
		{"change.in_business_hours", true, true, true, true},
		{"change.bogus", false, false, false, false},
		{"services.max_criticality", true, true, false, false},
		{"services.max_criticality_rank", true, true, false, false},
		{"services.unknown", true, true, false, false},
		{"services.teams", true, true, false, false},
		{"services.count", true, true, false, false},
		{"history.failure_rate", true, true, true, false},
		{"history.service", true, true, true, false},
		{"history.template.failure_rate", true, true, true, false},
		{"history.team.incidents_caused", true, true, true, false},
		{"history.template", false, false, false, false},
		{"requester.name", true, true, true, true},
		{"requester.groups", true, true, true, true},
		{"risk.level", false, true, false, false},
		{"risk.score", false, true, false, false},
		{"approvals.satisfied", false, false, false, false},
		{"record.title", false, false, false, false},
		{"now", false, false, false, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *p = cases[i].path;
		CHECKF(policy_expr_field_known((void *)"risk", p) == cases[i].risk, "%s", p);
		CHECKF(policy_expr_field_known((void *)"approvals", p) == cases[i].approvals, "%s",
		       p);
		CHECKF(policy_expr_field_known((void *)"templates", p) == cases[i].templates, "%s",
		       p);
		CHECKF(policy_expr_field_known((void *)"break_glass", p) == cases[i].break_glass,
		       "%s", p);
	}
	CHECK(!policy_expr_field_known((void *)"nope", "change.title"));
	CHECK(!policy_expr_field_known(NULL, "change.title"));
}

/* ---- approvals ------------------------------------------------------------------------ */

/* Required approvals of the shipped policy for `change` with risk level `level` (or NULL). */
static json_t *required_for(json_t *change, const char *level)
{
	json_t *risk = level != NULL ? json_pack("{s:s, s:i}", "level", level, "score", 0) : NULL;
	struct policy_error err = {{0}};
	json_t *req = policy_approvals_required(set_shipped, cat_shipped, change, risk, &err);

	CHECKF(req != NULL, "%s", err.message);
	json_decref(risk);
	return req;
}

/* "group:quorum,..." of required.groups (static buffer). */
static const char *groups_text(json_t *req)
{
	static char buf[512];
	size_t len = 0, i;
	json_t *g;

	buf[0] = '\0';
	json_array_foreach(json_object_get(req, "groups"), i, g) {
		len += (size_t)snprintf(
			buf + len, sizeof buf - len, "%s%s:%lld", i == 0 ? "" : ",",
			json_string_value(json_object_get(g, "group")),
			(long long)json_integer_value(json_object_get(g, "quorum")));
	}
	return buf;
}

static void test_approvals_routing_table(void)
{
	static const struct {
		const char *over;
		const char *level;
		const char *rules;
		const char *groups;
		long long expires;
		const char *event;
	} cases[] = {
		{"{}", "low", "cab-low", "cab:1", 259200, "expire"},
		{"{}", "medium", "cab-medium", "cab:2", 259200, "expire"},
		{"{}", "high", "cab-high", "cab:3,data-team:1", 259200, "expire"},
		{"{'services':['payments','ledger','search']}", "high", "cab-high",
		 "cab:3,payments-team:1,discovery-team:1", 259200, "expire"},
		{"{'services':['payments','ledger','search']}", NULL, "cab-unassessed",
		 "cab:3,payments-team:1,discovery-team:1", 259200, "expire"},
		{"{'type':'emergency','services':['payments']}", "high", "emergency", "ecab:2",
		 14400, "authorization_overdue"},
		{"{'type':'emergency'}", "low", "emergency", "ecab:2", 14400,
		 "authorization_overdue"},
		{"{'type':'standard'}", "low", "", "", 259200, "expire"},
	};
	load_shipped();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *change = change_with(cases[i].over);
		json_t *req = required_for(change, cases[i].level);
		char rules[128] = "";
		size_t len = 0, k;
		json_t *r;
		json_array_foreach(json_object_get(req, "rules_matched"), k, r) {
			len += (size_t)snprintf(rules + len, sizeof rules - len, "%s%s",
						k == 0 ? "" : ",", json_string_value(r));
		}
		CHECKF(strcmp(rules, cases[i].rules) == 0, "case %zu: rules %s", i, rules);
		CHECKF(strcmp(groups_text(req), cases[i].groups) == 0, "case %zu: groups %s", i,
		       groups_text(req));
		CHECK_INT(json_integer_value(json_object_get(req, "expires_after")),
			  cases[i].expires);
		CHECK_STR(json_string_value(json_object_get(req, "expiry_event")), cases[i].event);
		CHECK(json_is_boolean(json_object_get(req, "unmatched")) &&
		      json_is_true(json_object_get(req, "unmatched")) ==
			      (cases[i].rules[0] == '\0'));
		json_decref(req);
		json_decref(change);
	}
}

static void test_approvals_required_details(void)
{
	load_shipped();
	json_t *change = change_with("{'id':'CHG-7','requester':'grossi',"
				     "'services':['payments','ledger']}");
	json_t *req = required_for(change, "high");

	CHECK_STR(groups_text(req), "cab:3,payments-team:1");
	json_t *cab = json_array_get(json_object_get(req, "groups"), 0);
	json_t *own = json_array_get(json_object_get(req, "groups"), 1);
	static const char *const cab_all[] = {"amartin",  "bokafor", "cnguyen",
					      "dschmidt", "mpetrov", NULL};
	static const char *const own_all[] = {"bokafor", "grossi", NULL};
	static const char *const own_eligible[] = {"bokafor", NULL};
	static const char *const owner_of[] = {"payments", "ledger", NULL};
	CHECK(tw_strs(json_object_get(cab, "members"), cab_all));
	CHECK(tw_strs(json_object_get(cab, "eligible"), cab_all));
	CHECK(json_is_true(json_object_get(cab, "one_rejection_rejects")));
	CHECK(tw_strs(json_object_get(own, "members"), own_all));
	CHECK(tw_strs(json_object_get(own, "eligible"), own_eligible)); /* not the requester */
	CHECK(tw_strs(json_object_get(own, "service_owner_of"), owner_of));
	CHECK(json_is_false(json_object_get(own, "one_rejection_rejects")));
	CHECK(json_is_true(json_object_get(req, "one_rejection_rejects")));
	json_t *sod = json_object_get(req, "sod");
	CHECK(json_is_true(json_object_get(sod, "requester_cannot_approve")));
	CHECK(json_is_true(json_object_get(sod, "one_vote_per_person")));
	CHECK_STR(json_string_value(json_object_get(sod, "requester")), "grossi");
	CHECK_INT(json_array_size(json_object_get(req, "warnings")), 0);
	CHECK_STR(json_string_value(json_object_get(req, "policy_version")),
		  policy_version(set_shipped));
	json_decref(req);
	json_decref(change);

	/* requester named by an alias: still excluded */
	change = change_with("{'type':'emergency','requester':'SRE-LEAD@example.com'}");
	req = required_for(change, "low");
	static const char *const ecab_eligible[] = {"dschmidt", "ekowalski", NULL};
	CHECK(tw_strs(
		json_object_get(json_array_get(json_object_get(req, "groups"), 0), "eligible"),
		ecab_eligible));
	json_decref(req);
	json_decref(change);

	/* no rule: never satisfied */
	change = change_with("{'type':'standard'}");
	req = required_for(change, "low");
	json_t *none = json_array();
	json_t *t = policy_approvals_tally(req, none);
	CHECK(json_is_false(json_object_get(t, "satisfied")));
	CHECK_STR(json_string_value(json_array_get(json_object_get(req, "warnings"), 0)),
		  "no approval rule matched: a change manager decides");
	json_decref(t);
	json_decref(none);
	json_decref(req);
	json_decref(change);
}

static void test_approvals_merge_and_warnings(void)
{
	struct diags d = {0};
	struct policy_error err = {{0}};
	struct policy_set *set = build(
		"{'users':[{'name':'ann','display_name':'A','email':'a@x'},"
		"{'name':'bob','display_name':'B','email':'b@x'},"
		"{'name':'cy','display_name':'C','email':'c@x'}],"
		"'groups':[{'name':'cab','members':['ann','bob','cy']},"
		"{'name':'ops','members':['ann']},{'name':'sec','members':['ann']}]}",
		NULL,
		"{'defaults':{'expires_after':'72h','expiry_event':'expire'},'rules':["
		"{'id':'one','when':'true','require':[{'group':'cab','quorum':1,"
		"'one_rejection_rejects':true}],'expires_after':'2d','expiry_event':'escalate'},"
		"{'id':'two','when':'true','require':[{'group':'cab','quorum':3},"
		"{'group':'ops','quorum':1},{'group':'sec','quorum':1}],'expires_after':'1d'},"
		"{'id':'three','when':'false','require':[{'group':'cab','quorum':1}],"
		"'expires_after':'1h'}]}",
		NULL, NULL, &d);
	CHECKF(set != NULL, "%s", tw_diag(&d, 0));
	if (set == NULL)
		goto out;
	json_t *change = J("{'requester':'bob'}");
	json_t *req = policy_approvals_required(set, NULL, change, NULL, &err);
	CHECK_STR(groups_text(req), "cab:3,ops:1,sec:1");
	json_t *cab = json_array_get(json_object_get(req, "groups"), 0);
	CHECK(json_is_true(json_object_get(cab, "one_rejection_rejects")));
	CHECK_STR(json_string_value(json_object_get(cab, "rule")), "one");
	CHECK_INT(json_integer_value(json_object_get(req, "expires_after")), 86400);
	CHECK_STR(json_string_value(json_object_get(req, "expiry_event")), "expire");
	json_t *w = json_object_get(req, "warnings");
	CHECKF(json_array_size(w) == 2, "%s", tw_show(w));
	CHECK_STR(json_string_value(json_array_get(w, 0)),
		  "group 'cab' has 2 eligible members for a quorum of 3");
	CHECK_STR(json_string_value(json_array_get(w, 1)),
		  "group 'sec' cannot reach its quorum of 1 while each person votes once "
		  "(one_vote_per_person): its members are needed by other groups");
	json_decref(req);
	json_decref(change);
out:
	policy_free(set);
	diags_clear(&d);
}

/* ---- votes ---------------------------------------------------------------------------- */

static void test_vote_allowed(void)
{
	static const struct {
		const char *voter;
		const char *group;
		enum policy_vote_check want;
		const char *group_out;
		const char *reason;
	} cases[] = {
		{"grossi", NULL, POLICY_VOTE_REQUESTER_CANNOT_APPROVE, NULL,
		 "requester_cannot_approve: grossi requested CHG-7 and cannot vote on it"},
		{"giulia.rossi@EXAMPLE.com", "payments-team", POLICY_VOTE_REQUESTER_CANNOT_APPROVE,
		 NULL, "requester_cannot_approve: grossi requested CHG-7 and cannot vote on it"},
		{"hsato", "cab", POLICY_VOTE_NOT_A_MEMBER, NULL,
		 "not_a_member: hsato is not a member of group 'cab'"},
		{"amartin", "ecab", POLICY_VOTE_NOT_REQUIRED, NULL,
		 "not_required: group 'ecab' is not asked to approve this change"},
		{"amartin", "cab", POLICY_VOTE_OK, "cab", "ok: amartin votes for group 'cab'"},
		{"alice@example.com", "cab", POLICY_VOTE_OK, "cab",
		 "ok: amartin votes for group 'cab'"},
		{"bokafor", NULL, POLICY_VOTE_OK, "payments-team",
		 "ok: bokafor votes for group 'payments-team'"},
		{"bokafor", "cab", POLICY_VOTE_OK, "cab", "ok: bokafor votes for group 'cab'"},
		{"cnguyen", NULL, POLICY_VOTE_OK, "cab", "ok: cnguyen votes for group 'cab'"},
		{"hsato", NULL, POLICY_VOTE_NOT_A_MEMBER, NULL,
		 "not_a_member: hsato is not an eligible member of any group asked to approve"},
		{"", NULL, POLICY_VOTE_NOT_A_MEMBER, NULL, "not_a_member: no voter given"},
	};
	load_shipped();
	json_t *change = change_with("{'id':'CHG-7','requester':'grossi',"
				     "'services':['payments','ledger']}");
	json_t *req = required_for(change, "high");

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char reason[POLICY_REASON_MAX] = "";
		const char *g = "unset";
		enum policy_vote_check c =
			policy_vote_allowed(set_shipped, req, change, cases[i].voter,
					    cases[i].group, &g, reason, sizeof reason);
		CHECKF(c == cases[i].want, "case %zu: %s", i, policy_vote_rule(c));
		CHECKF(strcmp(reason, cases[i].reason) == 0, "case %zu: %s", i, reason);
		if (cases[i].group_out != NULL)
			CHECKF(g != NULL && strcmp(g, cases[i].group_out) == 0, "case %zu", i);
		else
			CHECK(g == NULL);
	}
	CHECK_STR(policy_vote_rule(POLICY_VOTE_REQUESTER_CANNOT_APPROVE),
		  "requester_cannot_approve");
	CHECK_STR(policy_vote_rule(POLICY_VOTE_NOT_A_MEMBER), "not_a_member");
	CHECK_STR(policy_vote_rule(POLICY_VOTE_NOT_REQUIRED), "not_required");
	json_decref(req);
	json_decref(change);
}

static void test_vote_sod_off(void)
{
	struct diags d = {0};
	struct policy_set *set =
		build(NULL, NULL,
		      "{'defaults':{'expires_after':'72h','expiry_event':'expire'},'rules':["
		      "{'id':'r','when':'true','require':[{'group':'cab','quorum':2}]}],"
		      "'segregation_of_duties':{'requester_cannot_approve':false,"
		      "'one_vote_per_person':false}}",
		      NULL, NULL, &d);
	CHECKF(set != NULL, "%s", tw_diag(&d, 0));
	if (set == NULL)
		goto out;
	json_t *change = J("{'requester':'ann'}");
	json_t *req = policy_approvals_required(set, NULL, change, NULL, NULL);
	static const char *const all[] = {"ann", "bob", "cy", NULL};
	json_t *cab = json_array_get(json_object_get(req, "groups"), 0);
	CHECK(tw_strs(json_object_get(cab, "eligible"), all));
	CHECK(json_is_false(
		json_object_get(json_object_get(req, "sod"), "requester_cannot_approve")));
	CHECK(policy_vote_allowed(set, req, change, "ann", "cab", NULL, NULL, 0) == POLICY_VOTE_OK);
	json_decref(req);
	json_decref(change);
out:
	policy_free(set);
	diags_clear(&d);
}

/* Issue 10: whoever edited a change cannot vote on it (by name or address); the setting
 * turns it off; ownership.team parses and defaults to off. */
static void test_vote_editors_and_ownership(void)
{
	load_shipped();
	json_t *change = change_with("{'id':'CHG-8','requester':'grossi',"
				     "'services':['payments','ledger'],"
				     "'editors':['alice@example.com']}");
	json_t *req = required_for(change, "high");
	char reason[POLICY_REASON_MAX] = "";
	CHECK(policy_vote_allowed(set_shipped, req, change, "amartin", "cab", NULL, reason,
				  sizeof reason) == POLICY_VOTE_EDITOR_CANNOT_APPROVE);
	CHECK_STR(reason, "editor_cannot_approve: amartin edited CHG-8 and cannot vote on it");
	CHECK_STR(policy_vote_rule(POLICY_VOTE_EDITOR_CANNOT_APPROVE), "editor_cannot_approve");
	CHECK(policy_vote_allowed(set_shipped, req, change, "cnguyen", "cab", NULL, NULL, 0) ==
	      POLICY_VOTE_OK);
	CHECK(json_is_true(json_object_get(json_object_get(req, "sod"), "editors_cannot_approve")));
	CHECK(!policy_owner_team(set_shipped));
	json_decref(req);

	struct diags d = {0};
	struct policy_set *set =
		build(NULL, NULL,
		      "{'defaults':{'expires_after':'72h','expiry_event':'expire'},'rules':["
		      "{'id':'r','when':'true','require':[{'group':'cab','quorum':2}]}],"
		      "'segregation_of_duties':{'editors_cannot_approve':false},"
		      "'ownership':{'team':true}}",
		      NULL, NULL, &d);
	CHECKF(set != NULL, "%s", tw_diag(&d, 0));
	if (set != NULL) {
		json_t *c2 = J("{'requester':'ann','editors':['bob']}");
		req = policy_approvals_required(set, NULL, c2, NULL, NULL);
		CHECK(policy_vote_allowed(set, req, c2, "bob", "cab", NULL, NULL, 0) ==
		      POLICY_VOTE_OK);
		CHECK(policy_owner_team(set));
		json_decref(req);
		json_decref(c2);
	}
	policy_free(set);
	diags_clear(&d);
	json_decref(change);
}

/* Required approvals for the tally table: cab (2 of a-d, one rejection rejects), own (1 of
 * a, e). */
#define TALLY_REQ(per_person)                                                                      \
	"{'groups':[{'group':'cab','quorum':2,'one_rejection_rejects':true,"                       \
	"'eligible':['a','b','c','d']},{'group':'own','quorum':1,'one_rejection_rejects':false,"   \
	"'eligible':['a','e']}],'sod':{'one_vote_per_person':" per_person "}}"

static void test_tally_table(void)
{
	static const struct {
		bool per_person;
		const char *votes;
		bool satisfied, rejected;
		int cab_appr, cab_rej, cab_abst, own_appr, own_rej;
		size_t ignored;
	} cases[] = {
		{true, "[]", false, false, 0, 0, 0, 0, 0, 0},
		{true,
		 "[{'user':'a','group':'cab','decision':'approve'},"
		 "{'user':'b','group':'cab','decision':'approve'},"
		 "{'user':'e','group':'own','decision':'approve'}]",
		 true, false, 2, 0, 0, 1, 0, 0},
		{true,
		 "[{'user':'a','group':'cab','decision':'approve'},"
		 "{'user':'b','group':'cab','decision':'approve'}]",
		 false, false, 2, 0, 0, 0, 0, 0},
		{true,
		 "[{'user':'a','group':'cab','decision':'approve'},"
		 "{'user':'a','group':'cab','decision':'approve'}]",
		 false, false, 1, 0, 0, 0, 0, 1},
		{true,
		 "[{'user':'a','group':'cab','decision':'reject'},"
		 "{'user':'a','group':'cab','decision':'approve'},"
		 "{'user':'b','group':'cab','decision':'approve'},"
		 "{'user':'e','group':'own','decision':'approve'}]",
		 true, false, 2, 0, 0, 1, 0, 1},
		{true,
		 "[{'user':'a','group':'cab','decision':'approve'},"
		 "{'user':'b','group':'cab','decision':'approve'},"
		 "{'user':'e','group':'own','decision':'approve'},"
		 "{'user':'a','group':'cab','decision':'reject'}]",
		 false, true, 1, 1, 0, 1, 0, 1},
		{true, "[{'user':'e','group':'own','decision':'reject'}]", false, false, 0, 0, 0, 0,
		 1, 0},
		{true,
		 "[{'user':'e','group':'own','decision':'reject'},"
		 "{'user':'a','group':'own','decision':'reject'}]",
		 false, true, 0, 0, 0, 0, 2, 0},
		{true,
		 "[{'user':'c','group':'cab','decision':'abstain'},"
		 "{'user':'a','group':'cab','decision':'approve'},"
		 "{'user':'b','group':'cab','decision':'approve'},"
		 "{'user':'e','group':'own','decision':'approve'}]",
		 true, false, 2, 0, 1, 1, 0, 0},
		{true, "[{'user':'z','group':'cab','decision':'approve'}]", false, false, 0, 0, 0,
		 0, 0, 1},
		{true, "[{'user':'e','group':'cab','decision':'approve'}]", false, false, 0, 0, 0,
		 0, 0, 1},
		{true, "[{'user':'a','group':'cab','decision':'maybe'}]", false, false, 0, 0, 0, 0,
		 0, 1},
		{true, "[{'user':'a','group':'ecab','decision':'approve'}]", false, false, 0, 0, 0,
		 0, 0, 1},
		{true, "[{'user':'e','decision':'approve'}]", false, false, 0, 0, 0, 1, 0, 0},
		{true,
		 "[{'user':'a','group':'cab','decision':'approve'},"
		 "{'user':'a','group':'own','decision':'approve'}]",
		 false, false, 0, 0, 0, 1, 0, 1},
		{false,
		 "[{'user':'a','group':'cab','decision':'approve'},"
		 "{'user':'a','group':'own','decision':'approve'}]",
		 false, false, 1, 0, 0, 1, 0, 0},
		{false,
		 "[{'user':'a','group':'cab','decision':'approve'},"
		 "{'user':'b','group':'cab','decision':'approve'},"
		 "{'user':'a','group':'own','decision':'approve'}]",
		 true, false, 2, 0, 0, 1, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *req = J(cases[i].per_person ? TALLY_REQ("true") : TALLY_REQ("false"));
		json_t *votes = J(cases[i].votes);
		json_t *t = policy_approvals_tally(req, votes);
		json_t *cab = json_array_get(json_object_get(t, "groups"), 0);
		json_t *own = json_array_get(json_object_get(t, "groups"), 1);
		CHECKF(t != NULL, "case %zu", i);
		CHECKF(json_is_true(json_object_get(t, "satisfied")) == cases[i].satisfied &&
			       json_is_true(json_object_get(t, "rejected")) == cases[i].rejected,
		       "case %zu: %s", i, tw_show(t));
		CHECKF(json_integer_value(json_object_get(cab, "approvals")) == cases[i].cab_appr &&
			       json_integer_value(json_object_get(cab, "rejections")) ==
				       cases[i].cab_rej &&
			       json_integer_value(json_object_get(cab, "abstentions")) ==
				       cases[i].cab_abst &&
			       json_integer_value(json_object_get(own, "approvals")) ==
				       cases[i].own_appr &&
			       json_integer_value(json_object_get(own, "rejections")) ==
				       cases[i].own_rej,
		       "case %zu: %s", i, tw_show(t));
		CHECKF(json_array_size(json_object_get(t, "ignored")) == cases[i].ignored,
		       "case %zu: %s", i, tw_show(json_object_get(t, "ignored")));
		json_decref(t);
		json_decref(votes);
		json_decref(req);
	}

	/* details: pending, voted, the reasons of ignored votes */
	json_t *req = J(TALLY_REQ("true"));
	json_t *votes = J("[{'user':'b','group':'cab','decision':'reject','at':'t1'},"
			  "{'user':'b','group':'cab','decision':'approve','at':'t2'},"
			  "{'user':'e','group':'cab','decision':'approve'},"
			  "{'user':'c','group':'cab','decision':'maybe'}]");
	json_t *t = policy_approvals_tally(req, votes);
	json_t *cab = json_array_get(json_object_get(t, "groups"), 0);
	static const char *const pending[] = {"a", "c", "d", NULL};
	CHECK(tw_strs(json_object_get(cab, "pending"), pending));
	json_t *voted = json_array_get(json_object_get(cab, "voted"), 0);
	CHECK_STR(json_string_value(json_object_get(voted, "at")), "t2");
	CHECK_STR(json_string_value(json_object_get(voted, "decision")), "approve");
	json_t *ign = json_object_get(t, "ignored");
	CHECK_STR(json_string_value(json_object_get(json_array_get(ign, 0), "reason")),
		  "not eligible in group 'cab'");
	CHECK_STR(json_string_value(json_object_get(json_array_get(ign, 1), "reason")),
		  "unknown decision 'maybe'");
	CHECK_STR(json_string_value(json_object_get(json_array_get(ign, 2), "reason")),
		  "replaced by a later vote");
	json_decref(t);
	json_decref(votes);
	json_decref(req);

	/* bad input */
	json_t *bad = J("{'groups':[{'quorum':1}]}"), *empty = json_array();
	CHECK(policy_approvals_tally(bad, empty) == NULL);
	json_decref(bad);
	json_decref(empty);
}

/* The shipped policy end to end: a medium change approved by two CAB members. */
static void test_vote_then_tally_shipped(void)
{
	load_shipped();
	json_t *change = change_with("{'requester':'amartin'}");
	json_t *req = required_for(change, "medium");
	json_t *votes = json_array();
	const char *voters[] = {"amartin", "bokafor", "alice@example.com", "cnguyen"};
	enum policy_vote_check want[] = {POLICY_VOTE_REQUESTER_CANNOT_APPROVE, POLICY_VOTE_OK,
					 POLICY_VOTE_REQUESTER_CANNOT_APPROVE, POLICY_VOTE_OK};

	for (size_t i = 0; i < 4; i++) {
		const char *g = NULL;
		enum policy_vote_check c =
			policy_vote_allowed(set_shipped, req, change, voters[i], NULL, &g, NULL, 0);
		CHECKF(c == want[i], "voter %s: %s", voters[i], policy_vote_rule(c));
		if (c == POLICY_VOTE_OK)
			json_array_append_new(votes, json_pack("{s:s, s:s, s:s}", "user", voters[i],
							       "group", g, "decision", "approve"));
		json_t *t = policy_approvals_tally(req, votes);
		CHECK(json_is_true(json_object_get(t, "satisfied")) == (i == 3));
		json_decref(t);
	}
	json_decref(votes);
	json_decref(req);
	json_decref(change);
}

/* ---- break glass ---------------------------------------------------------------------- */

static void test_break_glass(void)
{
	static const struct {
		const char *over;
		const char *manager;
		const char *justification;
		enum policy_vote_check want;
		const char *reason;
	} cases[] = {
		{"{'type':'emergency','requester':'fdiallo'}", "hsato",
		 "Payments down, ECAB unreachable for 20 minutes", POLICY_VOTE_NOT_A_MEMBER,
		 "not_a_member: hsato is not a member of group 'change-managers'"},
		{"{'type':'normal','requester':'fdiallo'}", "amartin",
		 "Payments down, ECAB unreachable for 20 minutes",
		 POLICY_VOTE_BREAK_GLASS_NOT_ALLOWED,
		 "break_glass_not_allowed: the change does not match change.type == \"emergency\""},
		{"{'type':'emergency','requester':'ewa@example.com'}", "ekowalski",
		 "Payments down, ECAB unreachable for 20 minutes",
		 POLICY_VOTE_REQUESTER_CANNOT_BREAK_GLASS,
		 "requester_cannot_break_glass: ekowalski requested this change"},
		{"{'type':'emergency','requester':'fdiallo'}", "amartin", "   urgent!   ",
		 POLICY_VOTE_JUSTIFICATION_TOO_SHORT,
		 "justification_too_short: at least 30 characters are required"},
		{"{'type':'emergency','requester':'fdiallo'}", "amartin", NULL,
		 POLICY_VOTE_JUSTIFICATION_TOO_SHORT,
		 "justification_too_short: at least 30 characters are required"},
		{"{'type':'emergency','requester':'fdiallo'}", "alice@example.com",
		 "Payments down, ECAB unreachable for 20 minutes", POLICY_VOTE_OK,
		 "ok: amartin may break glass"},
	};
	load_shipped();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char reason[POLICY_REASON_MAX] = "";
		json_t *change = change_with(cases[i].over);
		enum policy_vote_check c =
			policy_break_glass_allowed(set_shipped, change, cases[i].manager,
						   cases[i].justification, reason, sizeof reason);
		CHECKF(c == cases[i].want, "case %zu: %s", i, policy_vote_rule(c));
		CHECKF(strcmp(reason, cases[i].reason) == 0, "case %zu: %s", i, reason);
		json_decref(change);
	}

	json_t *bg =
		policy_break_glass("amartin", "Payments down, ECAB unreachable", 1764201600123LL);
	CHECK(json_is_true(json_object_get(bg, "satisfied")));
	CHECK(json_is_false(json_object_get(bg, "rejected")));
	json_t *who = json_object_get(bg, "break_glass");
	CHECK_STR(json_string_value(json_object_get(who, "by")), "amartin");
	CHECK_STR(json_string_value(json_object_get(who, "justification")),
		  "Payments down, ECAB unreachable");
	CHECK_STR(json_string_value(json_object_get(who, "at")), "2025-11-27T00:00:00.123Z");
	CHECK_INT(json_integer_value(json_object_get(who, "at_ms")), 1764201600123LL);
	json_t *review = json_object_get(bg, "review");
	CHECK(json_is_true(json_object_get(review, "required")));
	CHECK_STR(json_string_value(json_object_get(review, "reason")),
		  "break glass by amartin: Payments down, ECAB unreachable");
	json_decref(bg);
	CHECK(policy_break_glass("amartin", "  \n ", 0) == NULL);
	CHECK(policy_break_glass(NULL, "x", 0) == NULL);
	CHECK(policy_break_glass("amartin", "x", -1) == NULL);
}

/* ---- templates ------------------------------------------------------------------------ */

static void test_templates(void)
{
	static const struct {
		const char *id;
		const char *change;
		const char *history;
		bool want;
		const char *reason;
	} cases[] = {
		{NULL,
		 "{'template':'tls-certificate-renewal','services':['api-gateway'],"
		 "'duration':'PT45M'}",
		 NULL, true,
		 "pre-approved under template 'tls-certificate-renewal': services covered, "
		 "duration "
		 "45m within 1h, condition holds"},
		{"tls-certificate-renewal",
		 "{'services':['api-gateway','payments'],'duration':'PT45M'}", NULL, false,
		 "service 'payments' is not covered by template 'tls-certificate-renewal'"},
		{"tls-certificate-renewal", "{'services':['web-frontend'],'duration':'PT1H30M'}",
		 NULL, false,
		 "duration 1h30m exceeds the maximum 1h of template 'tls-certificate-renewal'"},
		{"tls-certificate-renewal", "{'services':['web-frontend']}", NULL, false,
		 "the change has no valid duration (template 'tls-certificate-renewal' allows at "
		 "most "
		 "1h)"},
		{"tls-certificate-renewal", "{'services':[],'duration':'PT5M'}", NULL, false,
		 "the change names no service"},
		{"tls-certificate-renewal", "{'services':['web-frontend'],'duration':'PT1H'}",
		 "{'templates':{'tls-certificate-renewal':{'changes':4,'failures':1}}}", true,
		 "pre-approved under template 'tls-certificate-renewal': services covered, "
		 "duration "
		 "1h within 1h, condition holds"},
		{"tls-certificate-renewal", "{'services':['web-frontend'],'duration':'PT1H'}",
		 "{'templates':{'tls-certificate-renewal':{'changes':6,'failures':2}}}", false,
		 "template 'tls-certificate-renewal' is no longer pre-approved: "
		 "history.template.failure_rate < 0.15 does not hold"},
		{"nope", "{'services':['search'],'duration':'PT1H'}", NULL, false,
		 "unknown template 'nope'"},
		{NULL, "{'services':['search'],'duration':'PT1H'}", NULL, false,
		 "the change names no template"},
		{"postgres-minor-patch",
		 "{'services':['ledger-db'],'duration':'PT1H','not_before':'2026-12-05T22:00:00Z'}",
		 NULL, false,
		 "template 'postgres-minor-patch' is no longer pre-approved: "
		 "history.template.changes >= 5 && history.template.failure_rate < 0.1 && "
		 "change.in_business_hours == false does not hold"},
		{"postgres-minor-patch",
		 "{'services':['ledger-db'],'duration':'PT1H','not_before':'2026-12-05T22:00:00Z'}",
		 "{'templates':{'postgres-minor-patch':{'changes':6,'failures':0}}}", true,
		 "pre-approved under template 'postgres-minor-patch': services covered, duration "
		 "1h "
		 "within 2h, condition holds"},
		{"postgres-minor-patch",
		 "{'services':['ledger-db'],'duration':'PT1H','not_before':'2026-12-02T10:00:00+01:"
		 "00'"
		 "}",
		 "{'templates':{'postgres-minor-patch':{'changes':6,'failures':0}}}", false,
		 "template 'postgres-minor-patch' is no longer pre-approved: "
		 "history.template.changes >= 5 && history.template.failure_rate < 0.1 && "
		 "change.in_business_hours == false does not hold"},
		{"search-index-rebuild", "{'services':['search'],'duration':'PT2H'}", NULL, true,
		 "pre-approved under template 'search-index-rebuild': services covered, duration "
		 "2h "
		 "within 2h, condition holds"},
	};
	load_shipped();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char reason[POLICY_REASON_MAX] = "";
		json_t *change = J(cases[i].change);
		json_t *hist = cases[i].history != NULL ? J(cases[i].history) : NULL;
		bool ok = policy_template_preapproved(set_shipped, cases[i].id, change, hist,
						      reason, sizeof reason);
		CHECKF(ok == cases[i].want, "case %zu: %s", i, reason);
		CHECKF(strcmp(reason, cases[i].reason) == 0, "case %zu: %s", i, reason);
		json_decref(change);
		json_decref(hist);
	}
	const struct policy_template *t = policy_template_find(set_shipped, "search-index-rebuild");
	CHECK(t != NULL && policy_template_at(set_shipped, 1) == t);
	if (t != NULL) {
		CHECK_STR(t->title, "Rebuild the product search index");
		CHECK_INT(t->max_duration, 7200);
		CHECK_INT(t->n_services, 1);
		CHECK_STR(t->services[0], "search");
		CHECK(t->services[1] == NULL);
	}
	CHECK(policy_template_find(set_shipped, "nope") == NULL);
	CHECK(policy_template_at(set_shipped, 4) == NULL);
}

/* ---- validation ----------------------------------------------------------------------- */

struct bad_case {
	char which; /* p r a t: that file alone; A T: the set, with a small catalog */
	const char *src;
	const char *want;
};

#define U(n)                  "{'name':'" n "','display_name':'N','email':'" n "@x.org'}"
#define PEOPLE(users, groups) "{'users':[" users "],'groups':[" groups "]}"
#define FACTOR(id, when)      "{'id':'" id "','when':'" when "','points':1,'reason':'r'}"
#define RISK(factors)         "{'factors':[" factors "],'levels':[{'name':'low','min':0}]}"
#define NO_FACTORS            "'factors':[],'levels':[{'name':'low','min':0}]"
#define HOURS(h)              "{" NO_FACTORS ",'business_hours':" h "}"
#define HIST(h)               "{" NO_FACTORS ",'history':" h "}"
#define APPR(rules)                                                                                \
	"{'defaults':{'expires_after':'72h','expiry_event':'expire'},'rules':[" rules "]}"
#define RULE(req)    "{'id':'r','when':'true','require':[" req "]}"
#define TPL(t)       "{'templates':[" t "]}"
#define T1(id, svcs) "{'id':'" id "','title':'T','services':[" svcs "],'max_duration':'1h'}"

static const struct bad_case bad_cases[] = {
	/* people.json */
	{'p', "{'users':[],'groups':[],'owner':1}", "policies/people.json: unknown key 'owner'"},
	{'p', "{'groups':[]}", "policies/people.json: missing key 'users'"},
	{'p', "[]", "policies/people.json: expected a JSON object"},
	{'p', "{'users':[}",
	 "policies/people.json: line 1: column 11: invalid json: unexpected token near '}'"},
	{'p', PEOPLE("{'name':'ann','email':'ann@x.org'}", ""),
	 "policies/people.json: users[0]: missing key 'display_name'"},
	{'p', PEOPLE("{'name':'ann smith','display_name':'A','email':'a@x.org'}", ""),
	 "policies/people.json: users[0].name: invalid user name 'ann smith' (1-128 letters, "
	 "digits "
	 "and . _ @ + -)"},
	{'p', PEOPLE(U("ann") ",{'name':'ann','display_name':'A','email':'other@x.org'}", ""),
	 "policies/people.json: users[1].name: user 'ann' is already defined at users[0]"},
	{'p', PEOPLE("{'name':'ann','display_name':'A','email':'ann'}", ""),
	 "policies/people.json: users[0].email: invalid e-mail address 'ann'"},
	{'p',
	 PEOPLE(U("ann") ",{'name':'bob','display_name':'B','email':'b@x.org','aliases':['ANN@X."
			 "org']}",
		""),
	 "policies/people.json: users[1].aliases[0]: address 'ANN@X.org' already belongs to "
	 "users[0]"},
	{'p',
	 PEOPLE("{'name':'ann','display_name':'A','email':'ann@x.org','aliases':['Ann@x.org']}",
		""),
	 "policies/people.json: users[0].aliases[0]: address 'Ann@x.org' listed twice"},
	{'p',
	 PEOPLE("{'name':'ann','display_name':'A','email':'ann@x.org','aliases':'a@x.org'}", ""),
	 "policies/people.json: users[0].aliases: expected an array"},
	{'p', PEOPLE(U("ann"), "{'name':'cab','members':['ann','zed']}"),
	 "policies/people.json: groups[0].members[1]: unknown user 'zed'"},
	{'p', PEOPLE(U("ann"), "{'name':'cab','members':['ann','ann']}"),
	 "policies/people.json: groups[0].members[1]: user 'ann' listed twice"},
	{'p', PEOPLE(U("ann"), "{'name':'cab','members':[]},{'name':'cab','members':[]}"),
	 "policies/people.json: groups[1].name: group 'cab' is already defined at groups[0]"},
	{'p', PEOPLE(U("ann"), "{'name':'CAB','members':[]}"),
	 "policies/people.json: groups[0].name: invalid group name 'CAB' (lowercase letters, "
	 "digits, "
	 "'-' and '_', not first, at most 63 characters)"},
	{'p', PEOPLE(U("ann"), "{'name':'cab'}"),
	 "policies/people.json: groups[0]: missing key 'members'"},
	{'p', PEOPLE("{'name':'ann','display_name':'A','email':'ann@x.org','team':'ops'}", ""),
	 "policies/people.json: users[0].team: unknown group 'ops'"},
	/* risk.json */
	{'r', "{'levels':[{'name':'low','min':0}]}", "policies/risk.json: missing key 'factors'"},
	{'r', RISK(FACTOR("a", "true") "," FACTOR("a", "false")),
	 "policies/risk.json: factors[1].id: factor 'a' is already defined at factors[0]"},
	{'r', RISK(FACTOR("A b", "true")),
	 "policies/risk.json: factors[0].id: invalid id 'A b' (lowercase letters, digits, '-' and "
	 "'_', not first, at most 63 characters)"},
	{'r', RISK(FACTOR("a", "change.type == ")),
	 "policies/risk.json: factors[0].when: column 16: unexpected end of expression"},
	{'r', RISK(FACTOR("a", "change.typo == 1")),
	 "policies/risk.json: factors[0].when: column 1: unknown field 'change.typo'"},
	{'r', RISK(FACTOR("a", "change.type == `normal` && risk.level == `high`")),
	 "policies/risk.json: factors[0].when: column 28: unknown field 'risk.level'"},
	{'r', RISK(FACTOR("a", "history.failure_rate > 0.2 && foo(1)")),
	 "policies/risk.json: factors[0].when: column 31: unknown function 'foo'"},
	{'r', RISK("{'id':'a','when':'true','points':true,'reason':'r'}"),
	 "policies/risk.json: factors[0].points: expected an integer or an expression"},
	{'r', RISK("{'id':'a','when':'true','points':2000000,'reason':'r'}"),
	 "policies/risk.json: factors[0].points: must be between -1000000 and 1000000"},
	{'r', RISK("{'id':'a','when':'true','points':'len(','reason':'r'}"),
	 "policies/risk.json: factors[0].points: column 5: unexpected end of expression"},
	{'r', RISK("{'id':'a','when':'true','points':1}"),
	 "policies/risk.json: factors[0]: missing key 'reason'"},
	{'r', RISK("{'id':'a','when':'true','points':1,'reason':'r','weight':2}"),
	 "policies/risk.json: factors[0]: unknown key 'weight'"},
	{'r', "{'factors':[],'levels':[{'name':'low','min':0},{'name':'high','min':0}]}",
	 "policies/risk.json: levels[1].min: levels must ascend: 0 is not above levels[0].min (0)"},
	{'r', "{'factors':[],'levels':[{'name':'low','min':0},{'name':'low','min':10}]}",
	 "policies/risk.json: levels[1].name: level 'low' is already defined at levels[0]"},
	{'r', "{'factors':[],'levels':[]}",
	 "policies/risk.json: levels: at least one level is required"},
	{'r', "{'factors':[],'levels':[{'name':'low','min':'0'}]}",
	 "policies/risk.json: levels[0].min: expected an integer"},
	{'r', HOURS("{'utc_offset':'+1','days':['mon'],'start':'08:00','end':'18:00'}"),
	 "policies/risk.json: business_hours.utc_offset: invalid utc offset '+1' (e.g. \"+01:00\", "
	 "\"-05:00\", \"Z\"; at most 14 hours)"},
	{'r', HOURS("{'utc_offset':'Z','days':['monday'],'start':'08:00','end':'18:00'}"),
	 "policies/risk.json: business_hours.days[0]: unknown day 'monday' (mon, tue, wed, thu, "
	 "fri, "
	 "sat or sun)"},
	{'r', HOURS("{'utc_offset':'Z','days':['mon','mon'],'start':'08:00','end':'18:00'}"),
	 "policies/risk.json: business_hours.days[1]: day 'mon' listed twice"},
	{'r', HOURS("{'utc_offset':'Z','days':['mon'],'start':'8:00','end':'18:00'}"),
	 "policies/risk.json: business_hours.start: invalid time '8:00' (HH:MM, 00:00 to 24:00)"},
	{'r', HOURS("{'utc_offset':'Z','days':['mon'],'start':'18:00','end':'08:00'}"),
	 "policies/risk.json: business_hours.end: must be after start (18:00)"},
	{'r', HOURS("{'utc_offset':'Z','days':['mon'],'start':'08:00'}"),
	 "policies/risk.json: business_hours: missing key 'end'"},
	{'r', HIST("{'prior':{'failures':-1,'successes':9}}"),
	 "policies/risk.json: history.prior.failures: expected a number from 0 to 1000000"},
	{'r', HIST("{'prior':{'failures':0,'successes':0}}"),
	 "policies/risk.json: history.prior: failures + successes must be positive"},
	{'r', HIST("{'window':'90 days'}"),
	 "policies/risk.json: history.window: invalid duration '90 days' (e.g. \"30m\", \"4h\", "
	 "\"3d\", \"1h30m\")"},
	{'r', HIST("{'window':'30m1h'}"),
	 "policies/risk.json: history.window: invalid duration '30m1h' (e.g. \"30m\", \"4h\", "
	 "\"3d\", \"1h30m\")"},
	{'r', HIST("{'window':0}"),
	 "policies/risk.json: history.window: must be positive and at most 366 days"},
	/* approvals.json */
	{'a', "{'rules':[]}", "policies/approvals.json: missing key 'defaults'"},
	{'a', "{'defaults':{'expires_after':'72h'},'rules':[]}",
	 "policies/approvals.json: defaults: missing key 'expiry_event'"},
	{'a', APPR(RULE("{'group':'cab','service_owners':true,'quorum':1}")),
	 "policies/approvals.json: rules[0].require[0]: give either 'group' or 'service_owners', "
	 "not "
	 "both"},
	{'a', APPR(RULE("{'quorum':1}")),
	 "policies/approvals.json: rules[0].require[0]: missing key 'group'"},
	{'a', APPR(RULE("{'group':'cab','quorum':0}")),
	 "policies/approvals.json: rules[0].require[0].quorum: must be between 1 and 1000"},
	{'a', APPR(RULE("{'group':'cab','quorum':1},{'group':'cab','quorum':2}")),
	 "policies/approvals.json: rules[0].require[1]: group 'cab' is already required at "
	 "rules[0].require[0]"},
	{'a', APPR(RULE("")),
	 "policies/approvals.json: rules[0].require: at least one group is required"},
	{'a', APPR(RULE("{'group':'cab','quorum':1}") "," RULE("{'group':'cab','quorum':1}")),
	 "policies/approvals.json: rules[1].id: rule 'r' is already defined at rules[0]"},
	{'a', APPR("{'id':'r','when':'risk.lvl == `low`','require':[{'group':'cab','quorum':1}]}"),
	 "policies/approvals.json: rules[0].when: column 1: unknown field 'risk.lvl'"},
	{'a',
	 APPR("{'id':'r','when':'true','expires_after':'3 "
	      "days','require':[{'group':'cab','quorum':1}]}"),
	 "policies/approvals.json: rules[0].expires_after: invalid duration '3 days' (e.g. "
	 "\"30m\", "
	 "\"4h\", \"3d\", \"1h30m\")"},
	{'a',
	 "{'defaults':{'expires_after':'72h','expiry_event':'expire'},'rules':[],"
	 "'segregation_of_duties':{'four_eyes':true}}",
	 "policies/approvals.json: segregation_of_duties: unknown key 'four_eyes'"},
	{'a',
	 "{'defaults':{'expires_after':'72h','expiry_event':'expire'},'rules':[],"
	 "'segregation_of_duties':{'one_vote_per_person':'yes'}}",
	 "policies/approvals.json: segregation_of_duties.one_vote_per_person: expected a boolean"},
	{'a',
	 "{'defaults':{'expires_after':'72h','expiry_event':'expire'},'rules':[],"
	 "'break_glass':{'group':'cab','when':'history.failure_rate < 0.5'}}",
	 "policies/approvals.json: break_glass.when: column 1: unknown field "
	 "'history.failure_rate'"},
	/* templates.json */
	{'t', TPL(T1("t", "'web'") "," T1("t", "'db'")),
	 "policies/templates.json: templates[1].id: template 't' is already defined at "
	 "templates[0]"},
	{'t', TPL(T1("t", "")),
	 "policies/templates.json: templates[0].services: at least one service is required"},
	{'t', TPL(T1("t", "'web','web'")),
	 "policies/templates.json: templates[0].services[1]: service 'web' listed twice"},
	{'t', TPL("{'id':'t','title':'T','services':['web']}"),
	 "policies/templates.json: templates[0]: missing key 'max_duration'"},
	{'t',
	 TPL("{'id':'t','title':'T','services':['web'],'max_duration':'1h',"
	     "'preapproved_while':'services.count < 2'}"),
	 "policies/templates.json: templates[0].preapproved_while: column 1: unknown field "
	 "'services.count'"},
	/* across files, with the small catalog */
	{'A', APPR(RULE("{'group':'cabb','quorum':1}")),
	 "policies/approvals.json: rules[0].require[0].group: unknown group 'cabb'"},
	{'A', APPR(RULE("{'group':'cab','quorum':4}")),
	 "policies/approvals.json: rules[0].require[0].quorum: quorum 4 exceeds the 3 members of "
	 "group 'cab'"},
	{'A', APPR(RULE("{'service_owners':true,'quorum':1}")),
	 "policies/approvals.json: rules[0].require[0]: no group for team 'web-team', which owns "
	 "service 'web'"},
	{'A',
	 "{'defaults':{'expires_after':'72h','expiry_event':'expire'},'rules':[],"
	 "'break_glass':{'group':'managers'}}",
	 "policies/approvals.json: break_glass.group: unknown group 'managers'"},
	{'T', TPL(T1("t", "'web','webb'")),
	 "policies/templates.json: templates[0].services[1]: unknown service 'webb'"},
};

static void test_validation_errors(void)
{
	struct policy_catalog *cat = small_catalog();

	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		struct diags d = {0};
		char *text = tw_json(c->src);
		void *part = NULL;
		struct policy_set *set = NULL;
		switch (c->which) {
		case 'p':
			part = policy_parse_people("policies/people.json", text, strlen(text), &d);
			policy_people_free(part);
			break;
		case 'r':
			part = policy_parse_risk("policies/risk.json", text, strlen(text), &d);
			policy_risk_free(part);
			break;
		case 'a':
			part = policy_parse_approvals("policies/approvals.json", text, strlen(text),
						      &d);
			policy_approvals_free(part);
			break;
		case 't':
			part = policy_parse_templates("policies/templates.json", text, strlen(text),
						      &d);
			policy_templates_free(part);
			break;
		case 'A':
			set = build(NULL, NULL, c->src, NULL, cat, &d);
			break;
		default:
			set = build(NULL, NULL, NULL, c->src, cat, &d);
			break;
		}
		CHECKF(part == NULL && set == NULL, "case %zu: accepted", i);
		CHECKF(d.n == 1 && tw_has_line(&d, c->want), "case %zu: %zu diagnostics, first: %s",
		       i, d.n, tw_diag(&d, 0));
		policy_free(set);
		free(text);
		diags_clear(&d);
	}
	catalog_free(cat);
}

/* Every error of a file is reported, and the other files are still parsed. */
static void test_all_errors_at_once(void)
{
	struct diags d = {0};
	char *text = tw_json(PEOPLE("{'name':'a b','display_name':'A','email':'nope'}",
				    "{'name':'cab','members':['zed']},{'name':'X'}"));
	struct policy_people *p =
		policy_parse_people("policies/people.json", text, strlen(text), &d);

	CHECK(p == NULL);
	CHECKF(d.n == 5, "%zu", d.n);
	CHECK(tw_has(&d, "users[0].name", "invalid user name"));
	CHECK(tw_has(&d, "users[0].email", "invalid e-mail address"));
	CHECK(tw_has(&d, "groups[0].members[0]", "unknown user 'zed'"));
	CHECK(tw_has(&d, "groups[1].name", "invalid group name"));
	CHECK(tw_has(&d, "groups[1]", "missing key 'members'"));
	free(text);
	diags_clear(&d);

	/* the loader: each file's errors, from a directory */
	char dir[] = "/tmp/policy-test-XXXXXX", path[96];
	const char *files[] = {"people.json", "risk.json", "approvals.json"};
	const char *texts[] = {"{\"users\": [], \"groups\": [], \"x\": 1}",
			       "{\"factors\": [], \"levels\": []}", "{\"rules\": []}"};
	CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		FILE *f = fopen(path, "w");
		if (f != NULL) {
			fputs(texts[i], f);
			fclose(f);
		}
	}
	CHECK(policy_load_dir(dir, NULL, &d) == NULL);
	CHECKF(d.n == 3, "%zu", d.n);
	snprintf(path, sizeof path, "%s/approvals.json: missing key 'defaults'", dir);
	CHECK(tw_has_line(&d, path));
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	diags_clear(&d);
}

/* ---- workflow actions and the dry run ------------------------------------------------- */

static void test_actions(void)
{
	load_shipped();
	json_t *change = change_with("{'id':'CHG-9','requester':'grossi','services':['payments'],"
				     "'rollback_plan':'','test_evidence':''}");
	json_t *risk = NULL, *appr = NULL, *effects = json_array();
	json_t *p_assess = J("{'action':'assess_risk'}");
	json_t *p_request = J("{'action':'request_approvals','board':'cab'}");
	struct wf_ctx ctx = {.record = change, .actor = "grossi", .now = T_NOW};
	struct wf_act act = {.ctx = &ctx,
			     .kind = "change",
			     .record = change,
			     .params = p_assess,
			     .risk = &risk,
			     .approvals = &appr,
			     .state = "assess",
			     .event = "submit",
			     .actor = "grossi",
			     .effects = effects};

	/* without the extension: nothing happens */
	CHECK(policy_act_assess_risk(&act) == 0 && risk == NULL);
	act.params = p_request;
	CHECK(policy_act_request_approvals(&act) == 0 && appr == NULL);
	CHECK_INT(json_array_size(effects), 0);

	struct policy_ext ext = {.set = set_shipped, .catalog = cat_shipped};
	ctx.ext = &ext;
	act.params = p_assess;
	CHECK(policy_act_assess_risk(&act) == 0);
	CHECK_INT(json_integer_value(json_object_get(risk, "score")), 60);
	CHECK_STR(json_string_value(json_object_get(risk, "level")), "high");
	json_t *note = json_array_get(effects, 0);
	CHECK_STR(json_string_value(json_object_get(note, "text")),
		  "risk high (score 60): critical-service +25, no-rollback-plan +20, "
		  "no-test-evidence +15");
	CHECK_STR(json_string_value(json_object_get(note, "state")), "assess");

	act.params = p_request;
	act.state = "authorize";
	CHECK(policy_act_request_approvals(&act) == 0);
	CHECK(json_is_false(json_object_get(appr, "satisfied")));
	CHECK(json_is_false(json_object_get(appr, "rejected")));
	CHECK_STR(json_string_value(json_object_get(appr, "board")), "cab");
	CHECK_INT(json_integer_value(json_object_get(appr, "requested_at")), T_NOW);
	CHECK_INT(json_integer_value(json_object_get(appr, "expires_at")), T_NOW + 259200);
	CHECK_STR(groups_text(json_object_get(appr, "required")), "cab:3,payments-team:1");
	CHECK_INT(json_array_size(json_object_get(appr, "groups")), 2);
	json_t *timer = json_array_get(effects, 1);
	CHECK_STR(json_string_value(json_object_get(timer, "type")), "timer_arm");
	CHECK_STR(json_string_value(json_object_get(timer, "event")), "expire");
	CHECK_STR(json_string_value(json_object_get(timer, "state")), "authorize");
	CHECK_INT(json_integer_value(json_object_get(timer, "due")), T_NOW + 259200);
	CHECK_STR(json_string_value(json_object_get(json_array_get(effects, 2), "text")),
		  "approvals requested: cab (quorum 3), payments-team (quorum 1); rules: cab-high");

	/* an evaluation error fails the action with a message */
	json_object_set_new(change, "title", json_integer(5));
	struct diags d = {0};
	struct policy_set *bad =
		build(NULL, RISK(FACTOR("t", "change.title > `a`")), NULL, NULL, NULL, &d);
	ext.set = bad;
	act.params = p_assess;
	CHECK(bad != NULL && policy_act_assess_risk(&act) == -1);
	CHECK_STR(act.err, "risk factor 't': when: column 14: cannot compare number with string");
	policy_free(bad);
	diags_clear(&d);

	json_decref(risk);
	json_decref(appr);
	json_decref(effects);
	json_decref(p_assess);
	json_decref(p_request);
	json_decref(change);
}

static void test_simulate(void)
{
	load_shipped();
	json_t *change = change_with("{'type':'standard','template':'search-index-rebuild',"
				     "'services':['search'],'duration':'PT3H'}");
	json_t *s = policy_simulate(set_shipped, cat_shipped, change, NULL);

	CHECK(s != NULL);
	CHECK_INT(json_integer_value(json_object_get(json_object_get(s, "risk"), "score")), 10);
	CHECK(json_is_true(json_object_get(json_object_get(s, "approvals"), "unmatched")));
	json_t *t = json_object_get(s, "template");
	CHECK(json_is_false(json_object_get(t, "preapproved")));
	CHECK_STR(json_string_value(json_object_get(t, "reason")),
		  "duration 3h exceeds the maximum 2h of template 'search-index-rebuild'");
	CHECK_INT(json_array_size(json_object_get(s, "errors")), 0);
	CHECK_STR(json_string_value(json_object_get(s, "policy_version")),
		  policy_version(set_shipped));
	json_decref(s);
	json_decref(change);

	/* a draft whose fields break an expression still gets an answer */
	change = J("{'type':'normal','services':'payments','rollback_plan':7}");
	s = policy_simulate(set_shipped, cat_shipped, change, NULL);
	CHECK(s != NULL && json_is_null(json_object_get(s, "risk")));
	CHECK_STR(json_string_value(json_array_get(json_object_get(s, "errors"), 0)),
		  "risk: risk factor 'no-rollback-plan': when: column 1: len() needs a string or "
		  "list, "
		  "got number");
	CHECK_STR(groups_text(json_object_get(s, "approvals")), "cab:3,payments-team:1");
	json_decref(s);
	json_decref(change);
}

static void test_free_null(void)
{
	struct diags d = {0};

	policy_free(NULL); /* no-ops */
	policy_people_free(NULL);
	policy_risk_free(NULL);
	policy_approvals_free(NULL);
	policy_templates_free(NULL);
	/* a missing part: one error, and the others are freed */
	char *text = tw_json(R0);
	struct policy_risk *r = policy_parse_risk("policies/risk.json", text, strlen(text), &d);
	CHECK(r != NULL);
	CHECK(policy_set_new(NULL, r, NULL, NULL, NULL, &d) == NULL);
	CHECK_STR(tw_diag(&d, 0), "policies: people, risk and approvals are required");
	free(text);
	diags_clear(&d);
}

TESTS(test_shipped_loads_clean, test_version_canonical, test_missing_files, test_people_lookups,
      test_risk_factors_table, test_risk_explanation, test_risk_thresholds_and_rounding,
      test_risk_eval_errors, test_history_smoothing, test_expr_fields_known,
      test_approvals_routing_table, test_approvals_required_details,
      test_approvals_merge_and_warnings, test_vote_allowed, test_vote_sod_off,
      test_vote_editors_and_ownership, test_tally_table, test_vote_then_tally_shipped,
      test_break_glass, test_templates, test_validation_errors, test_all_errors_at_once,
      test_actions, test_simulate, test_free_null)
