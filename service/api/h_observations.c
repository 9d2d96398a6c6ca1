/*
 * h_observations.c -- deployments observed outside Transom (Argo CD, Flux, any CD tool):
 * POST /v1/observations reports one, GET lists them (?unauthorized=true: the flagged
 * ones).  Decodes, calls app/observations.h, encodes; counts each new one in /metrics.
 */
#include <string.h>

#include "api/api.h"
#include "api/jspec.h"
#include "crypto/crypto.h"
#include "metrics/metrics.h"
#include "app/app.h"
#include "app/observations.h"

/* A new observation (201) counts in transom_observed_deployments_total. */
void api_count_observation(struct http_req *req, const struct rec_reply *out)
{
	if (out->outcome == REC_CREATED &&
	    json_is_boolean(json_object_get(out->body, "authorized")))
		metrics_observation(((struct app *)req->app)->metrics,
				    json_is_true(json_object_get(out->body, "authorized")));
}

enum tr_code h_observations_create(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	struct observation_req in = {0};
	const struct jspec spec[] = {{"source", JSPEC_STRING, true, &in.source},
				     {"external_id", JSPEC_STRING, false, &in.external_id},
				     {"service", JSPEC_STRING, true, &in.service},
				     {"environment", JSPEC_STRING, false, &in.environment},
				     {"ref", JSPEC_STRING, false, &in.ref},
				     {"version", JSPEC_STRING, false, &in.ref},
				     {"url", JSPEC_STRING, false, &in.url},
				     {"observed_at", JSPEC_STRING, false, &in.observed_at},
				     JSPEC_END};
	enum tr_code rc = jspec_parse(req->json, spec, true, &req->err);
	if (rc == TR_OK && json_object_get(req->json, "ref") != NULL &&
	    json_object_get(req->json, "version") != NULL)
		rc = tr_error_set(&req->err, TR_E_UNPROCESSABLE, "version",
				  "send 'ref' or 'version', not both");
	if (rc == TR_OK)
		rc = api_rec_context(req, &c, hash);
	if (rc != TR_OK)
		return rc;
	c.idem_key = NULL; /* (source, external_id) is the key */
	rc = records_observe(&c, &in, &out, &req->err);
	if (rc == TR_OK)
		api_count_observation(req, &out);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_observations_list(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	const char *u = http_req_query(req, "unauthorized");
	if (u != NULL && strcmp(u, "true") != 0 && strcmp(u, "false") != 0)
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "unauthorized",
				    "'unauthorized' is true or false");
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_observations(&c, u != NULL && strcmp(u, "true") == 0,
					  http_req_query(req, "since"),
					  http_req_query(req, "limit"), &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_observation_get(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_observation_get(&c, route_param(&req->match, "id"), &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}
