/*
 * h_github.c -- POST /integrations/github: webhooks of Transom's GitHub App (deployment
 * protection rules), authenticated by their HMAC-SHA256 signature over the raw body,
 * checked before the body is parsed (the route has no ROUTE_JSON_BODY).
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "auth/roles.h"
#include "crypto/crypto.h"
#include "app/records.h"

/* Compares two strings in time independent of where they differ. */
static bool same(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char diff = na != nb;
	for (size_t i = 0; i < na && i < nb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

enum tr_code h_github(struct http_req *req, struct http_reply *rep)
{
	struct app *app = req->app;
	const char *secret = app->cfg->github_secret;
	if (secret[0] == '\0')
		return tr_error_set(&req->err, TR_E_NOT_FOUND, NULL,
				    "the GitHub integration is not configured "
				    "(TRANSOM_GITHUB_WEBHOOK_SECRET)");
	const char *sig = http_req_header(req, "X-Hub-Signature-256");
	char mac[CRYPTO_SHA256_HEX_LEN], want[CRYPTO_SHA256_HEX_LEN + 8];
	if (!crypto_hmac_sha256_hex(secret, strlen(secret), req->body, req->body_len, mac))
		return tr_error_set(&req->err, TR_E_INTERNAL, NULL, "cannot compute the signature");
	snprintf(want, sizeof want, "sha256=%s", mac);
	if (sig == NULL || !same(sig, want))
		return tr_error_set(&req->err, TR_E_UNAUTHENTICATED, "X-Hub-Signature-256",
				    "missing or bad signature");
	/* Only a body GitHub signed is parsed. */
	enum tr_code prc = api_json_body(req);
	if (prc != TR_OK)
		return prc;
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc != TR_OK)
		return rc;
	c.actor = "github";
	c.roles = ROLE_PIPELINE;
	c.idem_key = NULL;
	rc = records_github_event(&c, http_req_header(req, "X-GitHub-Event"), req->json,
				  app->cfg->github_api_url, &out, &req->err);
	if (rc == TR_OK && strcmp(out.kind, "observation") == 0)
		api_count_observation(req, &out); /* a deployment_status Transom did not gate */
	return api_rec_reply(req, rep, rc, &out);
}
