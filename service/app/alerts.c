/*
 * alerts.c -- Alertmanager notifications into incidents, and the maintenance silences'
 * bookkeeping (alerts.h).
 */
#include "app/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "policy/catalog.h"
#include "app/records_int.h"
#include "store/alerts.h"

/* A primary key in a btree index: PostgreSQL refuses entries over about 2700 bytes. */
#define GROUP_KEY_MAX         2000
#define DEFAULT_REOPEN_S      3600
#define DEFAULT_SILENCE_MS    (2LL * 3600 * 1000)
#define TITLE_MAX_CHARS       200
#define DESCRIPTION_MAX_BYTES 8000

/* ---- the policy (policies/alerts.json, validated by defs/) ---------------------------- */

static json_t *policy(const struct rec_ctx *c, const char *member)
{
	return c->defs->alerts ? json_object_get(c->defs->alerts, member) : NULL;
}

/* The value of label `name` in the group's common labels, its group labels or an alert's. */
static const char *label_of(const struct alert_notification *n, const char *name)
{
	const char *v = json_string_value(json_object_get(n->common_labels, name));
	if (v == NULL)
		v = json_string_value(json_object_get(n->group_labels, name));
	for (size_t i = 0; v == NULL && i < n->n_alerts; i++)
		v = json_string_value(json_object_get(n->alerts[i].labels, name));
	return v;
}

static bool in_catalog(const struct rec_ctx *c, const char *svc)
{
	return svc != NULL && svc[0] != '\0' &&
	       (c->defs->catalog == NULL || catalog_find(c->defs->catalog, svc) != NULL);
}

/*
 * The catalog service the group is about: the first service label present, mapped
 * through the policy's "services" (else taken as is when the catalog knows it); else the
 * unknown_service rule: route to its service, or refuse 422.
 */
static enum tr_code service_of(const struct rec_ctx *c, const struct alert_notification *n,
			       const char **out, struct tr_error *err)
{
	json_t *labels = policy(c, "service_labels");
	json_t *fallback = json_pack("[s]", "service");
	if (labels == NULL)
		labels = fallback;
	size_t i;
	json_t *l;
	const char *first = NULL, *seen = NULL;
	json_array_foreach(labels, i, l) {
		const char *name = json_string_value(l);
		const char *v = label_of(n, name);
		if (first == NULL)
			first = name;
		if (v == NULL)
			continue;
		seen = seen ? seen : name;
		const char *mapped = json_string_value(json_object_get(policy(c, "services"), v));
		if (mapped == NULL && in_catalog(c, v))
			mapped = v;
		if (mapped != NULL) {
			*out = mapped;
			json_decref(fallback);
			return TR_OK;
		}
	}
	json_t *unknown = policy(c, "unknown_service");
	const char *action = json_string_value(json_object_get(unknown, "action"));
	if (action != NULL && strcmp(action, "route") == 0) {
		*out = json_string_value(json_object_get(unknown, "service"));
		json_decref(fallback);
		return TR_OK;
	}
	char field[160];
	snprintf(field, sizeof field, "commonLabels.%.140s",
		 seen    ? seen
		 : first ? first
			 : "service");
	json_decref(fallback);
	tr_error_set(err, TR_E_UNPROCESSABLE, field,
		     seen ? "label '%s' names no service of the catalog, and policies/alerts.json "
			    "says to refuse such alerts"
			  : "no label names the service ('%s'), and policies/alerts.json says to "
			    "refuse such alerts",
		     seen    ? label_of(n, seen)
		     : first ? first
			     : "service");
	tr_error_rule(err, TR_R_ALERT_SERVICE);
	return TR_E_UNPROCESSABLE;
}

