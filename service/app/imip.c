/*
 * imip.c -- voting by calendar: plan invitations, compose them, take replies and signed
 * links in, all ending in records_vote() (imip.h).
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

/* ---- intake --------------------------------------------------------------------------------- */

struct intake {
	struct rec_ctx *c;
	const char *source, *raw;
	size_t len;
	struct imip_intake_result *out;
	char from[ITIP_ADDR_MAX], message_id[512], subject[512], partstat[24];
	char received_on[ITIP_ADDR_MAX]; /* a gateway's bare REPLY: the address it came to */
	int sequence;
};

static enum tr_code keep(struct intake *in, const char *reason, struct tr_error *err)
{
	struct imip_intake_result *o = in->out;
	if (reason != NULL) {
		snprintf(o->reason, sizeof o->reason, "%s", reason);
		o->counted = false;
	}
	struct store_mail_message m = {
		.source = in->source,
		.outcome = reason ? "quarantined" : "vote",
		.reason = reason,
		.message_id = in->message_id[0] ? in->message_id : NULL,
		.from = in->from[0] ? in->from : NULL,
		.subject = in->subject[0] ? in->subject : NULL,
		.change_id = o->change_id[0] ? o->change_id : NULL,
		.member = o->member[0] ? o->member : NULL,
		.partstat = in->partstat[0] ? in->partstat : NULL,
		.sequence = in->sequence,
		.raw = in->raw,
		.raw_len = in->len,
	};
	enum db_status st = store_mail_message_insert(in->c->st, &m, &o->message_row);
	return st < 0 ? rec_db_error(err, st, in->c->st) : TR_OK;
}

/* Copies `s` without control characters (headers go into logs and pages). */
static void clean(char *dst, size_t size, const char *s)
{
	size_t n = 0;
	for (; s != NULL && *s && n + 1 < size; s++)
		dst[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
	dst[n] = '\0';
}

static const char *decision_of(const char *partstat)
{
	return strcasecmp(partstat, "ACCEPTED") == 0    ? "approve"
	       : strcasecmp(partstat, "DECLINED") == 0  ? "reject"
	       : strcasecmp(partstat, "TENTATIVE") == 0 ? "abstain"
							: NULL;
}

/* "cab+<token>@<domain>" -> token; false when it is not an agent address of ours. */
static bool token_of(const char *addr, const char *domain, char *out, size_t size)
{
	const char *at = strrchr(addr, '@');
	if (strncasecmp(addr, "cab+", 4) != 0 || at == NULL || strcasecmp(at + 1, domain) != 0)
		return false;
	size_t n = (size_t)(at - (addr + 4));
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)((addr[4 + i] >= 'A' && addr[4 + i] <= 'Z') ? addr[4 + i] + 32
									   : addr[4 + i]);
	out[n] = '\0';
	return true;
}

