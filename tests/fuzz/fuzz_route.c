/*
 * fuzz_route.c -- libFuzzer target for the route matcher (service/http/route.c) over the
 * service's real route table (service/api/routes.c).
 *
 * Input: a method token, a space, then the (already percent-decoded) path, as the HTTP
 * layer hands them over; bytes after a NUL are ignored.  Besides crashes and sanitizer
 * reports, it traps when an answer breaks the contract: a match whose route is not the
 * table's entry at its index or does not allow the method, parameters that are empty,
 * too long, contain '/' or are not named by the pattern, a parameter the pattern names
 * but route_param() cannot find, a 405 with no allowed method, or an answer that changes
 * when the same request is matched again.
 *
 * `make fuzz` builds and runs it on tests/fuzz/corpus/route/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether `name` is a placeholder of `pattern`. */
static int placeholder_of(const char *pattern, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = strchr(pattern, '{'); p != NULL; p = strchr(p + 1, '{'))
		if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '}')
			return 1;
	return 0;
}

static void check(enum http_method method, const char *path)
{
	struct route_match m, again;
	memset(&m, 0xa5, sizeof m); /* the matcher must set what it promises */
	enum route_result rr = route_match(api_routes, api_routes_count, method, path, &m);
	enum route_result rr2 = route_match(api_routes, api_routes_count, method, path, &again);
	if (rr != rr2)
		__builtin_trap();
	switch (rr) {
	case ROUTE_MATCHED: {
		if (m.index >= api_routes_count || m.route != &api_routes[m.index] ||
		    again.index != m.index || m.nparams > ROUTE_MAX_PARAMS)
			__builtin_trap();
		unsigned allowed =
			m.route->methods | ((m.route->methods & HTTP_GET) ? HTTP_HEAD : 0);
		if (!(allowed & method))
			__builtin_trap();
		for (unsigned i = 0; i < m.nparams; i++) {
			size_t len = strnlen(m.params[i], ROUTE_PARAM_MAX);
			if (len == 0 || len >= ROUTE_PARAM_MAX ||
			    strchr(m.params[i], '/') != NULL ||
			    !placeholder_of(m.route->pattern, m.names[i]) ||
			    route_param(&m, m.names[i]) == NULL ||
			    strstr(path, m.params[i]) == NULL)
				__builtin_trap();
		}
		break;
	}
	case ROUTE_WRONG_METHOD:
		if (m.allowed == 0 || (m.allowed & method) != 0 || again.allowed != m.allowed)
			__builtin_trap();
		break;
	case ROUTE_NO_SUCH_PATH:
		break;
	default:
		__builtin_trap();
	}
	char allow[128];
	http_methods_format(m.allowed, allow, sizeof allow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *sp = strchr(text, ' ');
	const char *path = text;
	enum http_method method = HTTP_GET;
	if (sp != NULL) {
		*sp = '\0';
		method = http_method_parse(text);
		path = sp + 1;
	}
	check(method, path);
	if (method == HTTP_GET)
		check(HTTP_HEAD, path);
	free(text);
	return 0;
}