/* The priority of the group's severity label (policy "priorities", else the defaults). */
static const char *priority_of(const struct rec_ctx *c, const struct alert_notification *n)
{
	const char *label = json_string_value(policy(c, "severity_label")) ?: "severity";
	const char *sev = label_of(n, label);
	json_t *map = policy(c, "priorities");
	const char *p = sev && map ? json_string_value(json_object_get(map, sev)) : NULL;
	if (p == NULL && sev != NULL && map == NULL) {
		static const char *const defaults[][2] = {
			{"critical", "P1"}, {"page", "P1"}, {"high", "P2"}, {"error", "P2"},
			{"warning", "P3"},  {"low", "P4"},  {"info", "P4"}, {"none", "P4"}};
		for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
			if (strcmp(sev, defaults[i][0]) == 0)
				p = defaults[i][1];
	}
	return p ?: json_string_value(policy(c, "default_priority")) ?: "P3";
}

static long long reopen_window_ms(const struct rec_ctx *c)
{
	long long secs = DEFAULT_REOPEN_S;
	const char *w = json_string_value(policy(c, "reopen_window"));
	if (w != NULL && !time_parse_duration(w, &secs))
		secs = DEFAULT_REOPEN_S;
	return secs * 1000;
}

/* ---- checking the notification ----------------------------------------------------------- */

static bool firing_or_resolved(const char *s)
{
	return s != NULL && (strcmp(s, "firing") == 0 || strcmp(s, "resolved") == 0);
}

static enum tr_code check(const struct alert_notification *n, struct tr_error *err)
{
	if (n->version == NULL || strcmp(n->version, "4") != 0)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "version",
				    "only version \"4\" of Alertmanager's webhook payload is "
				    "understood, not \"%.32s\"",
				    n->version ? n->version : "");
	if (n->group_key == NULL || n->group_key[0] == '\0')
		return tr_error_set(err, TR_E_UNPROCESSABLE, "groupKey", "must not be empty");
	if (strlen(n->group_key) > GROUP_KEY_MAX)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "groupKey", "must be at most %d bytes",
				    GROUP_KEY_MAX);
	if (!firing_or_resolved(n->status))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "status",
				    "must be \"firing\" or \"resolved\"");
	if (n->n_alerts == 0)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "alerts",
				    "must hold at least one alert");
	for (size_t i = 0; i < n->n_alerts; i++)
		if (!firing_or_resolved(n->alerts[i].status)) {
			char field[48];
			snprintf(field, sizeof field, "alerts[%zu].status", i);
			return tr_error_set(err, TR_E_UNPROCESSABLE, field,
					    "must be \"firing\" or \"resolved\"");
		}
	return TR_OK;
}

/* ---- the incident ------------------------------------------------------------------------ */

/* Cuts UTF-8 text `s` to at most `max` characters, in place. */
static void cut_chars(char *s, size_t max)
{
	size_t chars = 0;
	for (char *p = s; *p != '\0'; p++)
		if (((unsigned char)*p & 0xC0) != 0x80 && chars++ == max) {
			*p = '\0';
			return;
		}
}

/* A string member of an object, or "". */
static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)) ?: "";
}

/* The new incident's fields (owned). */
static json_t *incident_input(const struct alert_notification *n, const char *service,
			      const char *priority, const char *caused_by, json_t *previous)
{
	char title[1024], desc[DESCRIPTION_MAX_BYTES + 512];
	const char *name = str(n->common_labels, "alertname");
	const char *summary = str(n->common_annotations, "summary");
	if (summary[0] == '\0' && n->n_alerts > 0)
		summary = str(n->alerts[0].annotations, "summary");
	snprintf(title, sizeof title, "%s%s%s", name[0] ? name : "Alert", summary[0] ? ": " : "",
		 summary);
	cut_chars(title, TITLE_MAX_CHARS);
	int used =
		snprintf(desc, sizeof desc, "Opened from Alertmanager (receiver %s), group %s.\n",
			 n->receiver ? n->receiver : "?", n->group_key);
	const char *d = str(n->common_annotations, "description");
	if (d[0] != '\0' && used < (int)sizeof desc)
		used += snprintf(desc + used, sizeof desc - (size_t)used, "%s\n", d);
	if (n->external_url && used < (int)sizeof desc)
		used += snprintf(desc + used, sizeof desc - (size_t)used, "Alertmanager: %s\n",
				 n->external_url);
	size_t i;
	json_t *p;
	json_array_foreach(previous, i, p) {
		if (used < (int)sizeof desc)
			used += snprintf(desc + used, sizeof desc - (size_t)used,
					 "%s an earlier incident of this alert group: %s\n",
					 i == json_array_size(previous) - 1 ? "After" : "Also",
					 json_string_value(p));
	}
	for (i = 0; i < n->n_alerts && used < DESCRIPTION_MAX_BYTES; i++) {
		const char *s = str(n->alerts[i].annotations, "summary");
		used += snprintf(desc + used, sizeof desc - (size_t)used, "- %s %s%s%s\n",
				 n->alerts[i].status, n->alerts[i].fingerprint ?: "",
				 s[0] ? ": " : "", s);
	}
	desc[DESCRIPTION_MAX_BYTES] = '\0';
	cut_chars(desc, DESCRIPTION_MAX_BYTES); /* never a split character at the end */
	json_t *in = json_pack("{s:s, s:s, s:s, s:s}", "title", title, "service", service,
			       "priority", priority, "description", desc);
	if (in != NULL && caused_by != NULL)
		json_object_set_new(in, "caused_by", json_string(caused_by));
	return in;
}