static enum tr_code check_reply(struct intake *in, const struct imip_settings *s, const char *cal,
				size_t cal_len, struct tr_error *err)
{
	struct rec_ctx *c = in->c;
	struct imip_intake_result *o = in->out;
	const struct policy_set *ps = c->defs ? c->defs->policies : NULL;
	struct itip_reply rp;
	char why[128], token[72], reason[256];

	if (!itip_parse_reply(cal, cal_len, &rp, why, sizeof why)) {
		snprintf(reason, sizeof reason, "not an iTIP REPLY: %s", why);
		return keep(in, reason, err);
	}
	in->sequence = rp.sequence;
	/* The reply address is the credential: a gateway names the one it received the
	 * REPLY on, which must be the ORGANIZER it answers; a whole message answers its
	 * ORGANIZER. */
	if (in->received_on[0] && strcasecmp(in->received_on, rp.organizer) != 0)
		return keep(in, "the ORGANIZER is not the address the reply was received on", err);
	struct store_imip_address ad;
	enum db_status st = DB_NONE;
	if (token_of(rp.organizer, s->agent_domain, token, sizeof token)) {
		char hash[CRYPTO_SHA256_HEX_LEN];
		crypto_sha256_hex(token, strlen(token), hash);
		st = store_imip_address_get(c->st, hash, &ad);
	}
	if (st < 0)
		return rec_db_error(err, st, c->st);
	if (st == DB_NONE)
		return keep(in, "unknown agent address (ORGANIZER)", err);
	struct store_imip_event ev = ad.event;
	snprintf(o->change_id, sizeof o->change_id, "%s", ev.change_id);
	if (ad.shared)
		return keep(in,
			    "the shared agent address of an older invitation no longer takes votes "
			    "(each member has their own now)",
			    err);
	if (strcmp(ev.uid, rp.uid) != 0)
		return keep(in, "the UID is not the event's", err);
	/* The attendee answering: the member the address was issued to. */
	const struct policy_user *member = ps ? policy_user_find(ps, ad.member) : NULL;
	const struct itip_attendee *att = NULL;
	for (size_t i = 0; member != NULL && i < rp.n_attendees && att == NULL; i++)
		if (policy_user_by_email(ps, rp.attendees[i].addr) == member)
			att = &rp.attendees[i];
	if (att == NULL) {
		snprintf(reason, sizeof reason,
			 "the ATTENDEE is not the member this address was issued to (%.100s)",
			 ad.member);
		return keep(in, reason, err);
	}
	snprintf(in->partstat, sizeof in->partstat, "%s", att->partstat);
	snprintf(o->member, sizeof o->member, "%s", member->name);
	const struct policy_user *sender =
		in->from[0] ? policy_user_by_email(ps, in->from) : member;
	if (sender != member)
		return keep(in, "From is not the ATTENDEE or one of their addresses", err);
	if (strcmp(ev.status, "active") != 0)
		return keep(in, "the invitation was withdrawn or decided", err);
	/* An address of an older SEQUENCE answers that invitation, whatever the REPLY says. */
	if (ad.sequence < ev.sequence) {
		snprintf(reason, sizeof reason, "stale SEQUENCE %d (current %d)", ad.sequence,
			 ev.sequence);
		return keep(in, reason, err);
	}
	if (rp.sequence < ev.sequence) {
		snprintf(reason, sizeof reason, "stale SEQUENCE %d (current %d)", rp.sequence,
			 ev.sequence);
		return keep(in, reason, err);
	}
	if (rp.sequence > ev.sequence) {
		snprintf(reason, sizeof reason, "unknown SEQUENCE %d (current %d)", rp.sequence,
			 ev.sequence);
		return keep(in, reason, err);
	}
	if ((st = store_user_disabled(c->st, member->name)) < 0)
		return rec_db_error(err, st, c->st);
	if (st == DB_ONE)
		return keep(in, "the member's user is disabled", err);
	if ((st = store_mail_seen(c->st, in->message_id)) < 0)
		return rec_db_error(err, st, c->st);
	if (st > 0)
		return keep(in, "Message-ID seen before (replay)", err);
	const char *decision = decision_of(att->partstat);
	if (decision == NULL) {
		snprintf(reason, sizeof reason, "PARTSTAT '%s' is not a vote", att->partstat);
		return keep(in, reason, err);
	}
	/* The vote, as the member, through the one use case every channel goes through. */
	struct rec_ctx vc = *c;
	struct rec_reply vr = {0};
	struct tr_error verr = {0};
	char comment[128];
	vc.actor = member->name;
	vc.roles = WF_ROLE_CAB;
	vc.idem_key = NULL;
	snprintf(comment, sizeof comment, "%s the calendar invitation (SEQUENCE %d)",
		 strcasecmp(att->partstat, "ACCEPTED") == 0   ? "accepted"
		 : strcasecmp(att->partstat, "DECLINED") == 0 ? "declined"
							      : "tentatively accepted",
		 rp.sequence);
	enum tr_code rc =
		records_vote(&vc, ev.change_id, decision, NULL, comment, "email", &vr, &verr);
	rec_reply_clear(&vr);
	if (rc == TR_E_DB_UNAVAILABLE || rc == TR_E_DB_CONFLICT || rc == TR_E_NOMEM ||
	    rc == TR_E_INTERNAL) {
		*err = verr;
		return rc;
	}
	if (rc != TR_OK) {
		snprintf(reason, sizeof reason, "vote refused: %.200s", verr.detail);
		return keep(in, reason, err);
	}
	o->counted = true;
	snprintf(o->decision, sizeof o->decision, "%s", decision);
	return keep(in, NULL, err);
}

