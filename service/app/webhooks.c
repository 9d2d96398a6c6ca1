/*
 * webhooks.c -- webhook subscriptions and their deliveries (see webhooks.h): the checks
 * of a new subscription, its sealed secret, what each caller may see, and for the
 * delivery worker the fan-out, the claim, the signed body and the outcome.
 */
#include "app/webhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "net/net.h"
#include "store/webhooks.h"

#define URL_MAX     2048
#define EVENTS_MAX  64
#define PATTERN_MAX 128
#define SECRET_MIN  16
#define SECRET_MAX  256

/* The owner the caller may act for: NULL (everyone's) for admins. */
static const char *owner_of(const struct app_actor *who)
{
	return (who->roles & ROLE_ADMIN) ? NULL : who->name;
}

/* Why `url` is not a webhook URL, or NULL when it is one. */
static const char *url_problem(const char *url)
{
	size_t n = strlen(url);
	const char *rest = strncmp(url, "https://", 8) == 0  ? url + 8
			   : strncmp(url, "http://", 7) == 0 ? url + 7
							     : NULL;
	if (rest == NULL)
		return "must start with http:// or https://";
	if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#')
		return "must name a host";
	if (n > URL_MAX)
		return "must be 2048 characters at most";
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return "must not contain spaces or control characters";
	return NULL;
}

/*
 * Whether `p` is an event pattern: '*', a topic ("change.scheduled"), or a topic prefix
 * ending in '*' ("change.*"); topics are letters, digits and . _ : -.
 */
static bool pattern_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > PATTERN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '*' && i == n - 1)
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

static enum tr_code check_events(struct tr_error *err, json_t *events)
{
	size_t n = json_array_size(events), i;
	json_t *v;
	if (n == 0 || n > EVENTS_MAX)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "events",
				    "'events' must list 1 to %d patterns (\"*\", \"change.*\", "
				    "\"record.created\", ...)",
				    EVENTS_MAX);
	json_array_foreach(events, i, v) {
		char field[32];
		snprintf(field, sizeof field, "events[%zu]", i);
		if (!pattern_ok(json_string_value(v)))
			return tr_error_set(err, TR_E_UNPROCESSABLE, field,
					    "'%s' must be a topic (letters, digits, . _ : -), a "
					    "prefix ending in '*' like \"change.*\", or \"*\"",
					    field);
		for (size_t k = 0; k < i; k++)
			if (json_equal(v, json_array_get(events, k)))
				return tr_error_set(err, TR_E_UNPROCESSABLE, field,
						    "'%s' repeats events[%zu]", field, k);
	}
	return TR_OK;
}

static enum tr_code check_secret(struct tr_error *err, const char *secret)
{
	size_t n = strlen(secret);
	bool printable = true;
	for (const unsigned char *p = (const unsigned char *)secret; *p; p++)
		printable = printable && *p > 0x20 && *p < 0x7f;
	if (n < SECRET_MIN || n > SECRET_MAX || !printable)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "secret",
				    "'secret' must be %d to %d printable ASCII characters without "
				    "spaces (leave it out to have one generated)",
				    SECRET_MIN, SECRET_MAX);
	return TR_OK;
}

/* The URL, the patterns and the secret of a new subscription, checked. */
static enum tr_code check_request(struct app *app, const struct app_webhook_request *rq,
				  struct tr_error *err)
{
	enum tr_code rc;
	const char *why = url_problem(rq->url);
	if (why != NULL)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "url", "'url' %s", why);
	/* SSRF: an internal address written as a literal is refused now; a name is checked
	 * each time it is resolved, when a delivery connects (net.h). */
	char refused[256];
	if (!net_guard_check_url(app->guard, rq->url, refused, sizeof refused)) {
		rc = tr_error_set(err, TR_E_UNPROCESSABLE, "url", "'url': %s", refused);
		tr_error_rule(err, TR_R_INTERNAL_ADDRESS);
		return rc;
	}
	if ((rc = check_events(err, rq->events)) != TR_OK)
		return rc;
	if (rq->secret != NULL && (rc = check_secret(err, rq->secret)) != TR_OK)
		return rc;
	return TR_OK;
}