/*
 * Opens the incident of episode `episode` of the group: idempotent on (groupKey, episode)
 * through the Idempotency-Key machinery, so a retry or a concurrent copy of the same
 * notification gets the same incident.  Its id into `id`.
 */
static enum tr_code open_incident(struct rec_ctx *c, const struct alert_notification *n,
				  const char *service, const char *priority, const char *caused_by,
				  int episode, json_t *previous, char id[32], struct tr_error *err)
{
	char hash[CRYPTO_SHA256_HEX_LEN], key[128];
	crypto_sha256_hex(n->group_key, strlen(n->group_key), hash);
	snprintf(key, sizeof key, "alertmanager:%s:%d", hash, episode);
	json_t *in = incident_input(n, service, priority, caused_by, previous);
	if (in == NULL)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "out of memory");
	struct rec_ctx inner = *c;
	inner.idem_key = key;
	inner.idem_method = "POST";
	inner.idem_path = "/integrations/alertmanager";
	inner.idem_body_hash = hash;
	struct rec_reply o = {0};
	enum tr_code rc = records_create(&inner, "incident", in, &o, err);
	json_decref(in);
	if (rc == TR_OK)
		snprintf(id, 32, "%s", o.id);
	rec_reply_clear(&o);
	if (rc != TR_OK)
		return rc;
	enum db_status s = store_alert_group_set_incident(c->st, n->group_key, episode, id);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

/*
 * Fires `event` on incident `id` as Transom (the workflow gives these events to the
 * system role only).  *done is false when the incident had already moved (409): a
 * concurrent copy of the notification, or a person was quicker.
 */
static enum tr_code fire(struct rec_ctx *c, const char *id, const char *event, const char *comment,
			 bool *done, struct tr_error *err)
{
	struct rec_ctx inner = *c;
	inner.roles = REC_ROLE_SYSTEM;
	inner.idem_key = NULL;
	struct rec_reply o = {0};
	struct tr_error e = {0};
	enum tr_code rc = records_transition(&inner, "incident", id, event, comment, NULL, &o, &e);
	rec_reply_clear(&o);
	*done = rc == TR_OK;
	if (rc == TR_E_CONFLICT)
		return TR_OK;
	if (rc != TR_OK)
		*err = e;
	return rc;
}

static bool is_state(const char *state, const char *want)
{
	return state != NULL && strcmp(state, want) == 0;
}

