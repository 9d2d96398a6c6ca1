/*
 * test_wf.c -- workflow definitions: loading the shipped workflows, every validation
 * error class and its exact message, the set checks, selection, introspection, DOT.
 * Firing events is tested in test_wf_engine.c.  Run from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "test_wf_util.h"
#include "wf/wf_action.h"

/* A small valid change workflow; tests append or vary parts of it. */
#define STATES_AB "'states':{'a':{},'b':{'final':true}}"

static const char *const shipped[] = {"change-emergency", "change-normal", "change-standard",
				      "incident", "problem"};

static void test_shipped_load_clean(void)
{
	struct diags d = {0};
	struct wf_set *set = wf_set_load_dir("workflows", &d);

	CHECKF(set != NULL && d.n == 0, "%zu diagnostics, first: %s", d.n, tw_diag(&d, 0));
	if (set != NULL) {
		CHECK_INT(wf_set_count(set), 5);
		for (size_t i = 0; i < 5 && i < wf_set_count(set); i++) {
			const struct wf *wf = wf_set_at(set, i);
			CHECK_STR(wf_name(wf), shipped[i]);
			CHECK_INT(strlen(wf_version_hex(wf)), 16);
			CHECK(wf_version(wf) != 0);
		}
		CHECK_STR(wf_kind(wf_set_find(set, "incident")), "incident");
		CHECK_STR(wf_kind(wf_set_find(set, "problem")), "problem");
		CHECK_STR(wf_kind(wf_set_find(set, "change-normal")), "change");
		CHECK_STR(wf_file(wf_set_find(set, "change-normal")),
			  "workflows/change-normal.json");
		CHECK(wf_set_find(set, "nope") == NULL);
	}
	wf_set_free(set);
	diags_clear(&d);
}

static void test_shipped_each_has_final_and_initial(void)
{
	struct diags d = {0};
	struct wf_set *set = wf_set_load_dir("workflows/", &d);

	CHECK(set != NULL);
	for (size_t i = 0; set != NULL && i < wf_set_count(set); i++) {
		const struct wf *wf = wf_set_at(set, i);
		size_t finals = 0;
		for (size_t s = 0; s < wf_state_count(wf); s++)
			finals += wf_state_final(wf, wf_state_name(wf, s));
		CHECKF(finals > 0, "%s has no final state", wf_name(wf));
		CHECK(wf_state_exists(wf, wf_initial(wf)));
		CHECK(!wf_state_final(wf, wf_initial(wf)));
		/* trailing slash is not doubled in file names */
		CHECK(strstr(wf_file(wf), "//") == NULL);
	}
	wf_set_free(set);
	diags_clear(&d);
}

static void test_version_canonical(void)
{
	struct diags d = {0};
	const char *a = "{'kind':'change','initial':'a'," STATES_AB ","
			"'transitions':[{'event':'go','from':'a','to':'b','roles':['cab']}]}";
	const char *b = "{ 'transitions' : [ {'to':'b','roles':['cab'],'event':'go','from':'a'} ],"
			"\n 'initial':'a', 'kind':'change', " STATES_AB "}";
	const char *c = "{'kind':'change','initial':'a'," STATES_AB ","
			"'transitions':[{'event':'go','from':'a','to':'b','roles':['admin']}]}";
	struct wf *wa = tw_parse(a, &d), *wb = tw_parse(b, &d), *wc = tw_parse(c, &d);

	CHECK(wa != NULL && wb != NULL && wc != NULL);
	if (wa != NULL && wb != NULL && wc != NULL) {
		CHECK(wf_version(wa) == wf_version(wb));
		CHECK(wf_version(wa) != wf_version(wc));
		char hex[17];
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)wf_version(wa));
		CHECK_STR(wf_version_hex(wa), hex);
	}
	wf_free(wa);
	wf_free(wb);
	wf_free(wc);
	diags_clear(&d);
}

static void test_error_format_exact(void)
{
	struct diags d = {0};
	/* transitions[3].when has 'risk.lvl' at column 12 */
	const char *src = "{'kind':'change','initial':'a'," STATES_AB ",'transitions':["
			  "{'event':'e0','from':'a','to':'b','roles':['cab']},"
			  "{'event':'e1','from':'a','to':'b','roles':['cab']},"
			  "{'event':'e2','from':'a','to':'b','roles':['cab']},"
			  "{'event':'e3','from':'a','to':'b','roles':['cab'],"
			  " 'when':'(1 < 2) && risk.lvl == `low`'}]}";
	struct wf *wf = tw_parse_as("change-normal", src, &d);

	CHECK(wf == NULL);
	CHECK_INT(d.n, 1);
	CHECK_STR(tw_diag(&d, 0), "workflows/change-normal.json: transitions[3].when: column 12: "
				  "unknown field 'risk.lvl'");
	CHECK_INT(d.v[0].column, 12);
	CHECK_STR(d.v[0].path, "transitions[3].when");

	/* without a column, and without a path */
	struct diag g1 = {"f.json", "states.x", 0, "boom"}, g2 = {"f.json", "", 0, "whole"};
	char buf[64];
	diag_format(&g1, buf, sizeof buf);
	CHECK_STR(buf, "f.json: states.x: boom");
	diag_format(&g2, buf, sizeof buf);
	CHECK_STR(buf, "f.json: whole");
	CHECK_INT(diag_format(&g1, NULL, 0), (int)strlen("f.json: states.x: boom"));

	char *all = diags_join(&d);
	CHECK(all != NULL && strcmp(all, "workflows/change-normal.json: transitions[3].when: "
					 "column 12: unknown field 'risk.lvl'\n") == 0);
	free(all);
	wf_free(wf);
	diags_clear(&d);
}

