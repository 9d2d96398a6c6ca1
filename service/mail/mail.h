/*
 * mail.h -- Internet messages (RFC 5322 / MIME) for voting by e-mail: the iMIP invitation
 * Transom sends, and the replies it reads back.
 *
 * The only module that includes GMime.  Building follows the layout that interoperates
 * (CalConnect iMIP best practices, docs in CALENDAR.md):
 *   multipart/mixed
 *     multipart/alternative
 *       text/plain; charset=utf-8
 *       text/html; charset=utf-8
 *       text/calendar; charset=utf-8; method=REQUEST|CANCEL   (base64)
 *     application/ics; name=invite.ics   (attachment, base64)
 * Parsing is for untrusted input: bounded, never aborts; a message GMime cannot make
 * sense of is refused with a reason.
 *
 * Thread-safe: GMime is initialised once (pthread_once) on first use; each call works on
 * its own objects.  No clock: the Date is a parameter.
 */
#ifndef TRANSOM_MAIL_H
#define TRANSOM_MAIL_H

#include <stdbool.h>
#include <stddef.h>

/* Largest message mail_parse() reads (bytes). */
#define MAIL_PARSE_MAX (8u * 1024 * 1024)
/* Most calendar parts mail_parse() keeps. */
#define MAIL_CALENDARS_MAX 8

/* An invitation (all borrowed; NULL where optional). */
struct mail_invitation {
	const char *from_name, *from_addr; /* the sender (TRANSOM_SMTP_FROM); addr required */
	const char *reply_to;              /* the agent address replies go to; optional */
	const char *to_name, *to_addr;     /* the member; addr required */
	const char *subject;               /* required, UTF-8 (control characters: spaces) */
	const char *text;                  /* text/plain body, required */
	const char *html;                  /* text/html body, required (already escaped) */
	const char *ics;                   /* the VCALENDAR text, required */
	const char *method;                /* "REQUEST" or "CANCEL" */
	const char *id_domain;             /* right-hand side of the Message-ID */
	long long date_ms;                 /* the Date header */
};

/*
 * The message, with CRLF line ends, ready for SMTP.  Owned (free()), its length in *len;
 * NULL when a required member is missing or out of memory.
 */
char *mail_build_invitation(const struct mail_invitation *m, size_t *len);

/* Authentication-Results headers kept from a received message (the topmost ones). */
#define MAIL_AUTHRES_MAX 8

/* What the checks need from a received message (owned strings; "" when absent). */
struct mail_parsed {
	char *from;       /* the one From mailbox's address ("" when none or several) */
	char *message_id; /* without angle brackets */
	char *subject;
	char *calendars[MAIL_CALENDARS_MAX]; /* decoded text/calendar and application/ics
						parts, text/calendar first, NUL-terminated */
	size_t calendar_lens[MAIL_CALENDARS_MAX];
	size_t n_calendars;
	char *auth_results[MAIL_AUTHRES_MAX]; /* Authentication-Results values, topmost first */
	size_t n_auth_results;
};

/*
 * Parses `raw` (`len` bytes) as a message into `out` (overwritten; release with
 * mail_parsed_clear, also after a failure).  Returns true, or false with `why` when it is
 * empty, larger than MAIL_PARSE_MAX, or not a message GMime can read.  A message without
 * calendar parts parses (n_calendars 0): the caller decides.
 */
bool mail_parse(const char *raw, size_t len, struct mail_parsed *out, char *why, size_t whylen);

/* Frees what `p` owns and zeroes it; NULL is a no-op. */
void mail_parsed_clear(struct mail_parsed *p);

#endif /* TRANSOM_MAIL_H */
