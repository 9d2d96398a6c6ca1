/*
 * test_planner_config.c -- policies/calendars.json: remote calendar URL schemes
 * (webcal:// and webcals:// are https://, issue 17.7; anything else is refused).
 */
#include "../unit/harness.h"
#include "planner/planner.h"
#include "wf/wf.h"

/* Parses one remote entry with `url`; its stored URL into `out` ("" when refused). */
static bool parse_url(const char *url, char *out, size_t len)
{
	char text[512];
	snprintf(text, sizeof text,
		 "{\"remote\": [{\"name\": \"holidays\", \"url\": \"%s\", \"refresh\": \"PT1H\"}]}",
		 url);
	struct diags d = {0};
	struct planner_config *cfg = planner_config_parse("calendars.json", text, strlen(text), &d);
	bool ok = cfg != NULL && cfg->n_remote == 1;
	snprintf(out, len, "%s", ok ? cfg->remote[0].url : "");
	if (!ok && d.n > 0) {
		char *all = diags_join(&d);
		snprintf(out, len, "refused: %s", all ? all : "");
		free(all);
	}
	planner_config_free(cfg);
	diags_clear(&d);
	return ok;
}

static void test_webcal_urls_are_https(void)
{
	char got[600];
	CHECK(parse_url("webcal://calendar.example.com/holidays.ics", got, sizeof got));
	CHECK_STR(got, "https://calendar.example.com/holidays.ics");
	CHECK(parse_url("WEBCAL://calendar.example.com/h.ics", got, sizeof got));
	CHECK_STR(got, "https://calendar.example.com/h.ics");
	CHECK(parse_url("webcals://calendar.example.com/h.ics?x=1", got, sizeof got));
	CHECK_STR(got, "https://calendar.example.com/h.ics?x=1");
	CHECK(parse_url("https://calendar.example.com/h.ics", got, sizeof got));
	CHECK_STR(got, "https://calendar.example.com/h.ics");
	CHECK(parse_url("http://127.0.0.1:8080/h.ics", got, sizeof got));
	CHECK_STR(got, "http://127.0.0.1:8080/h.ics");
}

static void test_other_schemes_are_refused(void)
{
	char got[600];
	static const char *const bad[] = {"ftp://example.com/h.ics", "webcal:/x",
					  "file:///etc/passwd", "webcal://",
					  "calendar.example.com/h.ics"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECKF(!parse_url(bad[i], got, sizeof got), "%s was accepted as %s", bad[i], got);
		CHECKF(strstr(got, "'url'") != NULL, "%s: %s", bad[i], got);
	}
}

TESTS(test_webcal_urls_are_https, test_other_schemes_are_refused)
