/*
 * test_openapi.c -- docs/openapi.json and the route table describe the same routes,
 * with the same roles.
 */
#include "../unit/harness.h"
#include "api/api.h"
#include "auth/roles.h"

static const char *const verbs[] = {"get",    "post",    "put",      "patch",
				    "delete", "options", "propfind", "report"};
static const unsigned verb_bits[] = {HTTP_GET,    HTTP_POST,    HTTP_PUT,      HTTP_PATCH,
				     HTTP_DELETE, HTTP_OPTIONS, HTTP_PROPFIND, HTTP_REPORT};

static json_t *load(void)
{
	json_error_t je;
	json_t *doc = json_load_file("docs/openapi.json", 0, &je);
	CHECKF(doc != NULL, "docs/openapi.json: line %d: %s", je.line, je.text);
	return doc;
}

static void test_every_route_is_documented_with_its_roles(void)
{
	json_t *doc = load(), *paths = json_object_get(doc, "paths");
	for (size_t i = 0; i < api_routes_count; i++) {
		const struct http_route *r = &api_routes[i];
		json_t *item = json_object_get(paths, r->pattern);
		CHECKF(item != NULL, "%s is not in docs/openapi.json", r->pattern);
		for (size_t v = 0; item && v < sizeof verbs / sizeof verbs[0]; v++) {
			if (!(r->methods & verb_bits[v]))
				continue;
			json_t *op = json_object_get(item, verbs[v]);
			CHECKF(op != NULL, "%s %s is not documented", verbs[v], r->pattern);
			if (op == NULL)
				continue;
			json_t *sec = json_object_get(op, "security");
			bool public = json_is_array(sec) && json_array_size(sec) == 0;
			CHECKF(public == ((r->flags & ROUTE_PUBLIC) != 0),
			       "%s %s: public in one place only", verbs[v], r->pattern);
			unsigned documented = 0;
			size_t k;
			json_t *role;
			json_array_foreach(json_object_get(op, "x-roles"), k, role)
				documented |= role_from_name(json_string_value(role));
			CHECKF(public || documented == r->roles,
			       "%s %s: x-roles differ from the table", verbs[v], r->pattern);
		}
	}
	json_decref(doc);
}

static void test_every_documented_route_exists(void)
{
	json_t *doc = load(), *paths = json_object_get(doc, "paths"), *item;
	const char *path;
	json_object_foreach(paths, path, item) {
		const char *verb;
		json_t *op;
		json_object_foreach(item, verb, op) {
			unsigned bit = 0;
			for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
				if (strcmp(verb, verbs[v]) == 0)
					bit = verb_bits[v];
			if (bit == 0)
				continue; /* "parameters" and the like */
			bool found = false;
			for (size_t i = 0; i < api_routes_count && !found; i++)
				found = strcmp(api_routes[i].pattern, path) == 0 &&
					(api_routes[i].methods & bit);
			CHECKF(found, "%s %s is documented but not routed", verb, path);
		}
	}
	json_decref(doc);
}

TESTS(test_every_route_is_documented_with_its_roles, test_every_documented_route_exists)
