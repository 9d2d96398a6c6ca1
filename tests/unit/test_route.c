/*
 * test_route.c -- the pure route matcher: matches, parameters, 404 vs 405, HEAD.
 */
#include "../unit/harness.h"
#include "http/route.h"

static const struct http_route table[] = {
	{HTTP_GET, "/healthz", NULL, 0, 0, NULL},
	{HTTP_GET | HTTP_POST, "/v1/changes", NULL, 0, 0, NULL},
	{HTTP_GET | HTTP_PATCH, "/v1/changes/{id}", NULL, 0, 0, NULL},
	{HTTP_POST, "/v1/changes/{id}/transitions", NULL, 0, 0, NULL},
	{HTTP_DELETE, "/v1/feeds/{token}", NULL, 0, 0, NULL},
	{HTTP_GET, "/feeds/{token}/services/{name}", NULL, 0, 0, NULL},
};
#define N (sizeof table / sizeof table[0])

static void test_literal_and_param_routes(void)
{
	static const struct {
		enum http_method m;
		const char *path;
		enum route_result want;
		size_t index;
	} cases[] = {
		{HTTP_GET, "/healthz", ROUTE_MATCHED, 0},
		{HTTP_HEAD, "/healthz", ROUTE_MATCHED, 0},
		{HTTP_POST, "/v1/changes", ROUTE_MATCHED, 1},
		{HTTP_PATCH, "/v1/changes/CHG-1", ROUTE_MATCHED, 2},
		{HTTP_POST, "/v1/changes/CHG-1/transitions", ROUTE_MATCHED, 3},
		{HTTP_GET, "/feeds/abc/services/payments", ROUTE_MATCHED, 5},
		{HTTP_GET, "/v1/changes/", ROUTE_NO_SUCH_PATH, 0},
		{HTTP_GET, "/v1/changes/CHG-1/", ROUTE_NO_SUCH_PATH, 0},
		{HTTP_GET, "/healthz/", ROUTE_NO_SUCH_PATH, 0},
		{HTTP_GET, "/", ROUTE_NO_SUCH_PATH, 0},
		{HTTP_GET, "", ROUTE_NO_SUCH_PATH, 0},
		{HTTP_GET, "//v1/changes", ROUTE_NO_SUCH_PATH, 0},
		{HTTP_GET, "/v1/changesX", ROUTE_NO_SUCH_PATH, 0},
		{HTTP_DELETE, "/healthz", ROUTE_WRONG_METHOD, 0},
		{HTTP_GET, "/v1/changes/CHG-1/transitions", ROUTE_WRONG_METHOD, 0},
		{HTTP_OTHER, "/v1/changes", ROUTE_WRONG_METHOD, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct route_match m;
		enum route_result r = route_match(table, N, cases[i].m, cases[i].path, &m);
		CHECKF(r == cases[i].want, "case %zu (%s): got %d", i, cases[i].path, r);
		if (r == ROUTE_MATCHED && cases[i].want == ROUTE_MATCHED)
			CHECKF(m.index == cases[i].index, "case %zu: index %zu", i, m.index);
	}
}

static void test_parameters_are_captured(void)
{
	struct route_match m;
	CHECK(route_match(table, N, HTTP_GET, "/feeds/t0k/services/web-front", &m) ==
	      ROUTE_MATCHED);
	CHECK_STR(route_param(&m, "token"), "t0k");
	CHECK_STR(route_param(&m, "name"), "web-front");
	CHECK(route_param(&m, "other") == NULL);
}

static void test_allowed_methods_for_405(void)
{
	struct route_match m;
	char allow[128];
	CHECK(route_match(table, N, HTTP_DELETE, "/v1/changes/CHG-9", &m) == ROUTE_WRONG_METHOD);
	CHECK_STR(http_methods_format(m.allowed, allow, sizeof allow), "GET, HEAD, PATCH");
	CHECK(route_match(table, N, HTTP_GET, "/v1/feeds/x", &m) == ROUTE_WRONG_METHOD);
	CHECK_STR(http_methods_format(m.allowed, allow, sizeof allow), "DELETE");
}

static void test_overlong_segment_never_matches(void)
{
	char path[600] = "/v1/changes/";
	memset(path + 12, 'a', 400);
	path[412] = '\0';
	struct route_match m;
	CHECK(route_match(table, N, HTTP_GET, path, &m) == ROUTE_NO_SUCH_PATH);
}

static void test_method_parse(void)
{
	CHECK(http_method_parse("GET") == HTTP_GET);
	CHECK(http_method_parse("PROPFIND") == HTTP_PROPFIND);
	CHECK(http_method_parse("get") == HTTP_OTHER);
	CHECK(http_method_parse("BREW") == HTTP_OTHER);
}

TESTS(test_literal_and_param_routes, test_parameters_are_captured, test_allowed_methods_for_405,
      test_overlong_segment_never_matches, test_method_parse)
