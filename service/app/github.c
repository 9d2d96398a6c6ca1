/*
 * github.c -- GitHub deployment protection rules as deployment requests.
 *
 * GitHub sends `deployment_protection_rule` when a workflow job targets an environment
 * guarded by Transom's GitHub App; the repository (policies/github.json) names the
 * service, duration and template.  It becomes a deployment request like a pipeline's
 * (idempotent on the callback URL, which is unique per run and environment); the
 * decision is reported back to deployment_callback_url by the background worker (see
 * jobs/github.c) when it is allow or deny.  `deployment_status` events of that deployment
 * record its outcome.  The signature was checked by the HTTP handler.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/observations.h"
#include "app/records_int.h"
#include "store/deployments.h"

/* GitHub's environment names are free text ("Production"); Transom's are lowercase. */
static void env_name(const char *env, char out[65])
{
	size_t k = 0;
	for (const char *e = env; *e != '\0' && k < 64; e++)
		out[k++] = isalnum((unsigned char)*e) ? (char)tolower((unsigned char)*e)
			   : *e == '_'                ? '_'
						      : '-';
	out[k] = '\0';
}

static enum tr_code protection_rule(struct rec_ctx *c, json_t *p, const char *api_url,
				    struct rec_reply *out, struct tr_error *err)
{
	const char *action = json_string_value(json_object_get(p, "action"));
	const char *env = json_string_value(json_object_get(p, "environment"));
	const char *callback = json_string_value(json_object_get(p, "deployment_callback_url"));
	json_t *repo = json_object_get(p, "repository");
	const char *full = json_string_value(json_object_get(repo, "full_name"));
	if (action == NULL || strcmp(action, "requested") != 0) {
		out->outcome = REC_ACCEPTED;
		out->body = json_pack("{s:s}", "ignored", "only action 'requested' is handled");
		return TR_OK;
	}
	if (env == NULL || callback == NULL || full == NULL)
		return tr_error_set(err, TR_E_UNPROCESSABLE,
				    env == NULL        ? "environment"
				    : callback == NULL ? "deployment_callback_url"
						       : "repository.full_name",
				    "a deployment_protection_rule needs environment, "
				    "deployment_callback_url and repository.full_name");
	size_t n = strlen(api_url);
	if (strncmp(callback, api_url, n) != 0 || (callback[n] != '/' && callback[n] != '\0'))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "deployment_callback_url",
				    "the callback must be on %s (TRANSOM_GITHUB_API_URL)", api_url);
	json_t *map = json_object_get(json_object_get(c->defs->github, "repositories"), full);
	if (map == NULL)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "repository.full_name",
				    "repository '%s' is not in policies/github.json", full);
	json_t *dep = json_object_get(p, "deployment");
	char url[1024];
	snprintf(url, sizeof url, "%s/actions",
		 json_string_value(json_object_get(repo, "html_url")) ?: full);
	char envn[65];
	env_name(env, envn);
	json_t *input = json_pack(
		"{s:O, s:s, s:O, s:{s:s, s:s?, s:s?}}", "service", json_object_get(map, "service"),
		"environment", envn, "duration", json_object_get(map, "duration"), "pipeline",
		"url", url, "commit",
		json_string_value(json_object_get(p, "sha"))
			?: json_string_value(json_object_get(dep, "sha")),
		"actor", json_string_value(json_object_get(json_object_get(p, "sender"), "login")));
	if (json_is_string(json_object_get(map, "template")))
		json_object_set(input, "template", json_object_get(map, "template"));
	char key[1200];
	snprintf(key, sizeof key, "github:%.1100s", callback);
	struct rec_ctx inner = *c;
	inner.idem_key = key;
	enum tr_code rc = records_deploy_request(&inner, input, out, err);
	json_decref(input);
	if (rc != TR_OK)
		return rc;
	const char *id = json_string_value(json_object_get(out->body, "id"));
	enum db_status s =
		store_github_attach(c->st, id, callback, env,
				    (long long)json_integer_value(json_object_get(dep, "id")));
	if (s < 0)
		return rec_db_error(err, s, c->st);
	out->outcome = REC_ACCEPTED; /* GitHub hears the decision through the callback */
	return TR_OK;
}

/*
 * A deployment_status of a deployment Transom did not gate: a deployment observed from
 * outside (observations.h), when it is under way or done ("in_progress", "success") and
 * policies/github.json maps its repository to a service.  One observation per GitHub
 * deployment (source "github", external id the deployment's id).
 */