static void test_error_unknown_state(void)
{
	struct diags d = {0};
	const char *src = "{'kind':'change','initial':'z'," STATES_AB ",'transitions':["
			  "{'event':'go','from':['a','q'],'to':'b','roles':['cab']},"
			  "{'event':'go2','from':'a','to':'w','roles':['cab']}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: initial: unknown state 'z'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].from[1]: unknown state 'q'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[1].to: unknown state 'w'"));
	if (harness_failures_in_test != 0)
		tw_dump(&d);
	diags_clear(&d);
}

static void test_error_unreachable_state(void)
{
	struct diags d = {0};
	const char *src = "{'kind':'change','initial':'a',"
			  "'states':{'a':{},'b':{'final':true},'island':{}},'transitions':["
			  "{'event':'go','from':'a','to':'b','roles':['cab']},"
			  "{'event':'out','from':'island','to':'b','roles':['cab']}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK_INT(d.n, 1);
	CHECK_STR(tw_diag(&d, 0), "workflows/t.json: states.island: state 'island' is "
				  "unreachable from initial state 'a'");
	diags_clear(&d);
}

static void test_error_no_path_to_final(void)
{
	struct diags d = {0};
	const char *src = "{'kind':'change','initial':'a',"
			  "'states':{'a':{},'b':{'final':true},'trap':{}},'transitions':["
			  "{'event':'go','from':'a','to':'b','roles':['cab']},"
			  "{'event':'fall','from':'a','to':'trap','roles':['cab']}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK_INT(d.n, 1);
	CHECK_STR(tw_diag(&d, 0),
		  "workflows/t.json: states.trap: no path from state 'trap' to a final state");
	diags_clear(&d);

	/* no final state at all */
	wf = tw_parse("{'kind':'change','initial':'a','states':{'a':{},'b':{}},'transitions':["
		      "{'event':'go','from':'a','to':'b','roles':['cab']}]}",
		      &d);
	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: states: no final state"));
	diags_clear(&d);
}

static void test_error_ambiguous(void)
{
	struct diags d = {0};
	/* [0] and [1]: both unguarded; [2] after unguarded [0]; [3] vs [4]: same guard */
	const char *src = "{'kind':'change','initial':'a',"
			  "'states':{'a':{},'b':{'final':true},'c':{}},'transitions':["
			  "{'event':'go','from':'a','to':'b','roles':['cab']},"
			  "{'event':'go','from':['c','a'],'to':'c','roles':['cab']},"
			  "{'event':'go','from':'a','to':'c','roles':['cab'],'when':'1 == 1'},"
			  "{'event':'hop','from':'c','to':'b','roles':['cab'],'when':'1 == 1'},"
			  "{'event':'hop','from':'c','to':'a','roles':['cab'],'when':'1 == 1'}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[1]: ambiguous: transitions[0] "
			      "already takes event 'go' from state 'a' without a guard"));
	CHECK(tw_has(&d, "transitions[2]", "transitions[0] already takes event 'go'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[4]: ambiguous: transitions[3] has "
			      "the same guard from state 'c'"));
	CHECK_INT(d.n, 4); /* [2] is also shadowed by... only [0]: [1] is from a too */
	if (harness_failures_in_test != 0)
		tw_dump(&d);
	diags_clear(&d);

	/* guarded first, unguarded fallback last: fine */
	wf = tw_parse("{'kind':'change','initial':'a'," STATES_AB ",'transitions':["
		      "{'event':'go','from':'a','to':'b','roles':['cab'],'when':'1 == 2'},"
		      "{'event':'go','from':'a','to':'b','roles':['admin']}]}",
		      &d);
	CHECK(wf != NULL);
	CHECK_INT(d.n, 0);
	wf_free(wf);
	diags_clear(&d);

	/* two unguarded auto transitions, and an event both auto and by hand */
	wf = tw_parse("{'kind':'change','initial':'a',"
		      "'states':{'a':{},'b':{'final':true},'c':{'final':true}},'transitions':["
		      "{'event':'x','from':'a','to':'b','auto':true},"
		      "{'event':'y','from':'a','to':'c','auto':true},"
		      "{'event':'x','from':'a','to':'c','roles':['cab']}]}",
		      &d);
	CHECK(wf == NULL);
	CHECK(tw_has(&d, "transitions[1]", "already takes an auto transition from state 'a'"));
	CHECK(tw_has(&d, "transitions[2]", "event 'x' from state 'a' is auto"));
	diags_clear(&d);
}