enum tr_code alerts_notify(struct rec_ctx *c, const struct alert_notification *n,
			   struct rec_reply *out, struct tr_error *err)
{
	enum tr_code rc = check(n, err);
	const char *service = NULL;
	if (rc == TR_OK)
		rc = service_of(c, n, &service, err);
	if (rc != TR_OK)
		return rc;
	const char *priority = priority_of(c, n);
	const char *alertname = label_of(n, "alertname");
	json_t *fps = json_array();
	for (size_t i = 0; i < n->n_alerts; i++)
		if (n->alerts[i].fingerprint != NULL)
			json_array_append_new(fps, json_string(n->alerts[i].fingerprint));
	struct store_alert_group g = {0};
	enum db_status s =
		store_alert_group_seen(c->st, n->group_key, n->receiver, service, priority,
				       n->status, alertname, fps, c->now_ms, &g);
	if (s < 0) {
		json_decref(fps);
		return rec_db_error(err, s, c->st);
	}
	bool firing = strcmp(n->status, "firing") == 0;
	const char *action = "deduped";
	char incident[32] = "", change[32] = "";
	json_t *under_way = NULL;
	if (g.incident != NULL)
		snprintf(incident, sizeof incident, "%s", g.incident);
	if (firing && g.incident == NULL) {
		s = store_changes_under_way(c->st, service, c->now_ms, &under_way);
		if (s < 0) {
			rc = rec_db_error(err, s, c->st);
			goto done;
		}
	}
	if (firing && json_array_size(under_way) > 0) {
		/* A change to the service is under way: the alert is its business. */
		snprintf(change, sizeof change, "%s", str(json_array_get(under_way, 0), "change"));
		s = store_alert_group_link(c->st, n->group_key, change, service, alertname,
					   n->status, fps, c->now_ms);
		if (s < 0)
			rc = rec_db_error(err, s, c->st);
		action = "linked";
	} else if (firing && g.incident == NULL) {
		rc = open_incident(c, n, service, priority, g.change, g.episode, NULL, incident,
				   err);
		action = "opened";
	} else if (firing && is_state(g.incident_state, "resolved") && g.resolved_ms > 0 &&
		   c->now_ms - g.resolved_ms <= reopen_window_ms(c)) {
		bool done = false;
		rc = fire(c, g.incident, "alert_refired",
			  "the alert group fires again in Alertmanager", &done, err);
		if (rc == TR_OK && done)
			s = store_alert_group_mark(c->st, n->group_key, 0);
		if (s < 0)
			rc = rec_db_error(err, s, c->st);
		action = done ? "reopened" : "deduped";
	} else if (firing && (is_state(g.incident_state, "resolved") ||
			      is_state(g.incident_state, "closed"))) {
		/* Resolved too long ago, or closed: a new incident, naming the earlier ones. */
		int episode = g.episode;
		s = store_alert_group_new_episode(c->st, n->group_key, g.incident, &episode);
		json_t *previous = json_pack("[s]", g.incident);
		if (s < 0)
			rc = rec_db_error(err, s, c->st);
		else
			rc = open_incident(c, n, service, priority, NULL, episode, previous,
					   incident, err);
		json_decref(previous);
		action = "opened";
	} else if (!firing && g.incident != NULL && !is_state(g.incident_state, "resolved") &&
		   !is_state(g.incident_state, "closed")) {
		bool done = false;
		rc = fire(c, g.incident, "alert_resolved",
			  "every alert of the group resolved in Alertmanager", &done, err);
		if (rc == TR_OK && done)
			s = store_alert_group_mark(c->st, n->group_key, c->now_ms);
		if (s < 0)
			rc = rec_db_error(err, s, c->st);
		action = done ? "resolved" : "deduped";
	} else if (!firing && g.incident == NULL && g.change != NULL) {
		snprintf(change, sizeof change, "%s", g.change);
		s = store_alert_group_link(c->st, n->group_key, change, service, alertname,
					   n->status, fps, c->now_ms);
		if (s < 0)
			rc = rec_db_error(err, s, c->st);
		action = "linked";
	}
	if (rc == TR_OK) {
		out->outcome = REC_DONE;
		out->body = json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:I}", "group_key", n->group_key,
			"status", n->status, "action", action, "service", service, "priority",
			priority, "incident", incident[0] ? incident : NULL, "change",
			change[0] ? change : NULL, "notifications", (json_int_t)g.notifications);
	}
done:
	json_decref(under_way);
	json_decref(fps);
	store_alert_group_clear(&g);
	return rc;
}