enum tr_code app_webhook_create(struct app_session *s, const struct app_actor *who,
				const struct app_webhook_request *rq, json_t **out, long long *id,
				struct tr_error *err)
{
	struct app *app = s->app;
	const char *secret = rq->secret;
	char generated[64];
	*out = NULL;
	enum tr_code rc = check_request(app, rq, err);
	if (rc != TR_OK)
		return rc;
	if (secret == NULL) {
		if (!crypto_token("whsec_", 24, generated, sizeof generated))
			return tr_error_set(err, TR_E_INTERNAL, NULL, "no randomness");
	}
	/* Kept sealed: the database alone does not give the secret away. */
	char *sealed = app->keyring ? crypto_seal(app->keyring, secret ? secret : generated,
						  CRYPTO_AAD_WEBHOOK_SECRET)
				    : NULL;
	if (sealed == NULL)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "cannot seal the secret");
	json_t *hook = NULL;
	enum db_status st =
		store_webhook_insert(s->store, who->name, rq->url, rq->events, sealed, &hook);
	free(sealed);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	*id = (long long)json_integer_value(json_object_get(hook, "id"));
	if (secret == NULL) {
		json_object_set_new(hook, "secret", json_string(generated));
		json_object_set_new(hook, "note",
				    json_string("the secret is shown only now: keep it to verify "
						"X-Transom-Signature"));
	}
	*out = hook;
	return TR_OK;
}

enum tr_code app_webhooks_list(struct app_session *s, const struct app_actor *who, json_t **out,
			       struct tr_error *err)
{
	*out = NULL;
	enum db_status st = store_webhooks_list(s->store, owner_of(who), 0, false, out);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	return TR_OK;
}