static void test_error_roles(void)
{
	struct diags d = {0};
	const char *src = "{'kind':'change','initial':'a',"
			  "'states':{'a':{},'b':{},'c':{'final':true}},'transitions':["
			  "{'event':'go','from':'a','to':'b','roles':['cab','wizard']},"
			  "{'event':'up','from':'b','to':'c','auto':true,'roles':['cab']},"
			  "{'event':'stop','from':'a','to':'c'},"
			  "{'event':'halt','from':'a','to':'c','roles':[]}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].roles[1]: unknown role 'wizard'"));
	CHECK(tw_has(&d, "transitions[1].roles", "auto transitions are taken by 'system'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[2]: missing key 'roles'"));
	CHECK(tw_has(&d, "transitions[3].roles", "non-empty array of roles"));
	CHECK_INT(d.n, 4);
	diags_clear(&d);
}

static void test_error_actions(void)
{
	struct diags d = {0};
	const char *src =
		"{'kind':'change','initial':'a',"
		"'states':{'a':{'on_enter':[{'action':'launch_rockets'}]},'b':{'final':true,"
		"'on_enter':[{'action':'emit','event':7},{'text':'no name'}]}},"
		"'transitions':[{'event':'go','from':'a','to':'b','roles':['cab'],'actions':["
		"{'action':'set_field','field':'title'},"
		"{'action':'set_field','field':'colour','value':1},"
		"{'action':'set_field','field':'state','value':'b'},"
		"{'action':'note','text':'hi','volume':11},"
		"{'action':'open_review'},"
		"'note']}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.on_enter[0].action: "
			      "unknown action 'launch_rockets'"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.b.on_enter[0].event: "
			      "expected a non-empty string"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.b.on_enter[1]: missing key 'action'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].actions[0]: "
			      "action 'set_field' needs parameter 'value'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].actions[1].field: "
			      "unknown change field 'colour'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].actions[2].field: "
			      "field 'state' is set only by transom"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].actions[3]: "
			      "action 'note' has no parameter 'volume'"));
	CHECK(tw_has(&d, "transitions[0].actions[4]", "needs parameter 'reason'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].actions[5]: expected an object"));
	CHECK_INT(d.n, 9);
	if (harness_failures_in_test != 0)
		tw_dump(&d);
	diags_clear(&d);
}

static void test_error_expressions(void)
{
	struct diags d = {0};
	const char *src =
		"{'kind':'incident','initial':'a','applies_to':'incident.priority ==',"
		"'states':{'a':{'timers':[{'after':'incident.bogus * 2','event':'t'}]},"
		"'b':{'final':true}},'transitions':["
		"{'event':'go','from':'a','to':'b','roles':['cab'],'when':'risk.level == `low`'},"
		"{'event':'t','from':'a','to':'a','roles':['system'],'when':'1 +* 2'},"
		"{'event':'u','from':'a','to':'b','roles':['cab'],'when':'nosuch(1)'}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	/* risk.* is a change path, not an incident one */
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].when: column 1: "
			      "unknown field 'risk.level'"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.timers[0].after: column 1: "
			      "unknown field 'incident.bogus'"));
	CHECK(tw_has(&d, "applies_to", "end of expression"));
	for (size_t i = 0; i < d.n; i++) {
		if (strcmp(d.v[i].path, "transitions[1].when") == 0)
			CHECK_INT(d.v[i].column, 4);
		if (strcmp(d.v[i].path, "applies_to") == 0)
			CHECK(d.v[i].column > 0);
	}
	CHECK(tw_has(&d, "transitions[1].when", ""));
	CHECK(tw_has(&d, "transitions[2].when", "unknown function 'nosuch'"));
	CHECK_INT(d.n, 5);
	if (harness_failures_in_test != 0)
		tw_dump(&d);
	diags_clear(&d);
}

