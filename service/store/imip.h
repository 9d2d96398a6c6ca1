/*
 * imip.h -- SQL of voting by e-mail: the calendar event of each change awaiting calendar
 * votes (imip_events), the invitations outbox (imip_invitations), the reply addresses
 * issued per member and SEQUENCE (imip_reply_addresses, by token hash), signed vote links
 * (imip_vote_links) and the messages read back (mail_messages: votes and quarantine).
 *
 * Senders claim due invitations with FOR UPDATE SKIP LOCKED and hold them by a lease
 * (next_attempt_at pushed past the SMTP timeout), as webhook deliveries do, so replicas
 * never send one invitation at once and a sender that died is retried after its lease.
 *
 * Every function takes a connection used by one thread at a time and returns DB_DOWN,
 * DB_SOFT or DB_HARD on failure (store.h).  Times are milliseconds since the epoch.
 */
#ifndef TRANSOM_STORE_IMIP_H
#define TRANSOM_STORE_IMIP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

/* The event of a change. */
struct store_imip_event {
	char change_id[32];
	char uid[128];
	int sequence;
	long long sequence_ms; /* when the current SEQUENCE began */
	long long start_ms, end_ms;
	char status[16]; /* "active", "cancelled", "decided" */
};

/*
 * Makes change `change_id`'s event say slot [start_ms, end_ms) and be active: a new event
 * gets SEQUENCE 0 with `uid` (used only then); a changed slot, or an
 * event that was closed, gets SEQUENCE+1 (pending invitations of older SEQUENCEs are
 * superseded).  *ev receives the event as it is now.  One transaction, retried `retries`
 * times on serialization failures.  DB_ONE when the SEQUENCE is new (created or bumped),
 * DB_NONE when nothing changed.
 */
enum db_status store_imip_event_sync(struct store *st, unsigned retries, const char *change_id,
				     const char *uid, long long start_ms, long long end_ms,
				     struct store_imip_event *ev);

/* The event of `change_id`.  DB_ONE or DB_NONE. */
enum db_status store_imip_event_get(struct store *st, const char *change_id,
				    struct store_imip_event *ev);

/* ---- reply addresses ------------------------------------------------------------------- */

/* A reply address cab+<token>@<domain> as its SHA-256 `hash` finds it. */
struct store_imip_address {
	bool shared;      /* the one address of an event from before migration 0013 */
	char member[128]; /* the member it was issued to ("" when shared) */
	int sequence;     /* the SEQUENCE it was issued for */
	struct store_imip_event event;
};

/*
 * Records reply address token hash `hash` (SHA-256 hex) as issued to `member` for
 * `change_id`'s SEQUENCE `sequence`.  DB_ONE.
 */
enum db_status store_imip_address_insert(struct store *st, const char *hash, const char *change_id,
					 const char *member, int sequence);

/* The reply address with token hash `hash`, with its event: DB_ONE with *out, or DB_NONE. */
enum db_status store_imip_address_get(struct store *st, const char *hash,
				      struct store_imip_address *out);

/*
 * Queues a `method` ("REQUEST", "CANCEL") invitation to `member` at `email` for the
 * event's `sequence`; a second one for the same member, SEQUENCE and method is ignored.
 * DB_ONE when queued, DB_NONE when it existed.
 */
enum db_status store_imip_invite(struct store *st, const char *change_id, const char *member,
				 const char *email, int sequence, const char *method);

/*
 * The active events with their change, as an owned array in *out of {"change_id",
 * "state", "workflow", "satisfied": bool, "awaiting": bool (approvals requested and
 * undecided)}.  DB_ONE (also empty).
 */
enum db_status store_imip_events_closing(struct store *st, json_t **out);

/*
 * Closes the event of `change_id`: with `cancel`, SEQUENCE+1, status cancelled, and one
 * CANCEL queued for every member a REQUEST was sent to; otherwise status decided.
 * Pending invitations are superseded either way.  DB_ONE, or DB_NONE when not active.
 */
enum db_status store_imip_event_close(struct store *st, const char *change_id, bool cancel);

/* A claimed invitation with its event. */
struct store_imip_job {
	long long id;
	char change_id[32];
	char member[128];
	char email[320];
	int sequence;
	char method[16];
	int attempt; /* this attempt, from 1 */
	struct store_imip_event event;
};

/*
 * Claims the most overdue pending invitation whose SEQUENCE is the event's: its attempt
 * counted and held for `lease_ms`.  DB_ONE with *job, DB_NONE when none is due.
 */
enum db_status store_imip_claim(struct store *st, long long lease_ms, struct store_imip_job *job);

/* Records an attempt: sent (error NULL), or failed with `error`, due again in retry_ms. */
enum db_status store_imip_attempt(struct store *st, long long id, const char *error,
				  long long retry_ms);

/* Counts of invitations by status for `change_id` (NULL: all): owned {"pending", ...}. */
enum db_status store_imip_counts(struct store *st, const char *change_id, json_t **out);

/* ---- signed vote links ---------------------------------------------------------------- */

struct store_imip_link {
	char change_id[32];
	char member[128];
	int sequence;      /* the link's */
	char decision[16]; /* "approve" or "reject" */
	long long expires_ms;
	bool used;
	int event_sequence; /* the event's current SEQUENCE */
	char event_status[16];
};

/* Stores a link by the SHA-256 hex of its token.  DB_ONE. */
enum db_status store_imip_link_insert(struct store *st, const char *hash, const char *change_id,
				      const char *member, int sequence, const char *decision,
				      long long expires_ms);

/* The link with token hash `hash`: DB_ONE with *out, or DB_NONE. */
enum db_status store_imip_link_get(struct store *st, const char *hash, struct store_imip_link *out);

/*
 * Uses the link once: DB_ONE when it was unused and not expired at `now_ms` (it is used
 * now), DB_NONE otherwise.  store_imip_link_release() undoes it (the vote was refused).
 */
enum db_status store_imip_link_use(struct store *st, const char *hash, long long now_ms);
enum db_status store_imip_link_release(struct store *st, const char *hash);

/* ---- messages read back ----------------------------------------------------------------- */

struct store_mail_message {
	const char *source;  /* "imap" or "http" */
	const char *outcome; /* "vote" or "quarantined" */
	const char *reason;  /* required when quarantined, else NULL */
	const char *message_id, *from, *subject, *change_id, *member, *partstat; /* or NULL */
	int sequence;                                                            /* < 0: none */
	const char *raw;
	size_t raw_len;
};

/* Keeps a message.  *id (may be NULL) receives its id.  DB_ONE. */
enum db_status store_mail_message_insert(struct store *st, const struct store_mail_message *m,
					 long long *id);

/* Whether a message with `message_id` was read before: DB_ONE, else DB_NONE. */
enum db_status store_mail_seen(struct store *st, const char *message_id);

/*
 * The quarantine, newest first (ids below `before` when > 0, at most `limit`), as an
 * owned array in *out of {"id", "received_at", "source", "reason", "message_id", "from",
 * "subject", "change_id", "member", "sequence", "partstat", "size", "raw_base64"}.
 */
enum db_status store_mail_quarantine(struct store *st, long long before, unsigned limit,
				     json_t **out);

#endif /* TRANSOM_STORE_IMIP_H */
