/*
 * h_workflows.c -- the loaded workflow definitions and policies, and the audit chain
 * check, and the risk backtest over HTTP (the use cases are in app/workflows.c and
 * app/backtest.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/backtest.h"
#include "app/workflows.h"

enum tr_code h_workflows_list(struct http_req *req, struct http_reply *rep)
{
	json_t *body;
	enum tr_code rc = app_workflows_list(api_session(req), &body, &req->err);
	return rc == TR_OK ? http_reply_json(rep, 200, body) : rc;
}

enum tr_code h_workflow_get(struct http_req *req, struct http_reply *rep)
{
	const char *name = route_param(&req->match, "name");
	const char *format = http_req_query(req, "format");
	bool dot = format != NULL && strcmp(format, "dot") == 0;
	json_t *body;
	char *text;
	enum tr_code rc = app_workflow_get(api_session(req), name, dot, &body, &text, &req->err);
	if (rc != TR_OK)
		return rc;
	if (dot) {
		rc = http_reply_text(rep, 200, "text/vnd.graphviz; charset=utf-8", text,
				     strlen(text));
		free(text);
		return rc;
	}
	if (format != NULL && strcmp(format, "json") != 0) {
		json_decref(body);
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "format",
				    "query parameter 'format' must be json or dot");
	}
	return http_reply_json(rep, 200, body);
}

enum tr_code h_audit_verify(struct http_req *req, struct http_reply *rep)
{
	json_t *result;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_audit_verify(api_session(req), &who, &result, &req->err);
	return rc == TR_OK ? http_reply_json(rep, 200, result) : rc;
}

enum tr_code h_risk_backtest(struct http_req *req, struct http_reply *rep)
{
	json_t *result;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_risk_backtest(api_session(req), &who, http_req_query(req, "from"),
					    http_req_query(req, "to"), http_req_query(req, "band"),
					    &result, &req->err);
	return rc == TR_OK ? http_reply_json(rep, 200, result) : rc;
}

enum tr_code h_policies(struct http_req *req, struct http_reply *rep)
{
	json_t *body;
	enum tr_code rc = app_policies_show(api_session(req), &body, &req->err);
	return rc == TR_OK ? http_reply_json(rep, 200, body) : rc;
}
