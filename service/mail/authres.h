/*
 * authres.h -- reading Authentication-Results headers (RFC 8601) for the DMARC verdict of
 * a trusted MTA.  Pure string code (no GMime): unit-tested and usable for headers a mail
 * gateway forwards over HTTP.
 *
 * Only headers whose authserv-id equals the trusted one count (any MTA, or the sender,
 * can write the others); of those the topmost, the one the nearest trusted MTA added,
 * decides.  An MTA that stamps Authentication-Results must remove incoming headers with
 * its own authserv-id (RFC 8601 section 5), so the topmost is its own.
 */
#ifndef TRANSOM_MAIL_AUTHRES_H
#define TRANSOM_MAIL_AUTHRES_H

#include <stddef.h>

enum authres_verdict {
	AUTHRES_PASS,         /* dmarc=pass, header.from (when given) is the From domain */
	AUTHRES_NO_HEADER,    /* no Authentication-Results of the trusted authserv-id */
	AUTHRES_NOT_PASS,     /* its dmarc result is not pass (or there is none) */
	AUTHRES_OTHER_DOMAIN, /* dmarc=pass for another header.from than the From domain */
};

/*
 * The DMARC verdict of `authserv_id` (compared case-insensitively) among header values
 * `headers` (`n` of them, topmost first; entries may be NULL), for a message whose From
 * address is `from` (may be NULL: header.from is then not compared).  `why` (may be NULL)
 * receives a short lowercase reason naming the result ("dmarc=fail per mx.example.org").
 * Thread-safe.
 */
enum authres_verdict authres_dmarc(const char *const *headers, size_t n, const char *authserv_id,
				   const char *from, char *why, size_t whylen);

#endif /* TRANSOM_MAIL_AUTHRES_H */
