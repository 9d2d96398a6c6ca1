/*
 * h_alerts.c -- POST /integrations/alertmanager: Prometheus Alertmanager's webhook
 * (payload version 4) decoded into a struct alert_notification for app/alerts.h.
 *
 * Alertmanager authenticates with a Transom API token (role pipeline or admin) set as the
 * receiver's `http_config.authorization.credentials`; the dispatcher refuses a missing or
 * wrong one (401) and parses the JSON body (400 when it is not JSON).  Here each member is
 * checked for its type, naming the field (422).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/jspec.h"
#include "app/alerts.h"
#include "crypto/crypto.h"
#include "metrics/metrics.h"

/* Decodes alert `i` of `arr` into `a`; 422 naming "alerts[i].member". */
static enum tr_code decode_alert(json_t *v, size_t i, struct alert_item *a, struct tr_error *err)
{
	const struct jspec spec[] = {
		{"status", JSPEC_STRING, true, &a->status},
		{"labels", JSPEC_OBJECT, true, &a->labels},
		{"annotations", JSPEC_OBJECT, false, &a->annotations},
		{"startsAt", JSPEC_STRING, false, &a->starts_at},
		{"endsAt", JSPEC_STRING, false, &a->ends_at},
		{"fingerprint", JSPEC_STRING, false, &a->fingerprint},
		JSPEC_END,
	};
	char field[sizeof err->field];
	if (!json_is_object(v)) {
		snprintf(field, sizeof field, "alerts[%zu]", i);
		return tr_error_set(err, TR_E_UNPROCESSABLE, field, "must be an object");
	}
	enum tr_code rc = jspec_parse(v, spec, false, err);
	if (rc != TR_OK) {
		snprintf(field, sizeof field, "alerts[%zu].%.90s", i, err->field);
		memcpy(err->field, field, sizeof field);
	}
	return rc;
}

enum tr_code h_alertmanager(struct http_req *req, struct http_reply *rep)
{
	struct app *app = req->app;
	struct alert_notification n = {0};
	json_t *alerts = NULL;
	const struct jspec spec[] = {
		{"version", JSPEC_STRING, true, &n.version},
		{"groupKey", JSPEC_STRING, true, &n.group_key},
		{"status", JSPEC_STRING, true, &n.status},
		{"receiver", JSPEC_STRING, false, &n.receiver},
		{"externalURL", JSPEC_STRING, false, &n.external_url},
		{"groupLabels", JSPEC_OBJECT, false, &n.group_labels},
		{"commonLabels", JSPEC_OBJECT, false, &n.common_labels},
		{"commonAnnotations", JSPEC_OBJECT, false, &n.common_annotations},
		{"alerts", JSPEC_ANY, true, &alerts},
		JSPEC_END,
	};
	metrics_alert(app->metrics, NULL);
	enum tr_code rc = json_is_object(req->json)
				  ? jspec_parse(req->json, spec, false, &req->err)
				  : tr_error_set(&req->err, TR_E_UNPROCESSABLE, NULL,
						 "the body must be a JSON object");
	if (rc == TR_OK && !json_is_array(alerts))
		rc = tr_error_set(&req->err, TR_E_UNPROCESSABLE, "alerts", "must be an array");
	struct alert_item *items = NULL;
	if (rc == TR_OK && json_array_size(alerts) > 0) {
		items = calloc(json_array_size(alerts), sizeof *items);
		if (items == NULL)
			rc = tr_error_set(&req->err, TR_E_INTERNAL, NULL, "out of memory");
	}
	for (size_t i = 0; rc == TR_OK && i < json_array_size(alerts); i++)
		rc = decode_alert(json_array_get(alerts, i), i, &items[i], &req->err);
	n.alerts = items;
	n.n_alerts = rc == TR_OK ? json_array_size(alerts) : 0;
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	if (rc == TR_OK)
		rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK) {
		c.idem_key = NULL; /* deduplication is by groupKey (app/alerts.h) */
		rc = alerts_notify(&c, &n, &out, &req->err);
	}
	metrics_alert(app->metrics, rc == TR_OK
					    ? json_string_value(json_object_get(out.body, "action"))
					    : "refused");
	free(items);
	return api_rec_reply(req, rep, rc, &out);
}
