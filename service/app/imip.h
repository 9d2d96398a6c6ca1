/*
 * imip.h -- the use cases of voting by calendar (iMIP, RFC 6047): planning invitations,
 * composing each message, taking replies in, and the signed vote links.
 *
 * A vote that arrives by e-mail or link is the same vote as one made through the API:
 * records_vote() with the member's user name as actor, role cab, and channel "email" or
 * "link" -- membership, segregation of duties, the tally, the audit and the workflow all
 * follow from there.
 *
 * The event of a change (one non-recurring VEVENT per change, its UID stable): the
 * change's booked slot (schedule.start/end) when it has one, else the first CAB meeting
 * ("meeting" instances of the calendars) starting between the approval request and its
 * expiry, else a 30-minute "decide by" slot at the next quarter hour after the request.
 * When that slot changes (a meeting moved, a booking changed, approvals requested again)
 * the SEQUENCE goes up and every member is asked again: a REPLY or link of an older
 * SEQUENCE is stale and not counted, and votes already cast stay until the member
 * answers again (the latest counts).  A change withdrawn, cancelled or rejected gets a
 * CANCEL (SEQUENCE+1) to every member who was sent a REQUEST.
 *
 * Thread-safety: as the other record use cases (one rec_ctx per thread).
 */
#ifndef TRANSOM_RECORDS_IMIP_H
#define TRANSOM_RECORDS_IMIP_H

#include <stdbool.h>
#include <stddef.h>

#include "app/records.h"
#include "store/imip.h"

/* What the messages say about where they come from (all borrowed). */
struct imip_settings {
	const char *public_url;   /* base of links, e.g. https://transom.example.org */
	const char *agent_domain; /* the ORGANIZER is cab+<token>@<agent_domain>, one token per
				     member and SEQUENCE */
	const char *from_addr;    /* the sender (TRANSOM_SMTP_FROM) */
	const char *trusted_authserv_id; /* TRANSOM_MAIL_TRUSTED_AUTHSERV_ID; NULL/"": none */
};

/*
 * The UID of change `change_id`'s CAB vote event: "transom-vote-<id>@<agent_domain>".
 * One per change, the same in every e-mail invitation and in each member's CalDAV
 * cab-votes copy (RFC 6638: attendee copies keep the organizer's UID), so a member who
 * uses both sees one event, and a reply over either channel names it.
 */
void imip_vote_uid(const char *change_id, const char *agent_domain, char *out, size_t size);

/*
 * One planning pass: for every change awaiting votes of a group with votes_by_calendar,
 * syncs its event and queues a REQUEST for each eligible member not yet asked at the
 * current SEQUENCE; closes the events of changes no longer awaiting votes (CANCEL when
 * the change was not approved).  *queued counts the messages queued.
 */
enum tr_code imip_plan(struct rec_ctx *c, const struct imip_settings *s, unsigned *queued,
		       struct tr_error *err);

/*
 * The message for claimed invitation `job`: a new pair of signed links (REQUEST only,
 * stored hashed), the VCALENDAR and the MIME message.  *msg (owned) and *len; the
 * recipient is job->email.  404 when the change is gone.
 */
enum tr_code imip_compose(struct rec_ctx *c, const struct imip_settings *s,
			  const struct store_imip_job *job, char **msg, size_t *len,
			  struct tr_error *err);

/* What became of a message taken in. */
struct imip_intake_result {
	bool counted;          /* a vote was recorded */
	char reason[256];      /* why it was quarantined ("" when counted) */
	char change_id[32];    /* the change it answers, when known */
	char member[128];      /* the member, when known */
	char decision[16];     /* approve, reject, abstain (when counted) */
	long long message_row; /* mail_messages.id */
};

/* A message taken in (all borrowed). */
struct imip_message {
	const char *source; /* "imap" or "http" */
	const char *raw;    /* a whole message, or with `bare` the text of a bare REPLY */
	size_t len;
	bool bare;
	/* A bare REPLY only (from a mail gateway over HTTP): */
	const char *from;         /* the envelope/From sender, or NULL (the attendee) */
	const char *message_id;   /* or NULL (a hash of the text) */
	const char *received_on;  /* the agent address it was received on: required */
	const char *auth_results; /* the trusted MTA's Authentication-Results, or NULL */
};

/*
 * Takes one message in.  Checks, in order: for a whole message, From and Message-ID are
 * there; when s->trusted_authserv_id is set, the topmost Authentication-Results of that
 * authserv-id says dmarc=pass (authres.h); a REPLY is found and parses; a bare REPLY's
 * ORGANIZER is the address it was received on; the ORGANIZER is a reply address Transom
 * issued (cab+<token>@<agent domain>, one per member and SEQUENCE, found by the hash of the
 * token), not the shared address of an invitation from before, and its event has the
 * reply's UID; an ATTENDEE of the reply is the member the address was issued to, and From
 * is that member or one of their aliases; the event is active; the address's SEQUENCE is
 * the current one (older: stale), and so is the reply's; the Message-ID was not seen
 * before; the PARTSTAT is ACCEPTED (approve), DECLINED (reject) or TENTATIVE (abstain);
 * then records_vote() must accept it.  The raw message is kept either way: counted, or
 * quarantined with the reason.  TR_OK unless the database failed or memory ran out.
 */
enum tr_code imip_intake(struct rec_ctx *c, const struct imip_settings *s,
			 const struct imip_message *msg, struct imip_intake_result *out,
			 struct tr_error *err);

/* `s` with &, <, >, " and ' escaped for HTML text and attributes: owned, NULL on OOM. */
char *imip_html_escape(const char *s);

/*
 * The replies kept in the quarantine, newest first (ids below `before` when > 0, at most
 * `limit`), as store_mail_quarantine gives them: an owned array in *out.
 */
enum tr_code imip_quarantine(struct rec_ctx *c, long long before, unsigned limit, json_t **out,
			     struct tr_error *err);

/* What became of a signed link. */
enum imip_link_state {
	IMIP_LINK_OK,       /* usable (imip_link_view) or the vote was recorded (imip_link_vote) */
	IMIP_LINK_UNKNOWN,  /* no such link */
	IMIP_LINK_GONE,     /* used already, or expired */
	IMIP_LINK_CONFLICT, /* superseded, the change no longer awaits votes, or the vote
			       conflicts with its state */
	IMIP_LINK_REFUSED,  /* records_vote refused the member (membership, duties) */
};

/* A signed link as its page shows it. */
struct imip_link_view {
	enum imip_link_state state;
	char message[256]; /* why not, or what happened */
	char change_id[32];
	char title[256];
	char member[128];
	char decision[16]; /* approve or reject */
	int sequence;
	bool voted; /* imip_link_vote: the vote was recorded */
};

/* Looks link `token` up without using it (the confirm page).  TR_OK with out->state. */
enum tr_code imip_link_view(struct rec_ctx *c, const char *token, struct imip_link_view *out,
			    struct tr_error *err);

/*
 * Uses link `token` once and votes with it (channel "link").  TR_OK with out->state
 * (200 and voted on success; 403 when records_vote refused, the link stays unused).
 */
enum tr_code imip_link_vote(struct rec_ctx *c, const char *token, struct imip_link_view *out,
			    struct tr_error *err);

#endif /* TRANSOM_RECORDS_IMIP_H */
