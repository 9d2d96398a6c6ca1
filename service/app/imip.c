/*
 * imip.c -- voting by calendar, the way out: plan the invitations of the changes awaiting
 * approval and compose each message (imip.h).  Replies and links come back through
 * imip_reply.c.
 */
#include "app/imip.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar/itip.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "mail/authres.h"
#include "mail/mail.h"
#include "policy/policy.h"
#include "app/records_int.h"
#include "store/records.h"
#include "store/tokens.h"
#include "wf/wf.h"

#define QUARTER_MS   (15LL * 60 * 1000)
#define DECIDE_MS    (30LL * 60 * 1000)
#define DEFAULT_TTL  (72LL * 3600 * 1000)
#define TOKEN_CHARS  26 /* 130 bits of base32 */
#define LINK_BYTES   32
#define ORGANIZER_CN "Transom CAB"

/* ---- small helpers ------------------------------------------------------------------------ */

char *imip_html_escape(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : *p == '"' || *p == '\'' ? 6 : 1;
	char *out = malloc(n + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (const char *p = s; *p; p++) {
		const char *rep = *p == '&'    ? "&amp;"
				  : *p == '<'  ? "&lt;"
				  : *p == '>'  ? "&gt;"
				  : *p == '"'  ? "&quot;"
				  : *p == '\'' ? "&#39;"
					       : NULL;
		if (rep) {
			memcpy(o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A lowercase base32 secret (a-z, 2-7) of TOKEN_CHARS characters. */
static bool agent_token(char out[TOKEN_CHARS + 1])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char r[TOKEN_CHARS];
	if (!crypto_random(r, sizeof r))
		return false;
	for (size_t i = 0; i < TOKEN_CHARS; i++)
		out[i] = b32[r[i] & 31];
	out[TOKEN_CHARS] = '\0';
	return true;
}

static long long approvals_ms(json_t *a, const char *key, long long dflt)
{
	json_t *v = json_object_get(a, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) * 1000 : dflt;
}

/* The slot of the event of change `rec` (see imip.h). */
static void slot_of(struct rec_ctx *c, json_t *rec, long long *start, long long *end)
{
	json_t *sched = json_object_get(rec, "schedule");
	const char *ss = str(sched, "start"), *se = str(sched, "end");
	if (ss && se && strcmp(str(sched, "status") ?: "", "booked") == 0 &&
	    time_parse_rfc3339(ss, start) && time_parse_rfc3339(se, end) && *end > *start)
		return;
	json_t *a = json_object_get(rec, "approvals");
	long long req = approvals_ms(a, "requested_at", c->now_ms);
	long long exp = approvals_ms(a, "expires_at", req + DEFAULT_TTL);
	json_t *all = exp > req ? defs_instances(c->defs, req, exp) : NULL, *v;
	size_t i;
	json_array_foreach(all, i, v) {
		long long s = json_integer_value(json_object_get(v, "start_ms"));
		long long e = json_integer_value(json_object_get(v, "end_ms"));
		if (strcmp(str(v, "kind") ?: "", "meeting") == 0 && s >= req && s < exp && e > s) {
			*start = s;
			*end = e;
			json_decref(all);
			return;
		}
	}
	json_decref(all);
	*start = (req + QUARTER_MS - 1) / QUARTER_MS * QUARTER_MS;
	*end = *start + DECIDE_MS;
}

/* Whether `user` voted on `rec` at or after `since_ms` (any time when since_ms < 0). */
static bool voted_since(json_t *rec, const char *user, long long since_ms)
{
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(json_object_get(rec, "approvals"), "votes"), i, v) {
		long long at = 0;
		if (strcmp(str(v, "user") ?: "", user) != 0)
			continue;
		if (since_ms < 0 || (time_parse_rfc3339(str(v, "at") ?: "", &at) && at >= since_ms))
			return true;
	}
	return false;
}

/* The calendar-voting members of `rec` (owned {name: email}); empty when none. */
static json_t *calendar_members(const struct policy_set *ps, json_t *rec)
{
	json_t *out = json_object(), *g, *m;
	size_t i, k;
	json_t *groups = json_object_get(
		json_object_get(json_object_get(rec, "approvals"), "required"), "groups");
	json_array_foreach(groups, i, g) {
		const struct policy_group *pg = policy_group_find(ps, str(g, "group"));
		if (pg == NULL || !pg->votes_by_calendar)
			continue;
		json_array_foreach(json_object_get(g, "eligible"), k, m) {
			const struct policy_user *u = policy_user_find(ps, json_string_value(m));
			if (u != NULL && u->email != NULL)
				json_object_set_new(out, u->name, json_string(u->email));
		}
	}
	return out;
}

/* ---- planning ------------------------------------------------------------------------------ */

/* Whether `state` ends workflow `workflow` (an unknown workflow: the usual final states). */
static bool final_state(struct rec_ctx *c, const char *workflow, const char *state)
{
	const struct wf *wf = workflow ? wf_set_find(c->defs->workflows, workflow) : NULL;
	if (state == NULL)
		return false;
	if (wf != NULL && wf_state_exists(wf, state))
		return wf_state_final(wf, state);
	return strcmp(state, "cancelled") == 0 || strcmp(state, "rejected") == 0 ||
	       strcmp(state, "closed") == 0;
}

void imip_vote_uid(const char *change_id, const char *agent_domain, char *out, size_t size)
{
	snprintf(out, size, "transom-vote-%s@%s", change_id, agent_domain);
}

static enum tr_code plan_change(struct rec_ctx *c, const struct imip_settings *s, json_t *rec,
				unsigned *queued, struct tr_error *err)
{
	const struct policy_set *ps = c->defs->policies;
	const char *id = str(rec, "id");
	json_t *members = calendar_members(ps, rec);
	if (id == NULL || members == NULL || json_object_size(members) == 0) {
		json_decref(members);
		return TR_OK;
	}
	long long start, end;
	slot_of(c, rec, &start, &end);
	char uid[128];
	imip_vote_uid(id, s->agent_domain, uid, sizeof uid);
	struct store_imip_event ev;
	enum db_status st = store_imip_event_sync(c->st, c->retries, id, uid, start, end, &ev);
	if (st < 0) {
		json_decref(members);
		return rec_db_error(err, st, c->st);
	}
	const char *name;
	json_t *email;
	json_object_foreach(members, name, email) {
		/* The first invitation skips members who voted already; a new SEQUENCE asks
		 * everyone who has not answered since it began. */
		if (voted_since(rec, name, ev.sequence == 0 ? -1 : ev.sequence_ms))
			continue;
		st = store_imip_invite(c->st, id, name, json_string_value(email), ev.sequence,
				       "REQUEST");
		if (st < 0) {
			json_decref(members);
			return rec_db_error(err, st, c->st);
		}
		*queued += st == DB_ONE;
	}
	json_decref(members);
	return TR_OK;
}

enum tr_code imip_plan(struct rec_ctx *c, const struct imip_settings *s, unsigned *queued,
		       struct tr_error *err)
{
	json_t *rows = NULL, *rec;
	size_t i;
	*queued = 0;
	if (c->defs == NULL || c->defs->policies == NULL)
		return TR_OK;
	enum db_status st = store_records_awaiting_approval(c->st, &rows);
	if (st < 0)
		return rec_db_error(err, st, c->st);
	enum tr_code rc = TR_OK;
	json_array_foreach(rows, i, rec) {
		if (final_state(c, str(rec, "workflow"), str(rec, "state")))
			continue; /* withdrawn with the request open: closed below */
		if ((rc = plan_change(c, s, rec, queued, err)) != TR_OK)
			break;
	}
	json_decref(rows);
	if (rc != TR_OK)
		return rc;
	json_t *closing = NULL, *e;
	if ((st = store_imip_events_closing(c->st, &closing)) < 0)
		return rec_db_error(err, st, c->st);
	json_array_foreach(closing, i, e) {
		bool approved = json_is_true(json_object_get(e, "satisfied"));
		if (json_is_true(json_object_get(e, "awaiting")) &&
		    !final_state(c, str(e, "workflow"), str(e, "state")))
			continue;
		st = store_imip_event_close(c->st, str(e, "change_id"), !approved);
		if (st < 0) {
			rc = rec_db_error(err, st, c->st);
			break;
		}
	}
	json_decref(closing);
	return rc;
}

/* ---- composing ------------------------------------------------------------------------------ */

/* A new link for `decision`: its URL into `url`. */
static enum tr_code new_link(struct rec_ctx *c, const struct imip_settings *s,
			     const struct store_imip_job *job, const char *decision,
			     long long expires_ms, char *url, size_t size, struct tr_error *err)
{
	char token[96], hash[CRYPTO_SHA256_HEX_LEN];
	if (!crypto_token("v1.", LINK_BYTES, token, sizeof token))
		return tr_error_set(err, TR_E_INTERNAL, NULL, "no randomness");
	crypto_sha256_hex(token, strlen(token), hash);
	enum db_status st = store_imip_link_insert(c->st, hash, job->change_id, job->member,
						   job->sequence, decision, expires_ms);
	if (st < 0)
		return rec_db_error(err, st, c->st);
	snprintf(url, size, "%s/v/%s", s->public_url, token);
	return TR_OK;
}

/* Appends printf output to a growing string; false on OOM. */
static bool cat(char **buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool cat(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *add = NULL;
	int n = vasprintf(&add, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	char *p = realloc(*buf, *len + (size_t)n + 1);
	if (p == NULL) {
		free(add);
		return false;
	}
	memcpy(p + *len, add, (size_t)n + 1);
	*buf = p;
	*len += (size_t)n;
	free(add);
	return true;
}

/* The risk explanation of `rec` as text lines. */
static void risk_text(json_t *rec, char **buf, size_t *len)
{
	json_t *risk = json_object_get(rec, "risk"), *f;
	size_t i;
	if (!json_is_object(risk)) {
		cat(buf, len, "Risk: not assessed.\n");
		return;
	}
	cat(buf, len, "Risk: %s (score %lld)\n", str(risk, "level") ?: "unknown",
	    (long long)json_integer_value(json_object_get(risk, "score")));
	json_array_foreach(json_object_get(risk, "factors"), i, f)
		cat(buf, len, "  - %s (%+lld)\n", str(f, "reason") ?: str(f, "id") ?: "?",
		    (long long)json_integer_value(json_object_get(f, "points")));
}

enum tr_code imip_compose(struct rec_ctx *c, const struct imip_settings *s,
			  const struct store_imip_job *job, char **msg, size_t *len,
			  struct tr_error *err)
{
	struct store_record r = {0};
	char approve[512] = "", decline[512] = "", organizer[ITIP_ADDR_MAX], change_url[1200];
	*msg = NULL;
	*len = 0;
	enum db_status st = store_record_get(c->st, job->change_id, false, &r);
	if (st < 0)
		return rec_db_error(err, st, c->st);
	if (st == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no change '%s'", job->change_id);
	bool cancel = strcmp(job->method, "CANCEL") == 0;
	const char *title = str(r.data, "title") ?: "(untitled)";
	const struct policy_user *u =
		c->defs->policies ? policy_user_find(c->defs->policies, job->member) : NULL;
	json_t *a = json_object_get(r.data, "approvals");
	long long expires = approvals_ms(a, "expires_at", c->now_ms + DEFAULT_TTL);
	if (expires <= c->now_ms)
		expires = c->now_ms + DEFAULT_TTL;
	enum tr_code rc = TR_OK;
	if (!cancel) {
		rc = new_link(c, s, job, "approve", expires, approve, sizeof approve, err);
		if (rc == TR_OK)
			rc = new_link(c, s, job, "reject", expires, decline, sizeof decline, err);
	}
	/* The reply address of this member and SEQUENCE: its token is the credential of a
	 * mail vote, kept only as a hash. */
	char token[TOKEN_CHARS + 1], hash[CRYPTO_SHA256_HEX_LEN];
	if (rc == TR_OK && !agent_token(token))
		rc = tr_error_set(err, TR_E_INTERNAL, NULL, "no randomness");
	if (rc == TR_OK) {
		crypto_sha256_hex(token, strlen(token), hash);
		st = store_imip_address_insert(c->st, hash, job->change_id, job->member,
					       job->sequence);
		if (st < 0)
			rc = rec_db_error(err, st, c->st);
	}
	if (rc != TR_OK) {
		store_record_clear(&r);
		return rc;
	}
	snprintf(organizer, sizeof organizer, "cab+%s@%s", token, s->agent_domain);
	snprintf(change_url, sizeof change_url, "%s/v1/changes/%s", s->public_url, job->change_id);

	char *summary = NULL, *text = NULL, *html = NULL;
	size_t sl = 0, tl = 0, hl = 0;
	bool ok = true;
	if (cancel)
		ok &= cat(&summary, &sl, "Cancelled: CAB vote on %s %s", job->change_id, title);
	else
		ok &= cat(&summary, &sl, "CAB vote: %s %s (Accept = approve, Decline = reject)",
			  job->change_id, title);
	char *desc = NULL;
	size_t dl = 0;
	if (cancel) {
		ok &= cat(&desc, &dl, "%s (%s) no longer needs your vote: it is %s.\n",
			  job->change_id, title, r.state);
	} else {
		ok &= cat(&desc, &dl,
			  "Your vote is asked on %s: %s\n"
			  "Accept = approve, Decline = reject, Tentative = abstain.\n\n",
			  job->change_id, title);
		risk_text(r.data, &desc, &dl);
		ok &= cat(&desc, &dl,
			  "\nIf your calendar does not send replies, vote with a link (once, "
			  "until %s):\n  approve: %s\n  decline: %s\n",
			  "the request expires", approve, decline);
	}
	ok &= cat(&desc, &dl, "\nThe change: %s\n", change_url);
	ok &= desc != NULL && cat(&text, &tl, "%s", desc);

	char *e_title = imip_html_escape(title), *e_desc = desc ? imip_html_escape(desc) : NULL;
	char *e_url = imip_html_escape(change_url);
	ok &= e_title && e_desc && e_url;
	if (ok) {
		ok &= cat(&html, &hl, "<!DOCTYPE html><html><body><h2>%s %s</h2><pre>%s</pre>",
			  cancel ? "Cancelled:" : "CAB vote:", e_title, e_desc);
		if (!cancel) {
			char *ea = imip_html_escape(approve), *ed = imip_html_escape(decline);
			ok &= ea && ed &&
			      cat(&html, &hl,
				  "<p><a href=\"%s\">Approve</a> &middot; "
				  "<a href=\"%s\">Decline</a></p>",
				  ea, ed);
			free(ea);
			free(ed);
		}
		ok &= cat(&html, &hl, "<p><a href=\"%s\">%s</a></p></body></html>", e_url, e_url);
	}
	char *ics = NULL;
	if (ok) {
		struct itip_event ie = {
			.cancel = cancel,
			.uid = job->event.uid,
			.sequence = job->sequence,
			.stamp_ms = c->now_ms,
			.start_ms = job->event.start_ms,
			.end_ms = job->event.end_ms,
			.organizer = organizer,
			.organizer_cn = ORGANIZER_CN,
			.attendee = job->email,
			.attendee_cn = u ? u->display_name : NULL,
			.summary = summary,
			.description = desc,
			.url = change_url,
		};
		ics = itip_build(&ie);
		ok = ics != NULL;
	}
	if (ok) {
		const char *at = strchr(s->from_addr, '@');
		struct mail_invitation m = {
			.from_name = ORGANIZER_CN,
			.from_addr = s->from_addr,
			.reply_to = organizer,
			.to_name = u ? u->display_name : NULL,
			.to_addr = job->email,
			.subject = summary,
			.text = text,
			.html = html,
			.ics = ics,
			.method = cancel ? "CANCEL" : "REQUEST",
			.id_domain = at ? at + 1 : s->agent_domain,
			.date_ms = c->now_ms,
		};
		*msg = mail_build_invitation(&m, len);
		ok = *msg != NULL;
	}
	free(ics);
	free(e_title);
	free(e_desc);
	free(e_url);
	free(summary);
	free(text);
	free(html);
	free(desc);
	store_record_clear(&r);
	return ok ? TR_OK : tr_error_set(err, TR_E_NOMEM, NULL, "cannot build the invitation");
}