enum tr_code app_webhook_get(struct app_session *s, const struct app_actor *who, long long id,
			     const char *id_text, bool counts, json_t **out, struct tr_error *err)
{
	*out = NULL;
	if (id == 0)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no webhook '%s'", id_text);
	json_t *list = NULL;
	enum db_status st = store_webhooks_list(s->store, owner_of(who), id, counts, &list);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (json_array_size(list) == 0) {
		json_decref(list);
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no webhook %lld of yours", id);
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return TR_OK;
}

enum tr_code app_webhook_delete(struct app_session *s, const struct app_actor *who, long long id,
				const char *id_text, struct tr_error *err)
{
	if (id == 0)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no webhook '%s'", id_text);
	enum db_status st = store_webhook_deactivate(s->store, id, owner_of(who));
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no webhook %lld of yours", id);
	return TR_OK;
}

enum tr_code app_webhook_deliveries(struct app_session *s, const struct app_actor *who,
				    long long id, const char *id_text,
				    const struct app_delivery_query *q, json_t **out,
				    struct tr_error *err)
{
	json_t *hook = NULL, *list = NULL;
	*out = NULL;
	enum tr_code rc = app_webhook_get(s, who, id, id_text, false, &hook, err);
	json_decref(hook);
	if (rc != TR_OK)
		return rc;
	struct store_delivery_filter f = {.webhook_id = id,
					  .before = q->before,
					  .status = q->status,
					  .record = q->record,
					  .limit = (unsigned)q->limit};
	enum db_status st = store_webhook_deliveries(s->store, &f, &list);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	json_t *body = json_pack("{s:I, s:o}", "webhook", (json_int_t)id, "deliveries", list);
	if (body != NULL && json_array_size(list) == (size_t)q->limit) {
		/* a full page: the next one starts below its last id */
		json_t *last = json_array_get(list, json_array_size(list) - 1);
		json_object_set_new(body, "next_before", json_incref(json_object_get(last, "id")));
	}
	*out = body;
	return TR_OK;
}

enum tr_code app_webhook_replay(struct app_session *s, const struct app_actor *who, long long id,
				long long delivery, json_t **out, struct tr_error *err)
{
	char was[16];
	*out = NULL;
	enum db_status st = store_webhook_replay(s->store, id, delivery, owner_of(who), was);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	if (st == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "delivery_id",
				    "no delivery %lld of webhook %lld of yours", delivery, id);
	if (strcmp(was, "pending") == 0)
		return tr_error_set(err, TR_E_CONFLICT, "delivery_id",
				    "delivery %lld is pending already: it is being retried",
				    delivery);
	json_t *list = NULL;
	struct store_delivery_filter f = {.webhook_id = id, .id = delivery, .limit = 1};
	st = store_webhook_deliveries(s->store, &f, &list);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	json_t *d = json_incref(json_array_get(list, 0));
	json_decref(list);
	*out = d ? d : json_object();
	return TR_OK;
}

/* ---- the delivery worker ---------------------------------------------------------------- */

int app_webhooks_fan_out(struct app_session *s, unsigned batch, unsigned rounds,
			 unsigned max_attempts)
{
	unsigned events = 0, deliveries = 0;
	bool more = false;
	for (unsigned round = 0; round < rounds; round++) {
		enum db_status st = store_webhook_fanout(s->store, batch, &events, &deliveries);
		if (st < 0) {
			if (st != DB_DOWN)
				LOG_WARN("event=webhook_fanout_failed error=\"%s\"",
					 store_last_error(s->store));
			return -1;
		}
		if (deliveries > 0)
			LOG_DEBUG("event=webhook_fanout events=%u deliveries=%u", events,
				  deliveries);
		more = events == batch;
		if (!more)
			break;
	}
	enum db_status st = store_webhook_expire(s->store, max_attempts);
	if (st > 0)
		LOG_WARN("event=webhook_expired count=%d", (int)st);
	return more ? 1 : 0;
}

/*
 * The request body: {"id", "topic", "attempt", "created_at", "data"}.  Owned text, or
 * NULL when out of memory.
 */
static char *body_of(const struct store_webhook_job *job)
{
	json_t *data = json_loads(job->payload, 0, NULL);
	json_t *o = json_pack("{s:I, s:s, s:i, s:s, s:o}", "id", (json_int_t)job->id, "topic",
			      job->topic, "attempt", job->attempt, "created_at", job->created_at,
			      "data", data ? data : json_null());
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* Renders and signs the claimed d->job into `d`. */
static void render(struct app *app, struct app_webhook_delivery *d)
{
	const struct store_webhook_job *job = d->job;
	char hex[CRYPTO_SHA256_HEX_LEN];
	d->id = job->id;
	d->webhook_id = job->webhook_id;
	d->attempt = job->attempt;
	d->topic = job->topic;
	d->url = job->url;
	d->started_ms = clock_wall_ms();
	d->body = body_of(job);
	/* The secret: sealed (open it), or plain from before migration 0013 until start-up
	 * sealed it. */
	char *secret = job->secret_sealed[0]
			       ? (app->keyring ? crypto_open(app->keyring, job->secret_sealed,
							     CRYPTO_AAD_WEBHOOK_SECRET, NULL)
					       : NULL)
			       : strdup(job->secret);
	snprintf(d->ts, sizeof d->ts, "%lld", d->started_ms / 1000);
	snprintf(d->delivery, sizeof d->delivery, "%lld", job->id);
	/* Signed: the timestamp, a dot, and the body, byte for byte. */
	size_t tlen = strlen(d->ts), blen = d->body ? strlen(d->body) : 0;
	char *signed_text = d->body ? malloc(tlen + 1 + blen) : NULL;
	bool sig_ok = false;
	d->len = blen;
	if (signed_text != NULL && secret != NULL) {
		memcpy(signed_text, d->ts, tlen);
		signed_text[tlen] = '.';
		memcpy(signed_text + tlen + 1, d->body, blen);
		sig_ok = crypto_hmac_sha256_hex(secret, strlen(secret), signed_text,
						tlen + 1 + blen, hex);
	}
	free(signed_text);
	bool have_secret = secret != NULL;
	if (have_secret) {
		crypto_cleanse(secret, strlen(secret));
		free(secret);
	}
	if (!sig_ok)
		snprintf(d->error, sizeof d->error, "%s",
			 d->body == NULL ? "out of memory"
			 : !have_secret ? "cannot open the signing secret (TRANSOM_SECRET_KEY_FILE "
					  "lacks its key?)"
					: "cannot sign the body");
	else
		snprintf(d->sig, sizeof d->sig, "v1=%s", hex);
}

bool app_webhook_claim(struct app_session *s, long long lease_ms, unsigned max_attempts,
		       struct app_webhook_delivery *d)
{
	memset(d, 0, sizeof *d);
	d->job = calloc(1, sizeof *d->job);
	if (d->job == NULL)
		return false;
	enum db_status st = store_webhook_claim(s->store, lease_ms, max_attempts, d->job);
	if (st < 0 && st != DB_DOWN)
		LOG_WARN("event=webhook_claim_failed error=\"%s\"", store_last_error(s->store));
	if (st != DB_ONE) {
		free(d->job);
		d->job = NULL;
		return false;
	}
	render(s->app, d);
	return true;
}

void app_webhook_delivery_clear(struct app_webhook_delivery *d)
{
	if (d == NULL)
		return;
	store_webhook_job_clear(d->job);
	free(d->job);
	free(d->body);
	memset(d, 0, sizeof *d);
}

void app_webhook_record(struct app_session *s, const struct app_webhook_delivery *d,
			long long duration_ms, int status, const char *error,
			enum app_webhook_outcome outcome, long long retry_ms)
{
	enum store_webhook_outcome o = outcome == APP_WEBHOOK_DELIVERED ? STORE_WEBHOOK_DELIVERED
				       : outcome == APP_WEBHOOK_DEAD    ? STORE_WEBHOOK_DEAD
									: STORE_WEBHOOK_RETRY;
	enum db_status st = store_webhook_record(s->store, d->job, d->started_ms, duration_ms,
						 status, error, o, retry_ms);
	if (st < 0)
		LOG_WARN("event=webhook_record_failed delivery=%lld error=\"%s\"", d->id,
			 store_last_error(s->store));
}
