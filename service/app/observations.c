/*
 * observations.c -- deployments observed outside Transom, judged against the changes that
 * could authorize them (observations.h).
 */
#include "app/observations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/fields.h"
#include "app/records_int.h"
#include "core/timeutil.h"
#include "defs/defs.h"
#include "policy/catalog.h"
#include "policy/incidents.h"
#include "store/effects.h"
#include "store/observations.h"

#define FUTURE_SLACK_MS (5 * 60 * 1000LL) /* clocks of CD tools run a little ahead */

static bool source_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* The checked request, with its defaults filled in. */
struct obs_job {
	struct rec_ctx *c;
	struct store_observation o;
	char external_id[320], reason[512], change[32], id[32];
	bool created;
};

static enum tr_code check(struct rec_ctx *c, const struct observation_req *in, struct obs_job *j,
			  struct tr_error *err)
{
	if (in->source == NULL || !source_ok(in->source))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "source",
				    "'source' is required: 1 to 64 lowercase letters, digits, '.', "
				    "'_' and '-' naming the tool (argocd, flux, github, ...)");
	if (in->service == NULL)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "service", "'service' is required");
	if (c->defs->catalog != NULL && catalog_find(c->defs->catalog, in->service) == NULL)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "service", "unknown service '%s'",
				    in->service);
	const char *env = in->environment ? in->environment : "production";
	if (!fields_environment_ok(env))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "environment",
				    "'environment' must be 1 to 64 lowercase letters, digits, - "
				    "and _ (e.g. production)");
	long long at = c->now_ms;
	if (in->observed_at != NULL && !time_parse_rfc3339(in->observed_at, &at))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "observed_at",
				    "'observed_at' must be an RFC 3339 time such as "
				    "2026-12-07T10:00:00Z");
	if (at > c->now_ms + FUTURE_SLACK_MS)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "observed_at",
				    "'observed_at' is in the future");
	if (in->external_id != NULL &&
	    (in->external_id[0] == '\0' || strlen(in->external_id) > 200))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "external_id",
				    "'external_id' must have 1 to 200 bytes");
	if (in->ref != NULL && strlen(in->ref) > 200)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "ref",
				    "'ref' must have at most 200 bytes");
	if (in->url != NULL && (strlen(in->url) > 2000 || (strncmp(in->url, "https://", 8) != 0 &&
							   strncmp(in->url, "http://", 7) != 0)))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "url",
				    "'url' must be an http(s) URL of at most 2000 bytes");
	char when[TIME_RFC3339_LEN];
	time_format_ms(at, when);
	if (in->external_id != NULL)
		snprintf(j->external_id, sizeof j->external_id, "%s", in->external_id);
	else
		snprintf(j->external_id, sizeof j->external_id, "%.64s@%.64s:%.150s@%s",
			 in->service, env, in->ref ? in->ref : "", when);
	j->o = (struct store_observation){in->source, j->external_id, in->service, env,  in->ref,
					  in->url,    c->actor,       at,          NULL, j->reason};
	return TR_OK;
}

/* One attempt: judge, record, and for a new unauthorized one the event. */
static enum db_status observe_tx(struct store *st, void *cls)
{
	struct obs_job *j = cls;
	char when[TIME_RFC3339_LEN];
	time_format_ms(j->o.observed_ms, when);
	enum db_status s = store_observation_authorizer(st, j->o.service, j->o.environment,
							j->o.observed_ms, j->change);
	if (s < 0)
		return s;
	j->o.change = s == DB_ONE ? j->change : NULL;
	if (j->o.change != NULL)
		snprintf(j->reason, sizeof j->reason,
			 "authorized by %s: implementing, or booked for a window containing %s",
			 j->change, when);
	else
		snprintf(j->reason, sizeof j->reason,
			 "no change of %s (%s) was implementing or booked for a window containing "
			 "%s",
			 j->o.service, j->o.environment, when);
	if ((s = store_observation_insert(st, &j->o, j->id, &j->created)) < 0)
		return s;
	if (!j->created || j->o.change != NULL)
		return DB_ONE;
	/* Flagged: live events and webhooks hear of it with the record, or not at all. */
	char at[TIME_RFC3339_LEN];
	time_format_ms(j->c->now_ms, at);
	json_t *ev =
		json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s}",
			  "type", "change.unauthorized", "kind", "change", "id", j->id, "services",
			  j->o.service, "environment", j->o.environment, "source", j->o.source,
			  "ref", j->o.ref, "url", j->o.url, "observed_at", when, "reason",
			  j->reason, "actor", j->c->actor ? j->c->actor : "?", "at", at);
	if (ev == NULL)
		return DB_HARD;
	s = store_outbox_add(st, "change.unauthorized", NULL, ev);
	if (s >= 0)
		s = store_notify(st, ev);
	json_decref(ev);
	return s < 0 ? s : DB_ONE;
}