static void test_error_wrong_types(void)
{
	struct diags d = {0};
	const char *src =
		"{'kind':'change','initial':'a','description':5,'applies_to':7,"
		"'states':{'a':{'final':'no','editable':'title','on_enter':{},"
		"'timers':[{'after':-5,'event':'t'},{'after':true,'event':'t'},"
		"{'after':'0h','event':'t'}]},"
		"'b':{'final':true,'editable':['title',3]},'c':[]},"
		"'transitions':[{'event':'go','from':7,'to':['b'],'roles':'cab','auto':'yes'},"
		"{'event':'t','from':'a','to':'b','roles':['system'],'required':'title'},"
		"5]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: description: expected a non-empty string"));
	CHECK(tw_has(&d, "applies_to", "expected an object of field values or an expression"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.final: expected a boolean"));
	CHECK(tw_has(&d, "states.a.editable", "expected an array of field names"));
	CHECK(tw_has(&d, "states.a.on_enter", "expected an array of actions"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.timers[0].after: must be positive"));
	CHECK(tw_has(&d, "states.a.timers[1].after", "expected seconds"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.timers[2].after: must be positive"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.b.editable[1]: expected a field name"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.c: expected an object"));
	CHECK(tw_has(&d, "transitions[0].from", "expected a state name or a non-empty array"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].to: expected a state name"));
	CHECK(tw_has(&d, "transitions[0].roles", "expected a non-empty array of roles"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].auto: expected a boolean"));
	CHECK(tw_has(&d, "transitions[1].required", "expected an array of field names"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[2]: expected an object"));
	if (harness_failures_in_test != 0)
		tw_dump(&d);
	diags_clear(&d);

	/* top level: not an object; states and transitions of the wrong shape */
	wf = tw_parse("['a']", &d);
	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: expected a JSON object"));
	diags_clear(&d);
	wf = tw_parse("{'kind':'change','initial':'a','states':{},'transitions':{}}", &d);
	CHECK(wf == NULL);
	CHECK(tw_has(&d, "states", "expected a non-empty object of states"));
	CHECK(tw_has(&d, "transitions", "expected an array of transitions"));
	diags_clear(&d);
}

static void test_error_missing_keys(void)
{
	struct diags d = {0};
	struct wf *wf = tw_parse("{'transitions':[{'roles':['cab']},"
				 "{'event':'x','to':'b','roles':['cab']}]}",
				 &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: missing key 'kind'"));
	CHECK(tw_has_line(&d, "workflows/t.json: missing key 'initial'"));
	CHECK(tw_has_line(&d, "workflows/t.json: missing key 'states'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0]: missing key 'event'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0]: missing key 'from'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0]: missing key 'to'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[1]: missing key 'from'"));
	diags_clear(&d);

	wf = tw_parse("{'kind':'change','initial':'a','states':{'a':{'final':true}}}", &d);
	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: missing key 'transitions'"));
	diags_clear(&d);

	wf = tw_parse("{'kind':'change','initial':'a','states':{'a':{'timers':[{}]},"
		      "'b':{'final':true}},'transitions':["
		      "{'event':'go','from':'a','to':'b','roles':['cab']}]}",
		      &d);
	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.timers[0]: missing key 'event'"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.timers[0]: missing key 'after'"));
	diags_clear(&d);
}

static void test_error_names_and_keys(void)
{
	struct diags d = {0};
	const char *src = "{'name':'other','kind':'widget','initial':'a','colour':'red',"
			  "'states':{'a':{'size':1},'B b':{},'b':{'final':true}},"
			  "'transitions':[{'event':'Go!','from':'a','to':'b','roles':['cab'],"
			  "'form':'a'},"
			  "{'event':'g','from':['a','a'],'to':'b','roles':['cab'],'guard':'x'}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: name: name 'other' differs from the file's 't'"));
	CHECK(tw_has(&d, "kind", "unknown kind 'widget'"));
	CHECK(tw_has_line(&d, "workflows/t.json: unknown key 'colour'"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.a: unknown key 'size'"));
	CHECK(tw_has(&d, "states.B b", "invalid state name"));
	CHECK(tw_has(&d, "transitions[0].event", "invalid event name 'Go!'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0]: unknown key 'form'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[1].from[1]: state 'a' listed twice"));
	CHECK(tw_has(&d, "transitions[1].guard", "needs a 'when' expression"));
	if (harness_failures_in_test != 0)
		tw_dump(&d);
	diags_clear(&d);

	/* duplicate keys are refused by the JSON parser, with line and column */
	wf = tw_parse("{'kind':'change',\n'kind':'incident'}", &d);
	CHECK(wf == NULL);
	CHECK_INT(d.n, 1);
	CHECK(strstr(tw_diag(&d, 0), "workflows/t.json: line 2: column ") == tw_diag(&d, 0));
	CHECK(strstr(tw_diag(&d, 0), "duplicate object key") != NULL);
	diags_clear(&d);
}

static void test_error_invalid_json(void)
{
	struct diags d = {0};
	struct wf *wf = tw_parse("{\n  'kind': 'change',\n  'initial': }", &d);

	CHECK(wf == NULL);
	CHECK_INT(d.n, 1);
	CHECK_STR(d.v[0].path, "line 3");
	CHECK(d.v[0].column > 0);
	CHECK(strncmp(d.v[0].message, "invalid json: ", 14) == 0);
	diags_clear(&d);

	wf = wf_parse("workflows/t.json", "", 0, &d);
	CHECK(wf == NULL);
	CHECK_INT(d.n, 1);
	CHECK(strstr(d.v[0].message, "invalid json") != NULL);
	diags_clear(&d);
}

static void test_error_fields(void)
{
	struct diags d = {0};
	const char *src = "{'kind':'problem','initial':'a','applies_to':{'type':'normal'},"
			  "'states':{'a':{'editable':['title','state','services']},"
			  "'b':{'final':true}},'transitions':["
			  "{'event':'go','from':'a','to':'b','roles':['cab'],"
			  "'required':['fix_change','id','priority']}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: applies_to.type: unknown problem field 'type'"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.editable[1]: "
			      "field 'state' is set only by transom"));
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.editable[2]: "
			      "unknown problem field 'services'"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].required[1]: "
			      "field 'id' is set only by transom"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0].required[2]: "
			      "unknown problem field 'priority'"));
	CHECK_INT(d.n, 5);
	diags_clear(&d);
}

static void test_error_timers(void)
{
	struct diags d = {0};
	const char *src = "{'kind':'change','initial':'a',"
			  "'states':{'a':{'timers':[{'after':'1h','event':'ping'},"
			  "{'after':60,'event':'nudge'}]},'b':{'final':true}},"
			  "'transitions':[{'event':'go','from':'a','to':'b','roles':['cab']},"
			  "{'event':'nudge','from':'a','to':'b','roles':['cab']}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: states.a.timers[0].event: no transition takes "
			      "event 'ping' from state 'a' for role 'system'"));
	/* nudge exists but role system may not fire it */
	CHECK(tw_has(&d, "states.a.timers[1].event", "event 'nudge'"));
	CHECK_INT(d.n, 2);
	diags_clear(&d);
}