/*
 * Whether the trusted MTA vouches for the sender (TRANSOM_MAIL_TRUSTED_AUTHSERV_ID set):
 * NULL when it does or nothing is required, else the reason to quarantine (into `buf`).
 */
static const char *dmarc_refusal(const struct imip_settings *s, const char *const *headers,
				 size_t n, const char *from, char *buf, size_t size)
{
	char why[200];
	if (s->trusted_authserv_id == NULL || s->trusted_authserv_id[0] == '\0')
		return NULL;
	if (authres_dmarc(headers, n, s->trusted_authserv_id, from, why, sizeof why) ==
	    AUTHRES_PASS)
		return NULL;
	snprintf(buf, size, "sender not authenticated: %s", why);
	return buf;
}

enum tr_code imip_intake(struct rec_ctx *c, const struct imip_settings *s,
			 const struct imip_message *msg, struct imip_intake_result *out,
			 struct tr_error *err)
{
	const char *raw = msg->raw, *from = msg->from, *message_id = msg->message_id;
	size_t len = msg->len;
	struct intake in = {
		.c = c, .source = msg->source, .raw = raw, .len = len, .out = out, .sequence = -1};
	char refusal[256];
	memset(out, 0, sizeof *out);
	if (msg->bare) {
		if (msg->received_on == NULL || msg->received_on[0] == '\0')
			return keep(&in, "a bare REPLY without the address it was received on",
				    err);
		const char *ro = msg->received_on;
		if (strncasecmp(ro, "mailto:", 7) == 0)
			ro += 7;
		clean(in.received_on, sizeof in.received_on, ro);
		char hash[CRYPTO_SHA256_HEX_LEN], mid[80];
		crypto_sha256_hex(raw, len, hash);
		snprintf(mid, sizeof mid, "sha256:%s", hash);
		clean(in.message_id, sizeof in.message_id, message_id ? message_id : mid);
		if (from != NULL) {
			clean(in.from, sizeof in.from, from);
		} else {
			/* The gateway vouches for the sender: the attendee answers for themself. */
			struct itip_reply rp;
			if (itip_parse_reply(raw, len, &rp, NULL, 0) && rp.n_attendees == 1)
				clean(in.from, sizeof in.from, rp.attendees[0].addr);
		}
		const char *ar = msg->auth_results;
		if (dmarc_refusal(s, &ar, 1, from, refusal, sizeof refusal) != NULL)
			return keep(&in, refusal, err);
		return check_reply(&in, s, raw, len, err);
	}
	struct mail_parsed mp;
	char why[128], reason[256];
	if (!mail_parse(raw, len, &mp, why, sizeof why)) {
		mail_parsed_clear(&mp);
		snprintf(reason, sizeof reason, "unreadable message: %s", why);
		return keep(&in, reason, err);
	}
	clean(in.from, sizeof in.from, mp.from);
	clean(in.message_id, sizeof in.message_id, mp.message_id);
	clean(in.subject, sizeof in.subject, mp.subject);
	enum tr_code rc;
	if (mp.n_calendars == 0)
		rc = keep(&in, "no text/calendar part", err);
	else if (in.from[0] == '\0')
		rc = keep(&in, "no single From address", err);
	else if (in.message_id[0] == '\0')
		rc = keep(&in, "no Message-ID", err);
	else if (dmarc_refusal(s, (const char *const *)mp.auth_results, mp.n_auth_results, in.from,
			       refusal, sizeof refusal) != NULL)
		rc = keep(&in, refusal, err);
	else
		rc = check_reply(&in, s, mp.calendars[0], mp.calendar_lens[0], err);
	mail_parsed_clear(&mp);
	return rc;
}

/* ---- signed links -----------------------------------------------------------------------------
 */