/* Opens the incident policies/incidents.json asks for (unauthorized.open_incident). */
static enum tr_code open_incident(struct rec_ctx *c, struct obs_job *j, struct tr_error *err)
{
	const struct policy_incidents *p = defs_incidents(c->defs);
	char title[256], desc[1024];
	snprintf(title, sizeof title, "Unauthorized deployment of %s to %s", j->o.service,
		 j->o.environment);
	snprintf(desc, sizeof desc,
		 "%s observed a deployment%s%s at %s that no change authorized (%s): %s.%s%s",
		 j->o.source, j->o.ref ? " of " : "", j->o.ref ? j->o.ref : "", j->o.service, j->id,
		 j->reason, j->o.url ? " See " : "", j->o.url ? j->o.url : "");
	json_t *input = json_pack("{s:s, s:s, s:s, s:s}", "title", title, "description", desc,
				  "service", j->o.service, "priority", p->unauth_priority);
	struct rec_reply made = {0};
	struct rec_ctx sys = *c;
	sys.actor = "system";
	sys.roles |= REC_ROLE_SYSTEM;
	sys.idem_key = NULL;
	enum tr_code rc = input ? records_create(&sys, "incident", input, &made, err) : TR_E_NOMEM;
	json_decref(input);
	const char *inc = json_string_value(json_object_get(made.body, "id"));
	if (rc == TR_OK && inc != NULL) {
		enum db_status s = store_observation_set_incident(c->st, j->id, inc);
		if (s < 0)
			rc = rec_db_error(err, s, c->st);
	}
	rec_reply_clear(&made);
	return rc;
}

enum tr_code records_observe(struct rec_ctx *c, const struct observation_req *in,
			     struct rec_reply *out, struct tr_error *err)
{
	struct obs_job j = {.c = c};
	enum tr_code rc = check(c, in, &j, err);
	if (rc != TR_OK)
		return rc;
	enum db_status s = store_tx(c->st, STORE_READ_COMMITTED, c->retries, observe_tx, &j);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	if (j.created && j.o.change == NULL && defs_incidents(c->defs)->unauth_incident &&
	    (rc = open_incident(c, &j, err)) != TR_OK)
		return rc;
	json_t *obs = NULL;
	if ((s = store_observation_get(c->st, j.id, &obs)) < 0)
		return rec_db_error(err, s, c->st);
	out->body = obs;
	out->outcome = j.created ? REC_CREATED : REC_DONE;
	snprintf(out->kind, sizeof out->kind, "observation");
	snprintf(out->id, sizeof out->id, "%s", j.id);
	return obs ? TR_OK : TR_E_INTERNAL;
}

enum tr_code records_observations(struct rec_ctx *c, bool unauthorized, const char *since,
				  const char *limit, struct rec_reply *out, struct tr_error *err)
{
	long long since_ms = 0;
	long n = 100;
	char *end = NULL;
	if (since != NULL && !time_parse_rfc3339(since, &since_ms))
		return tr_error_set(err, TR_E_BAD_PARAMETER, "since",
				    "'since' must be an RFC 3339 time");
	if (limit != NULL && ((n = strtol(limit, &end, 10)) < 1 || n > 500 || *end != '\0'))
		return tr_error_set(err, TR_E_BAD_PARAMETER, "limit",
				    "'limit' must be an integer from 1 to 500");
	json_t *list = NULL;
	enum db_status s = store_observations_list(c->st, unauthorized, since_ms, (int)n, &list);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	out->body = json_pack("{s:o}", "observations", list);
	return out->body ? TR_OK : TR_E_NOMEM;
}

enum tr_code records_observation_get(struct rec_ctx *c, const char *id, struct rec_reply *out,
				     struct tr_error *err)
{
	json_t *obs = NULL;
	enum db_status s = store_observation_get(c->st, id, &obs);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	if (s == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no observation '%s'", id);
	out->body = obs;
	return TR_OK;
}
