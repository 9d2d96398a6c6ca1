/*
 * test_check.c -- `transomd check`, as a repository's CI would run it: exit 0 on the
 * shipped definitions; exit 1 listing every error with file, JSON path and column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../unit/harness.h"

static char out[1 << 16];

/* Runs `transomd check ARGS` with stdout and stderr into `out`; returns the exit status. */
static int check(const char *args)
{
	char cmd[4096], file[1100];
	snprintf(file, sizeof file, "%s/check.out", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' check %s >'%s' 2>&1",
		 getenv("TRANSOM_TEST_ROOT") ?: ".", getenv("TRANSOM_TEST_BIN") ?: "build/transomd",
		 args, file);
	int st = system(cmd);
	FILE *fp = fopen(file, "r");
	size_t n = fp ? fread(out, 1, sizeof out - 1, fp) : 0;
	out[n] = '\0';
	if (fp)
		fclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Copies the shipped workflows to a fresh directory; returns its path (static). */
static const char *copy_workflows(const char *name)
{
	static char dir[1024];
	char cmd[4096];
	snprintf(dir, sizeof dir, "%s/%s", getenv("TRANSOM_TEST_TMP") ?: "/tmp", name);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/workflows' '%s'", dir,
		 getenv("TRANSOM_TEST_ROOT") ?: ".", dir);
	CHECK(system(cmd) == 0);
	return dir;
}

/* Replaces the first `from` in `file` by `to`. */
static void edit(const char *dir, const char *file, const char *from, const char *to)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "sed -i '0,/%s/s//%s/' '%s/%s'", from, to, dir, file);
	CHECK(system(cmd) == 0);
}

static void test_shipped_definitions_are_valid(void)
{
	CHECK_INT(check(""), 0);
	CHECK(strstr(out, "ok: 5 workflows") != NULL);
}

static void test_errors_name_file_path_and_column(void)
{
	const char *dir = copy_workflows("broken-workflows");
	/* transitions[3].when is "approvals.satisfied == true": break its field name. */
	edit(dir, "change-normal.json", "approvals.satisfied == true",
	     "approvals.satisfed == true");
	/* and, in another file, name an action that does not exist */
	edit(dir, "problem.json", "\"emit\"", "\"emitt\"");
	char args[1200];
	snprintf(args, sizeof args, "--workflows '%s'", dir);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "change-normal.json: transitions[3].when: column 1: unknown field "
			   "'approvals.satisfed'") != NULL,
	       "output: %s", out);
	CHECKF(strstr(out, "problem.json: states.") != NULL && strstr(out, "emitt") != NULL,
	       "output: %s", out);
}

static void test_unreachable_state_and_bad_json(void)
{
	const char *dir = copy_workflows("broken-workflows-2");
	/* A state no transition leads to. */
	edit(dir, "change-normal.json", "\"closed\": {",
	     "\"limbo\": {\"description\": \"nothing leads here\"}, \"closed\": {");
	char args[1200];
	snprintf(args, sizeof args, "--workflows '%s'", dir);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "change-normal.json: states.limbo") && strstr(out, "unreachable"),
	       "output: %s", out);

	dir = copy_workflows("broken-workflows-3");
	edit(dir, "incident.json", "{", "{{");
	snprintf(args, sizeof args, "--workflows '%s'", dir);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "incident.json: line 1") != NULL, "output: %s", out);
	CHECK_INT(check("--workflows /nonexistent/dir"), 1);
	CHECK(strstr(out, "/nonexistent/dir") != NULL);
	CHECK_INT(check("--bogus"), 2);
}

static void test_policy_cycle_is_named(void)
{
	char dir[512], cmd[4096], args[1200];
	snprintf(dir, sizeof dir, "%s/cyclic-policies", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	/* ledger depends on payments, which already depends on ledger */
	snprintf(cmd, sizeof cmd,
		 "rm -rf '%s' && cp -r '%s/policies' '%s' && sed -i 's/\"depends_on\": "
		 "\\[\"ledger-db\", \"message-bus\"\\]/\"depends_on\": [\"ledger-db\", "
		 "\"message-bus\", \"payments\"]/' '%s/services.json'",
		 dir, getenv("TRANSOM_TEST_ROOT") ?: ".", dir, dir);
	CHECK(system(cmd) == 0);
	snprintf(args, sizeof args, "--policies '%s'", dir);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "services.json: services[") && strstr(out, "dependency cycle: ") &&
		       strstr(out, "payments -> ledger -> payments"),
	       "output: %s", out);
	/* and a risk factor reading a field that does not exist, with its column */
	snprintf(cmd, sizeof cmd,
		 "rm -rf '%s' && cp -r '%s/policies' '%s' && sed -i "
		 "'0,/change.rollback_plan/s//change.rollback_plna/' '%s/risk.json'",
		 dir, getenv("TRANSOM_TEST_ROOT") ?: ".", dir, dir);
	CHECK(system(cmd) == 0);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "risk.json: factors[") && strstr(out, "column") &&
		       strstr(out, "change.rollback_plna"),
	       "output: %s", out);
}