static void say(struct imip_link_view *v, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct imip_link_view *v, int status, const char *fmt, ...)
{
	va_list ap;
	v->status = status;
	va_start(ap, fmt);
	vsnprintf(v->message, sizeof v->message, fmt, ap);
	va_end(ap);
}

static enum tr_code link_look(struct rec_ctx *c, const char *token, char hash[65],
			      struct imip_link_view *v, struct tr_error *err)
{
	struct store_imip_link l;
	memset(v, 0, sizeof *v);
	crypto_sha256_hex(token, strlen(token), hash);
	enum db_status st = store_imip_link_get(c->st, hash, &l);
	if (st < 0)
		return rec_db_error(err, st, c->st);
	if (st == DB_NONE) {
		say(v, 404, "This link is not valid.");
		return TR_OK;
	}
	/* A disabled user's links die with their other credentials (checked at each use). */
	if ((st = store_user_disabled(c->st, l.member)) < 0)
		return rec_db_error(err, st, c->st);
	if (st == DB_ONE) {
		say(v, 404, "This link is not valid.");
		return TR_OK;
	}
	snprintf(v->change_id, sizeof v->change_id, "%s", l.change_id);
	snprintf(v->member, sizeof v->member, "%s", l.member);
	snprintf(v->decision, sizeof v->decision, "%s", l.decision);
	v->sequence = l.sequence;
	struct store_record r = {0};
	if ((st = store_record_get(c->st, l.change_id, false, &r)) < 0)
		return rec_db_error(err, st, c->st);
	snprintf(v->title, sizeof v->title, "%s", st == DB_ONE ? str(r.data, "title") ?: "" : "");
	store_record_clear(&r);
	if (l.used)
		say(v, 410, "This link was used already.");
	else if (l.expires_ms <= c->now_ms)
		say(v, 410, "This link has expired.");
	else if (l.sequence != l.event_sequence)
		say(v, 409,
		    "This invitation was replaced by a newer one: use the links of the "
		    "latest invitation.");
	else if (strcmp(l.event_status, "active") != 0)
		say(v, 409, "%s no longer awaits votes.", l.change_id);
	else
		say(v, 200, "Confirm your vote.");
	return TR_OK;
}

enum tr_code imip_link_view(struct rec_ctx *c, const char *token, struct imip_link_view *out,
			    struct tr_error *err)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	return link_look(c, token, hash, out, err);
}

enum tr_code imip_link_vote(struct rec_ctx *c, const char *token, struct imip_link_view *out,
			    struct tr_error *err)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = link_look(c, token, hash, out, err);
	if (rc != TR_OK || out->status != 200)
		return rc;
	enum db_status st = store_imip_link_use(c->st, hash, c->now_ms);
	if (st < 0)
		return rec_db_error(err, st, c->st);
	if (st == DB_NONE) {
		say(out, 410, "This link was used already.");
		return TR_OK;
	}
	struct rec_ctx vc = *c;
	struct rec_reply vr = {0};
	struct tr_error verr = {0};
	char comment[96];
	vc.actor = out->member;
	vc.roles = WF_ROLE_CAB;
	vc.idem_key = NULL;
	snprintf(comment, sizeof comment, "signed link of the calendar invitation (SEQUENCE %d)",
		 out->sequence);
	rc = records_vote(&vc, out->change_id, out->decision, NULL, comment, "link", &vr, &verr);
	rec_reply_clear(&vr);
	if (rc != TR_OK) {
		/* Not counted: the link stays usable (the refusal may be lifted). */
		enum db_status rs = store_imip_link_release(c->st, hash);
		if (rc == TR_E_DB_UNAVAILABLE || rc == TR_E_DB_CONFLICT || rc == TR_E_NOMEM ||
		    rc == TR_E_INTERNAL) {
			*err = verr;
			return rc;
		}
		if (rs < 0)
			return rec_db_error(err, rs, c->st);
		say(out, rc == TR_E_CONFLICT ? 409 : 403, "Your vote was not recorded: %.200s",
		    verr.detail);
		return TR_OK;
	}
	out->voted = true;
	say(out, 200, "Your vote (%s) on %s was recorded.", out->decision, out->change_id);
	return TR_OK;
}
