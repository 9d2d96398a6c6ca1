/*
 * h_incidents.c -- what an incident adds over HTTP to the record routes: its suspect
 * changes and confirming one as its cause.  Decodes, calls app/suspects.h, encodes.
 */
#include "api/api.h"
#include "crypto/crypto.h"
#include "app/records.h"
#include "app/suspects.h"

enum tr_code h_incident_suspects(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_suspects(&c, route_param(&req->match, "id"), &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_incident_suspect_confirm(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	struct rec_versions expect;
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_suspect_confirm(
			&c, route_param(&req->match, "id"), route_param(&req->match, "change_id"),
			api_rec_versions(http_req_header(req, "If-Match"), &expect), &out,
			&req->err);
	return api_rec_reply(req, rep, rc, &out);
}