static void test_error_auto_loop_and_final(void)
{
	struct diags d = {0};
	const char *src = "{'kind':'change','initial':'a',"
			  "'states':{'a':{},'b':{},'c':{},'z':{'final':true}},'transitions':["
			  "{'event':'ab','from':'a','to':'b','auto':true},"
			  "{'event':'bc','from':'b','to':'c','auto':true},"
			  "{'event':'ca','from':'c','to':'a','auto':true},"
			  "{'event':'out','from':'a','to':'z','roles':['cab']},"
			  "{'event':'back','from':'z','to':'a','roles':['cab']}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[0]: auto transitions loop from "
			      "state 'a' back to it without a guard"));
	CHECK(tw_has_line(&d, "workflows/t.json: transitions[4].from: state 'z' is final"));
	CHECK_INT(d.n, 2); /* the loop is reported once, not once per state */
	if (harness_failures_in_test != 0)
		tw_dump(&d);
	diags_clear(&d);
}

static void test_several_errors_at_once(void)
{
	struct diags d = {0};
	const char *src =
		"{'kind':'change','initial':'a',"
		"'states':{'a':{},'b':{'final':true},'lost':{'final':true}},"
		"'transitions':["
		"{'event':'go','from':'a','to':'b','roles':['cab','nobody']},"
		"{'event':'x','from':'a','to':'b','roles':['cab'],"
		"'actions':[{'action':'teleport'}]},"
		"{'event':'y','from':'a','to':'b','roles':['cab'],'when':'change.nope'}]}";
	struct wf *wf = tw_parse(src, &d);

	CHECK(wf == NULL);
	CHECK_INT(d.n, 4);
	CHECK(tw_has(&d, "transitions[0].roles[1]", "unknown role 'nobody'"));
	CHECK(tw_has(&d, "transitions[1].actions[0].action", "unknown action 'teleport'"));
	CHECK(tw_has(&d, "transitions[2].when", "unknown field 'change.nope'"));
	CHECK(tw_has(&d, "states.lost", "unreachable"));
	char *all = diags_join(&d);
	size_t lines = 0;
	for (const char *p = all; p != NULL && *p != '\0'; p++)
		lines += *p == '\n';
	CHECK_INT(lines, 4);
	free(all);
	diags_clear(&d);
}

/* Writes `src` (test quoting) as dir/name. */
static void write_file(const char *dir, const char *name, const char *src)
{
	char path[512];
	char *text = tw_json(src);

	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(text);
}

