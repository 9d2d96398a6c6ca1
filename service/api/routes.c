/*
 * routes.c -- the route table: every HTTP route Transom serves, with its roles.
 * docs/openapi.yaml describes the same routes; a test checks that they agree.
 */
#include "api/api.h"
#include "auth/roles.h"

const struct http_route api_routes[] = {
	{HTTP_GET, "/healthz", h_healthz, 0, ROUTE_PUBLIC, "process alive"},
	{HTTP_GET, "/readyz", h_readyz, 0, ROUTE_PUBLIC, "database reachable, definitions loaded"},
	{HTTP_GET, "/metrics", h_metrics, 0, ROUTE_PUBLIC, "Prometheus metrics"},
	{HTTP_GET, "/v1/me", h_me, ROLE_ALL, 0, "the caller"},
	{HTTP_GET, "/v1/tokens", h_tokens_list, ROLE_ADMIN, 0, "list API tokens"},
	{HTTP_POST, "/v1/tokens", h_tokens_create, ROLE_ADMIN, ROUTE_JSON_BODY, "create a token"},
	{HTTP_DELETE, "/v1/tokens/{id}", h_tokens_revoke, ROLE_ADMIN, 0, "revoke a token"},
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];