/* policies/incidents.json (suspects, incident freezes, unauthorized changes) too. */
static void test_incidents_policy_errors_are_named(void)
{
	char dir[512], cmd[4096], args[1200];
	snprintf(dir, sizeof dir, "%s/incidents-policies", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd,
		 "rm -rf '%s' && cp -r '%s/policies' '%s' && printf '%%s' '{\"suspects\": "
		 "{\"window\": \"3 days\", \"weights\": {\"time\": \"a lot\"},"
		 " \"delay\": {\"spread\": 9}},"
		 " \"freeze\": {\"priorities\": [\"P7\"]}}' > '%s/incidents.json'",
		 dir, getenv("TRANSOM_TEST_ROOT") ?: ".", dir, dir);
	CHECK(system(cmd) == 0);
	snprintf(args, sizeof args, "--policies '%s'", dir);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "incidents.json: suspects.window: must be an ISO 8601 duration") &&
		       strstr(out, "incidents.json: suspects.weights.time: must be a number") &&
		       strstr(out, "incidents.json: suspects.delay.spread: must be a number") &&
		       strstr(out, "incidents.json: freeze.priorities: must be an array"),
	       "output: %s", out);
}

/* policies/identity.json (JWT claims -> roles, services) is checked like the others. */
static void test_identity_mapping_errors_are_named(void)
{
	char dir[512], cmd[4096], args[1200];
	snprintf(dir, sizeof dir, "%s/identity-policies", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd,
		 "rm -rf '%s' && cp -r '%s/policies' '%s' && printf '%%s' '{\"rules\": ["
		 "{\"match\": {\"repository\": \"acme/payments\"}, \"roles\": "
		 "[\"pipeline\"], \"services\": [\"payments\"]},"
		 "{\"match\": {\"repository\": \"acme/x\"}, \"roles\": [\"pipeline\"]},"
		 "{\"match\": {}, \"roles\": [\"wizard\"]},"
		 "{\"match\": {\"groups\": \"ops\"}, \"roles\": [\"pipeline\"], "
		 "\"services\": [\"nosuch\"]}]}' > '%s/identity.json'",
		 dir, getenv("TRANSOM_TEST_ROOT") ?: ".", dir, dir);
	CHECK(system(cmd) == 0);
	snprintf(args, sizeof args, "--policies '%s'", dir);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "identity.json: rules[1]") &&
		       strstr(out, "must list the 'services' it may deploy") &&
		       strstr(out, "identity.json: rules[2]") && strstr(out, "'match' must be") &&
		       strstr(out, "'roles' must be") && strstr(out, "identity.json: rules[3]") &&
		       strstr(out, "services of the catalog") && !strstr(out, "rules[0]"),
	       "output: %s", out);
}

/* identity.json's sign_in (web sign-in: claims -> roles, groups) and tokens are checked. */
static void test_identity_sign_in_errors_are_named(void)
{
	char dir[512], cmd[4096], args[1200];
	snprintf(dir, sizeof dir, "%s/identity-sign-in", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd,
		 "rm -rf '%s' && cp -r '%s/policies' '%s' && printf '%%s' '{\"rules\": [],"
		 " \"sign_in\": {\"user_claim\": \"\", \"default_roles\": [\"wizard\"],"
		 " \"rules\": [{\"match\": {\"groups\": \"a\"}, \"roles\": [\"cab\"]},"
		 " {\"match\": {\"groups\": \"b\"}, \"roles\": [\"pipeline\"]}],"
		 " \"groups\": [{\"match\": {}, \"group\": \"cab\"}],"
		 " \"group_source\": \"both\"},"
		 " \"tokens\": {\"unknown_user\": \"ignore\"}}' > '%s/identity.json'",
		 dir, getenv("TRANSOM_TEST_ROOT") ?: ".", dir, dir);
	CHECK(system(cmd) == 0);
	snprintf(args, sizeof args, "--policies '%s'", dir);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "'user_claim' must name a claim") &&
		       strstr(out, "'default_roles' must be") && strstr(out, "sign_in.rules[1]") &&
		       !strstr(out, "sign_in.rules[0]") &&
		       strstr(out, "never signs in as a pipeline") &&
		       strstr(out, "sign_in.groups[0]") && strstr(out, "'group_source' must be") &&
		       strstr(out, "identity.json: tokens"),
	       "output: %s", out);
}