static void rm_dir(const char *dir, const char *const *names)
{
	char path[512];

	for (size_t i = 0; names[i] != NULL; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void test_load_dir_reports_all_files(void)
{
	char dir[] = "/tmp/test_wf_XXXXXX";
	static const char *const names[] = {"b-bad.json", "a-bad.json", "notes.txt", "ok.json",
					    NULL};
	struct diags d = {0};

	CHECK(mkdtemp(dir) != NULL);
	write_file(dir, "b-bad.json", "{'kind':'change'}");
	write_file(dir, "a-bad.json", "{'kind':'nope',");
	write_file(dir, "notes.txt", "not json at all");
	write_file(dir, "ok.json",
		   "{'kind':'problem','initial':'a','states':{'a':{'final':true}},"
		   "'transitions':[]}");
	struct wf_set *set = wf_set_load_dir(dir, &d);
	CHECK(set == NULL);
	CHECK(d.n >= 3);
	/* sorted by file: a-bad first */
	CHECK(d.n > 0 && strstr(d.v[0].file, "/a-bad.json") != NULL);
	CHECK(d.n > 0 && strstr(d.v[d.n - 1].file, "/b-bad.json") != NULL);
	for (size_t i = 0; i < d.n; i++)
		CHECK(strstr(d.v[i].file, "notes.txt") == NULL &&
		      strstr(d.v[i].file, "ok.json") == NULL);
	diags_clear(&d);

	/* the valid one alone loads */
	char path[600];
	snprintf(path, sizeof path, "%s/a-bad.json", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/b-bad.json", dir);
	unlink(path);
	set = wf_set_load_dir(dir, &d);
	CHECK(set != NULL && wf_set_count(set) == 1);
	CHECK_INT(d.n, 0);
	wf_set_free(set);
	rm_dir(dir, names);

	set = wf_set_load_dir("/nonexistent/workflows", &d);
	CHECK(set == NULL);
	CHECK(tw_has(&d, "", "cannot open directory"));
	diags_clear(&d);
}

static void test_set_overlap(void)
{
	struct diags d = {0};
	const char *body = "'initial':'a','states':{'a':{'final':true}},'transitions':[]}";
	char src[512];
	struct wf *w[4];

	snprintf(src, sizeof src, "{'kind':'change','applies_to':{'type':'normal'},%s", body);
	w[0] = tw_parse_as("one", src, &d);
	snprintf(src, sizeof src,
		 "{'kind':'change','applies_to':{'type':['emergency','normal']},%s", body);
	w[1] = tw_parse_as("two", src, &d);
	snprintf(src, sizeof src, "{'kind':'change','applies_to':{'type':'standard'},%s", body);
	w[2] = tw_parse_as("three", src, &d);
	snprintf(src, sizeof src, "{'kind':'incident',%s", body);
	w[3] = tw_parse_as("four", src, &d);
	CHECK_INT(d.n, 0);
	struct wf_set *set = wf_set_new(w, 4, &d);
	CHECK(set == NULL);
	CHECK_INT(d.n, 1);
	CHECK_STR(tw_diag(&d, 0), "workflows/two.json: applies_to: overlaps with workflow 'one': "
				  "a change could match both");
	diags_clear(&d);

	/* an applies-to-all workflow overlaps any other of its kind; disjoint ones do not */
	snprintf(src, sizeof src, "{'kind':'change','applies_to':{'type':'normal'},%s", body);
	w[0] = tw_parse_as("one", src, &d);
	snprintf(src, sizeof src, "{'kind':'change','applies_to':{'type':'standard'},%s", body);
	w[1] = tw_parse_as("two", src, &d);
	snprintf(src, sizeof src, "{'kind':'problem',%s", body);
	w[2] = tw_parse_as("three", src, &d);
	snprintf(src, sizeof src, "{'kind':'problem',%s", body);
	w[3] = tw_parse_as("four", src, &d);
	set = wf_set_new(w, 4, &d);
	CHECK(set == NULL);
	CHECK(tw_has(&d, "applies_to", "overlaps with workflow 'four'"));
	CHECK_INT(d.n, 1);
	diags_clear(&d);

	/* duplicate names */
	snprintf(src, sizeof src, "{'kind':'problem',%s", body);
	w[0] = tw_parse_as("same", src, &d);
	snprintf(src, sizeof src, "{'kind':'incident',%s", body);
	w[1] = tw_parse_as("same", src, &d);
	set = wf_set_new(w, 2, &d);
	CHECK(set == NULL);
	CHECK(tw_has(&d, "", "workflow 'same' is also defined in workflows/same.json"));
	diags_clear(&d);
}

static void test_set_select(void)
{
	struct diags d = {0};
	struct wf_set *set = wf_set_load_dir("workflows", &d);
	const struct wf *wf = NULL;
	static const char *const types[] = {"normal", "standard", "emergency"};

	CHECK(set != NULL);
	if (set == NULL)
		return;
	for (size_t i = 0; i < 3; i++) {
		json_t *rec = json_pack("{s:s, s:s}", "type", types[i], "title", "x");
		char want[64];
		snprintf(want, sizeof want, "change-%s", types[i]);
		CHECK_INT(wf_set_select(set, "change", rec, &wf), WF_OK);
		CHECK(wf != NULL && strcmp(wf_name(wf), want) == 0);
		json_decref(rec);
	}
	json_t *rec = json_pack("{s:s}", "type", "weird");
	CHECK_INT(wf_set_select(set, "change", rec, &wf), WF_ERR_NO_WORKFLOW);
	CHECK(wf == NULL);
	CHECK_INT(wf_set_select(set, "incident", rec, &wf), WF_OK);
	CHECK(wf != NULL && strcmp(wf_name(wf), "incident") == 0);
	CHECK_INT(wf_set_select(set, "problem", rec, &wf), WF_OK);
	CHECK_INT(wf_set_select(set, "gadget", rec, &wf), WF_ERR_NO_WORKFLOW);
	json_decref(rec);
	wf_set_free(set);

	/* expression selectors: overlap is found at selection time */
	struct wf *w[2];
	w[0] = tw_parse_as("big",
			   "{'kind':'change','applies_to':'len(change.services) > 2',"
			   "'initial':'a','states':{'a':{'final':true}},'transitions':[]}",
			   &d);
	w[1] = tw_parse_as("risky",
			   "{'kind':'change','applies_to':'`db` in change.services',"
			   "'initial':'a','states':{'a':{'final':true}},'transitions':[]}",
			   &d);
	CHECK_INT(d.n, 0);
	set = wf_set_new(w, 2, &d);
	CHECK(set != NULL);
	if (set != NULL) {
		rec = json_pack("{s:[s,s,s]}", "services", "web", "db", "mq");
		CHECK_INT(wf_set_select(set, "change", rec, &wf), WF_ERR_AMBIGUOUS);
		json_decref(rec);
		rec = json_pack("{s:[s]}", "services", "db");
		CHECK_INT(wf_set_select(set, "change", rec, &wf), WF_OK);
		CHECK(wf != NULL && strcmp(wf_name(wf), "risky") == 0);
		json_decref(rec);
	}
	wf_set_free(set);
	diags_clear(&d);
}

static void test_introspection(void)
{
	struct diags d = {0};
	struct wf_set *set = wf_set_load_dir("workflows", &d);
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-normal") : NULL;

	CHECK(wf != NULL);
	if (wf == NULL) {
		wf_set_free(set);
		return;
	}
	CHECK_STR(wf_initial(wf), "draft");
	CHECK(wf_field_editable(wf, "draft", "title"));
	CHECK(wf_field_editable(wf, "draft", "implementation_plan"));
	CHECK(!wf_field_editable(wf, "scheduled", "title"));
	CHECK(!wf_field_editable(wf, "nowhere", "title"));
	CHECK(wf_state_editable(wf, "closed")[0] == NULL);
	CHECK(wf_state_final(wf, "closed"));
	CHECK(wf_state_final(wf, "rejected"));
	CHECK(!wf_state_final(wf, "failed"));
	CHECK(wf_state_exists(wf, "review"));

	static const char *const req_draft[] = {"cancel", "submit", NULL};
	/* CAB members vote through the approvals API; a change manager decides by hand
	 * only where no approval policy applies (the approve guard). */
	static const char *const mgr_auth[] = {"approve", "cancel", "reject", NULL};
	static const char *const none[] = {NULL};
	/* the draft timer, and the gate withdrawing a change whose lease ran out */
	static const char *const sys_draft[] = {"cancel", "expire", NULL};
	json_t *ev = wf_events_allowed(wf, "draft", WF_ROLE_REQUESTER);
	CHECKF(tw_strs(ev, req_draft), "%s", tw_show(ev));
	json_decref(ev);
	ev = wf_events_allowed(wf, "authorize", WF_ROLE_CAB);
	CHECKF(tw_strs(ev, none), "%s", tw_show(ev)); /* auto ones are not listed */
	json_decref(ev);
	ev = wf_events_allowed(wf, "authorize", WF_ROLE_CHANGE_MANAGER);
	CHECKF(tw_strs(ev, mgr_auth), "%s", tw_show(ev));
	json_decref(ev);
	ev = wf_events_allowed(wf, "closed", ~0u);
	CHECK(tw_strs(ev, none));
	json_decref(ev);
	CHECK(wf_uses_action(wf, "assess_risk"));    /* on entering assess */
	CHECK(wf_uses_action(wf, "note"));           /* in a transition */
	CHECK(!wf_uses_action(wf, "route_to_team")); /* incidents' only */
	CHECK(!wf_uses_action(wf, "no_such_action"));
	ev = wf_events_allowed(wf, "draft", WF_ROLE_SYSTEM);
	CHECK(tw_strs(ev, sys_draft));
	json_decref(ev);

	json_t *def = wf_definition(wf);
	CHECK_STR(json_string_value(json_object_get(def, "kind")), "change");
	wf_set_free(set);
	diags_clear(&d);
}

static void test_expression_paths(void)
{
	struct {
		const char *kind, *path;
		bool known;
	} cases[] = {
		{"change", "change.type", true},
		{"change", "change.services", true},
		{"change", "change.review.required", true},
		{"change", "change.title.x", false},
		{"change", "change.colour", false},
		{"change", "record.state", true},
		{"change", "risk.level", true},
		{"change", "risk.lvl", false},
		{"change", "approvals.satisfied", true},
		{"change", "history.failure_rate", true},
		{"change", "actor.roles", true},
		{"change", "actor.name", true},
		{"change", "event.comment", true},
		{"change", "state.entered_at", true},
		{"change", "now", true},
		{"change", "incident.priority", false},
		{"incident", "incident.priority", true},
		{"incident", "incident.caused_by", true},
		{"incident", "risk.level", false},
		{"incident", "change.type", false},
		{"problem", "problem.fix_change", true},
		{"problem", "problem.incidents", true},
		{"problem", "history.changes", false},
		{"gadget", "now", false},
		{"change", "change.review..x", false},
		{"change", "change.", false},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECKF(wf_expr_field_known((void *)cases[i].kind, cases[i].path) == cases[i].known,
		       "%s %s", cases[i].kind, cases[i].path);
	CHECK(wf_kind_valid("change") && !wf_kind_valid("Change"));
	const char *const *f = wf_kind_fields("incident");
	bool has_service = false;
	for (size_t i = 0; f != NULL && f[i] != NULL; i++)
		has_service = has_service || strcmp(f[i], "service") == 0;
	CHECK(has_service);
	CHECK(wf_kind_fields("gadget") == NULL);
	CHECK(wf_field_protected("state") && !wf_field_protected("title"));
	CHECK_INT(wf_role_parse("change_manager"), WF_ROLE_CHANGE_MANAGER);
	CHECK_INT(wf_role_parse("root"), 0);
	CHECK_STR(wf_role_name(WF_ROLE_PIPELINE), "pipeline");
}

static void test_action_registry(void)
{
	static const char *const names[] = {"set_field",         "note",          "emit",
					    "open_review",       "route_to_team", "assess_risk",
					    "request_approvals", "schedule"};

	CHECK_INT(wf_action_count(), 8);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct wf_action_def *a = wf_action_find(names[i]);
		CHECKF(a != NULL && a->apply != NULL && a->doc != NULL, "%s", names[i]);
	}
	CHECK(wf_action_find("launch_rockets") == NULL);
	CHECK(wf_action_at(wf_action_count()) == NULL);
	CHECK_STR(wf_action_at(0)->name, "set_field");
}

static void test_dot(void)
{
	struct diags d = {0};
	struct wf_set *set = wf_set_load_dir("workflows", &d);
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-normal") : NULL;
	char *dot = wf != NULL ? wf_dot(wf) : NULL;

	CHECK(dot != NULL);
	if (dot != NULL) {
		CHECK(strncmp(dot, "digraph \"change-normal\" {", 25) == 0);
		for (size_t s = 0; s < wf_state_count(wf); s++) {
			char node[80];
			snprintf(node, sizeof node, "\t\"%s\" [label=\"%s", wf_state_name(wf, s),
				 wf_state_name(wf, s));
			CHECKF(strstr(dot, node) != NULL, "no node %s", wf_state_name(wf, s));
		}
		CHECK(strstr(dot, "\"__start\" -> \"draft\"") != NULL);
		CHECK(strstr(dot, "\"draft\" -> \"assess\" [label=\"submit\"]") != NULL);
		CHECK(strstr(dot, "\"closed\" [label=\"closed\", peripheries=2") != NULL);
		CHECK(strstr(dot, "[risk.level != null]\", style=dashed]") != NULL);
		CHECK(strstr(dot, "draft\\ntimer: expire") != NULL);
		CHECK(dot[strlen(dot) - 2] == '}');
	}
	free(dot);
	wf_set_free(set);
	diags_clear(&d);

	/* quotes in descriptions and guards are escaped */
	struct wf *w =
		tw_parse("{'kind':'change','initial':'a','states':{'a':{'description':"
			 "'say `hi`'},'b':{'final':true}},'transitions':[{'event':'go',"
			 "'from':'a','to':'b','roles':['cab'],'when':'change.title == `x`'}]}",
			 &d);
	CHECK(w != NULL);
	dot = w != NULL ? wf_dot(w) : NULL;
	CHECK(dot != NULL && strstr(dot, "tooltip=\"say \\\"hi\\\"\"") != NULL);
	CHECK(dot != NULL && strstr(dot, "[change.title == \\\"x\\\"]") != NULL);
	free(dot);
	wf_free(w);
	diags_clear(&d);
}

static void test_free_null(void)
{
	struct diags d = {0};

	wf_free(NULL);
	wf_set_free(NULL);
	diags_clear(NULL);
	wf_outcome_clear(NULL);
	diags_clear(&d);
	CHECK(d.n == 0 && d.v == NULL);
	char *s = diags_join(&d);
	CHECK(s != NULL && s[0] == '\0');
	free(s);
}

TESTS(test_shipped_load_clean, test_shipped_each_has_final_and_initial, test_version_canonical,
      test_error_format_exact, test_error_unknown_state, test_error_unreachable_state,
      test_error_no_path_to_final, test_error_ambiguous, test_error_roles, test_error_actions,
      test_error_expressions, test_error_wrong_types, test_error_missing_keys,
      test_error_names_and_keys, test_error_invalid_json, test_error_fields, test_error_timers,
      test_error_auto_loop_and_final, test_several_errors_at_once, test_load_dir_reports_all_files,
      test_set_overlap, test_set_select, test_introspection, test_expression_paths,
      test_action_registry, test_dot, test_free_null)