void alerts_annotate(json_t *body, json_t *extra)
{
	const char *k;
	json_t *v;
	json_object_foreach(extra, k, v) {
		if (!json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0))
			json_object_set(body, k, v);
	}
}

/* ---- maintenance silences ------------------------------------------------------------- */

/* The matchers of `service`'s silence (owned): the policy's, else service="<name>". */
static json_t *matchers_of(const struct rec_ctx *c, const char *service)
{
	json_t *m = json_object_get(policy(c, "silence_matchers"), service);
	if (m != NULL) {
		json_t *out = json_array();
		size_t i;
		json_t *one;
		json_array_foreach(m, i, one) {
			json_t *rx = json_object_get(one, "isRegex"),
			       *eq = json_object_get(one, "isEqual");
			json_array_append_new(out, json_pack("{s:O, s:O, s:b, s:b}", "name",
							     json_object_get(one, "name"), "value",
							     json_object_get(one, "value"),
							     "isRegex", rx ? json_is_true(rx) : 0,
							     "isEqual", eq ? json_is_true(eq) : 1));
		}
		return out;
	}
	return json_pack("[{s:s, s:s, s:b, s:b}]", "name", "service", "value", service, "isRegex",
			 0, "isEqual", 1);
}

enum tr_code alerts_silences_plan(struct rec_ctx *c, unsigned *planned, unsigned *closed,
				  struct tr_error *err)
{
	json_t *list = NULL;
	*planned = *closed = 0;
	enum db_status s = store_changes_under_way(c->st, NULL, c->now_ms, &list);
	size_t i, k;
	json_t *ch, *svc;
	json_array_foreach(s >= 0 ? list : NULL, i, ch) {
		json_t *end = json_object_get(ch, "end_ms");
		long long end_ms = json_is_integer(end) ? (long long)json_integer_value(end)
							: c->now_ms + DEFAULT_SILENCE_MS;
		if (end_ms <= c->now_ms)
			continue;
		json_array_foreach(json_object_get(ch, "services"), k, svc) {
			json_t *m = matchers_of(c, json_string_value(svc));
			s = m ? store_silence_plan(c->st, str(ch, "change"), json_string_value(svc),
						   m, c->now_ms, end_ms)
			      : DB_HARD;
			json_decref(m);
			if (s < 0)
				break;
			*planned += s == DB_ONE;
		}
		if (s < 0)
			break;
	}
	json_decref(list);
	if (s >= 0)
		s = store_silences_close(c->st, c->now_ms, closed);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

enum tr_code alerts_silences_due(struct rec_ctx *c, long long lease_ms, json_t **out,
				 struct tr_error *err)
{
	enum db_status s = store_silences_claim(c->st, c->now_ms, lease_ms, out);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	size_t i;
	json_t *row;
	json_array_foreach(*out, i, row) {
		char comment[256];
		snprintf(comment, sizeof comment,
			 "Maintenance: Transom change %s is under way on %s", str(row, "change"),
			 str(row, "service"));
		json_object_set_new(row, "silence",
				    json_pack("{s:O, s:s, s:s, s:s, s:s}", "matchers",
					      json_object_get(row, "matchers"), "startsAt",
					      str(row, "starts_at"), "endsAt", str(row, "ends_at"),
					      "createdBy", "transom", "comment", comment));
	}
	return TR_OK;
}

enum tr_code alerts_silence_created(struct rec_ctx *c, const char *change, const char *service,
				    const char *silence_id, struct tr_error *err)
{
	enum db_status s = store_silence_created(c->st, change, service, silence_id);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

enum tr_code alerts_silence_expired(struct rec_ctx *c, const char *change, const char *service,
				    struct tr_error *err)
{
	enum db_status s = store_silence_expired(c->st, change, service);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

enum tr_code alerts_silence_failed(struct rec_ctx *c, const char *change, const char *service,
				   long long next_ms, const char *why, struct tr_error *err)
{
	enum db_status s = store_silence_failed(c->st, change, service, next_ms, why);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}