static enum tr_code observed(struct rec_ctx *c, json_t *p, const char *state, struct rec_reply *out,
			     struct tr_error *err)
{
	json_t *dep = json_object_get(p, "deployment");
	json_t *st = json_object_get(p, "deployment_status");
	const char *full =
		json_string_value(json_object_get(json_object_get(p, "repository"), "full_name"));
	json_t *map = full ? json_object_get(json_object_get(c->defs->github, "repositories"), full)
			   : NULL;
	json_int_t gh = json_integer_value(json_object_get(dep, "id"));
	const char *why = NULL;
	if (state == NULL || (strcmp(state, "success") != 0 && strcmp(state, "in_progress") != 0))
		why = "not a deployment Transom gated; only in_progress and success are observed";
	else if (map == NULL)
		why = "not a deployment Transom gated; its repository is not in "
		      "policies/github.json";
	else if (gh <= 0)
		why = "a deployment_status needs deployment.id";
	if (why != NULL) {
		out->outcome = REC_ACCEPTED;
		out->body = json_pack("{s:s}", "ignored", why);
		return TR_OK;
	}
	char ext[32], envn[65];
	snprintf(ext, sizeof ext, "%lld", (long long)gh);
	env_name(json_string_value(json_object_get(dep, "environment"))
			 ?: json_string_value(json_object_get(st, "environment"))
			 ?: "production",
		 envn);
	const char *url = json_string_value(json_object_get(st, "target_url"));
	if (url == NULL || url[0] == '\0')
		url = json_string_value(json_object_get(st, "log_url"));
	if (url != NULL && url[0] == '\0')
		url = NULL;
	struct observation_req in = {
		.source = "github",
		.external_id = ext,
		.service = json_string_value(json_object_get(map, "service")),
		.environment = envn,
		.ref = json_string_value(json_object_get(dep, "sha"))
			       ?: json_string_value(json_object_get(dep, "ref")),
		.url = url,
		.observed_at = json_string_value(json_object_get(st, "created_at")),
	};
	return records_observe(c, &in, out, err);
}

static enum tr_code deployment_status(struct rec_ctx *c, json_t *p, struct rec_reply *out,
				      struct tr_error *err)
{
	const char *state = json_string_value(
		json_object_get(json_object_get(p, "deployment_status"), "state"));
	json_int_t gh = json_integer_value(json_object_get(json_object_get(p, "deployment"), "id"));
	char id[32];
	enum db_status s = gh > 0 ? store_github_find(c->st, gh, id) : DB_NONE;
	if (s < 0)
		return rec_db_error(err, s, c->st);
	const char *outcome = state == NULL                   ? NULL
			      : strcmp(state, "success") == 0 ? "success"
			      : strcmp(state, "failure") == 0 || strcmp(state, "error") == 0
				      ? "failure"
				      : NULL;
	if (s == DB_NONE)
		return observed(c, p, state, out, err);
	if (outcome == NULL) {
		out->outcome = REC_ACCEPTED;
		out->body =
			json_pack("{s:s}", "ignored",
				  s == DB_NONE ? "not a deployment Transom gated"
					       : "only success, failure and error are outcomes");
		return TR_OK;
	}
	json_t *input = json_pack("{s:s, s:s}", "outcome", outcome, "details",
				  "reported by GitHub (deployment_status)");
	enum tr_code rc = rec_deploy_result(c, id, input, true, out, err);
	json_decref(input);
	return rc;
}

enum tr_code records_github_event(struct rec_ctx *c, const char *event, json_t *payload,
				  const char *api_url, struct rec_reply *out, struct tr_error *err)
{
	if (event != NULL && strcmp(event, "ping") == 0) {
		out->body = json_pack("{s:b}", "pong", 1);
		return TR_OK;
	}
	if (event != NULL && strcmp(event, "deployment_protection_rule") == 0)
		return protection_rule(c, payload, api_url, out, err);
	if (event != NULL && strcmp(event, "deployment_status") == 0)
		return deployment_status(c, payload, out, err);
	out->outcome = REC_ACCEPTED;
	out->body = json_pack("{s:s}", "ignored", "event not handled");
	return TR_OK;
}

/* ---- reporting decisions back (jobs/github.c) ---------------------------------------------- */

enum tr_code records_github_due(struct rec_ctx *c, json_t **out, struct tr_error *err)
{
	enum db_status s = store_github_pending(c->st, c->now_ms, out);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

enum tr_code records_github_reported(struct rec_ctx *c, const char *id, const char *state,
				     struct tr_error *err)
{
	enum db_status s = store_github_reported(c->st, id, state);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

enum tr_code records_github_later(struct rec_ctx *c, const char *id, long long next_ms,
				  const char *why, struct tr_error *err)
{
	enum db_status s = store_github_later(c->st, id, next_ms, why);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}