/* Calendar exports with empty values load with warnings; zones are checked (issue 17). */
static void test_calendar_warnings_and_zones(void)
{
	char dir[512], cmd[4096], args[1200];
	snprintf(dir, sizeof dir, "%s/export-policies", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd,
		 "rm -rf '%s' && cp -r '%s/policies' '%s' && printf '%%s\\r\\n' BEGIN:VCALENDAR "
		 "VERSION:2.0 'PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN' "
		 "X-WR-TIMEZONE:Europe/Berlin BEGIN:VEVENT UID:outlook-1 CATEGORIES:FREEZE "
		 "'X-TRANSOM-SERVICES:*' DESCRIPTION: LOCATION: DTSTART:20260605T180000 "
		 "DTEND:20260605T230000 'RRULE:FREQ=WEEKLY;BYDAY=SA,SU;COUNT=4' END:VEVENT "
		 "END:VCALENDAR >'%s/outlook.ics'",
		 dir, getenv("TRANSOM_TEST_ROOT") ?: ".", dir, dir);
	CHECK(system(cmd) == 0);
	snprintf(args, sizeof args, "--policies '%s'", dir);
	CHECK_INT(check(args), 0);
	CHECKF(strstr(out, "warning: ") &&
		       strstr(out, "/outlook.ics: VEVENT[0] (UID outlook-1): "
				   "LOCATION left out") &&
		       strstr(out, "(UID outlook-1): DESCRIPTION left out") &&
		       strstr(out, "(UID outlook-1): DTSTART does not match its RRULE") &&
		       strstr(out, "ok: "),
	       "output: %s", out);
	/* a site zone libical does not know is an error naming calendars.json */
	snprintf(cmd, sizeof cmd,
		 "sed -i 's/\"horizon_days\"/\"timezone\": \"Europe\\/Atlantis\", "
		 "\"horizon_days\"/' '%s/calendars.json'",
		 dir);
	CHECK(system(cmd) == 0);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "calendars.json: timezone: unknown time zone 'Europe/Atlantis'"),
	       "output: %s", out);
	/* a remote's zone that is not a string, or that libical does not know, is an error */
	snprintf(cmd, sizeof cmd,
		 "printf '%%s' '{\"timezone\": \"Europe/Berlin\", \"remote\": [{\"name\": "
		 "\"hol\", \"url\": \"https://example.org/h.ics\", \"timezone\": "
		 "\"Mars/Olympus\"}, {\"name\": \"fin\", \"url\": \"https://example.org/f.ics\", "
		 "\"timezone\": 5}]}' >'%s/calendars.json'",
		 dir);
	CHECK(system(cmd) == 0);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "calendars.json: remote[1]: 'timezone' must be a zone name"),
	       "output: %s", out);
	snprintf(cmd, sizeof cmd,
		 "printf '%%s' '{\"remote\": [{\"name\": \"hol\", \"url\": "
		 "\"https://example.org/h.ics\", \"timezone\": \"Mars/Olympus\"}]}' "
		 ">'%s/calendars.json'",
		 dir);
	CHECK(system(cmd) == 0);
	CHECK_INT(check(args), 1);
	CHECKF(strstr(out, "calendars.json: remote: remote 'hol': unknown time zone "
			   "'Mars/Olympus'"),
	       "output: %s", out);
}

TESTS(test_shipped_definitions_are_valid, test_identity_mapping_errors_are_named,
      test_incidents_policy_errors_are_named, test_identity_sign_in_errors_are_named,
      test_policy_cycle_is_named, test_calendar_warnings_and_zones,
      test_errors_name_file_path_and_column, test_unreachable_state_and_bad_json)
