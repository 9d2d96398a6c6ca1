/*
 * imip_reply.c -- voting by calendar, the way back (imip.h): iTIP REPLYs taken in from
 * the mailbox or a mail gateway, the quarantine of those not counted, and the signed
 * vote links; every counted answer ends in records_vote().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/imip.h"
#include "app/records_int.h"
#include "calendar/itip.h"
#include "crypto/crypto.h"
#include "mail/authres.h"
#include "mail/mail.h"
#include "policy/policy.h"
#include "store/records.h"
#include "store/tokens.h"
#include "wf/wf.h"

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
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

static void say(struct imip_link_view *v, enum imip_link_state state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct imip_link_view *v, enum imip_link_state state, const char *fmt, ...)
{
	va_list ap;
	v->state = state;
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
		say(v, IMIP_LINK_UNKNOWN, "This link is not valid.");
		return TR_OK;
	}
	/* A disabled user's links die with their other credentials (checked at each use). */
	if ((st = store_user_disabled(c->st, l.member)) < 0)
		return rec_db_error(err, st, c->st);
	if (st == DB_ONE) {
		say(v, IMIP_LINK_UNKNOWN, "This link is not valid.");
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
		say(v, IMIP_LINK_GONE, "This link was used already.");
	else if (l.expires_ms <= c->now_ms)
		say(v, IMIP_LINK_GONE, "This link has expired.");
	else if (l.sequence != l.event_sequence)
		say(v, IMIP_LINK_CONFLICT,
		    "This invitation was replaced by a newer one: use the links of the "
		    "latest invitation.");
	else if (strcmp(l.event_status, "active") != 0)
		say(v, IMIP_LINK_CONFLICT, "%s no longer awaits votes.", l.change_id);
	else
		say(v, IMIP_LINK_OK, "Confirm your vote.");
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
	if (rc != TR_OK || out->state != IMIP_LINK_OK)
		return rc;
	enum db_status st = store_imip_link_use(c->st, hash, c->now_ms);
	if (st < 0)
		return rec_db_error(err, st, c->st);
	if (st == DB_NONE) {
		say(out, IMIP_LINK_GONE, "This link was used already.");
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
		say(out, rc == TR_E_CONFLICT ? IMIP_LINK_CONFLICT : IMIP_LINK_REFUSED,
		    "Your vote was not recorded: %.200s", verr.detail);
		return TR_OK;
	}
	out->voted = true;
	say(out, IMIP_LINK_OK, "Your vote (%s) on %s was recorded.", out->decision, out->change_id);
	return TR_OK;
}

/* ---- the quarantine ------------------------------------------------------------------------- */

enum tr_code imip_quarantine(struct rec_ctx *c, long long before, unsigned limit, json_t **out,
			     struct tr_error *err)
{
	enum db_status s = store_mail_quarantine(c->st, before, limit, out);
	return s < 0 ? store_error(c->st, s, c->request_id, err) : TR_OK;
}
