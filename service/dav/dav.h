/*
 * dav.h -- WebDAV and CalDAV wire formats: XML request bodies in, Multi-Status out.
 *
 * The only module that includes libxml2.  Request bodies (PROPFIND, REPORT) are parsed
 * into plain structs with the network off, no entity substitution, no DTD loading, and
 * any document carrying a DOCTYPE refused (so no entity can expand); bodies larger than
 * DAV_BODY_MAX are refused before parsing.  Replies are written by hand into a growing
 * buffer with XML escaping: well-formed by construction, and fast for large listings.
 *
 * Namespaces are compared by URI, never by prefix.  Nothing here knows about Transom's
 * resources; h_dav.c maps them.  Thread-safe (libxml2 is initialised once, internally).
 */
#ifndef TRANSOM_DAV_H
#define TRANSOM_DAV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define DAV_NS    "DAV:"
#define CALDAV_NS "urn:ietf:params:xml:ns:caldav"
#define CS_NS     "http://calendarserver.org/ns/"
#define ICAL_NS   "http://apple.com/ns/ical/"

#define DAV_BODY_MAX (256 * 1024) /* largest request body parsed */

/* What a request body asks for. */
enum dav_body_kind {
	DAV_PROPFIND_ALLPROP,      /* empty body, or <allprop/> */
	DAV_PROPFIND_PROP,         /* <prop> with property names */
	DAV_PROPFIND_PROPNAME,     /* <propname/> */
	DAV_REPORT_CALENDAR_QUERY, /* CALDAV:calendar-query */
	DAV_REPORT_MULTIGET,       /* CALDAV:calendar-multiget */
	DAV_REPORT_SYNC,           /* DAV:sync-collection (RFC 6578) */
	DAV_REPORT_OTHER,          /* a report Transom does not support (report_ns, report_name) */
};

/* A property name: namespace URI and local name (both owned by the body). */
struct dav_propname {
	char *ns;
	char *name;
};

/* A parsed request body.  Owned strings; free with dav_body_free(). */
struct dav_body {
	enum dav_body_kind kind;
	char report_ns[128], report_name[64]; /* the root element of a REPORT */
	struct dav_propname *props;           /* the <prop> children (PROPFIND_PROP, reports) */
	size_t nprops;
	bool allprop; /* a report asking for <allprop/> (or for no <prop> at all) */
	char **hrefs; /* calendar-multiget: the <href>s, as sent (not decoded) */
	size_t nhrefs;
	char *sync_token;   /* sync-collection: the token ("" when empty) */
	bool sync_infinite; /* sync-level infinite */
	long long limit;    /* sync-collection <limit><nresults>; 0 = none */
	/* calendar-query: the component asked for ("VEVENT"; "" = any component of
	 * VCALENDAR) and its time range, open ends as LLONG_MIN / LLONG_MAX. */
	char comp[32];
	bool has_range;
	long long range_start_ms, range_end_ms;
	/* The first filter element Transom cannot evaluate exactly (prop-filter,
	 * param-filter, text-match, is-not-defined, comp-filter on a sub-component...), or
	 * "" -- answer 403 CALDAV:supported-filter rather than a wrong answer. */
	char unsupported_filter[64];
};

/*
 * Parses `len` bytes of `text` as the body of a PROPFIND (`report` false) or REPORT
 * (`report` true).  An empty PROPFIND body is allprop; an empty REPORT is an error.
 * Returns TR_OK with an owned body in *out, or TR_E_BAD_REQUEST (not XML, a DOCTYPE, an
 * unexpected root, a bad time-range) / TR_E_BODY_TOO_LARGE / TR_E_NOMEM with `err` set.
 */
enum tr_code dav_body_parse(const char *text, size_t len, bool report, struct dav_body **out,
			    struct tr_error *err);

/* Frees `b`; NULL is a no-op. */
void dav_body_free(struct dav_body *b);

/* Whether `b` asks for property `ns` `name` (allprop asks for none in particular). */
bool dav_body_wants(const struct dav_body *b, const char *ns, const char *name);

/*
 * Parses an iCalendar UTC DATE-TIME as CalDAV time-range attributes carry it
 * ("20060104T000000Z") into milliseconds since the epoch.  False when malformed.
 */
bool dav_time_parse(const char *s, long long *ms);

/* ---- Multi-Status output ------------------------------------------------------------------ */

/* A growing text.  Zero-initialise; after any allocation failure `oom` is set and the
 * text stops growing.  Free `p` with free(). */
struct dav_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void dav_buf_add(struct dav_buf *b, const char *s);
void dav_buf_addn(struct dav_buf *b, const char *s, size_t n);
void dav_buf_addf(struct dav_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `n` bytes of `s` with &, <, >, " escaped (and control characters but tab, CR
 * and LF dropped: XML 1.0 cannot carry them). */
void dav_buf_esc(struct dav_buf *b, const char *s, size_t n);

/* <?xml ...?><D:multistatus xmlns:D=... (D, C, CS and ICAL prefixes declared)> */
void dav_ms_begin(struct dav_buf *b);
/* <D:sync-token>token</D:sync-token> (sync-collection) when `sync_token` is not NULL,
 * then </D:multistatus>. */
void dav_ms_end(struct dav_buf *b, const char *sync_token);
/* <D:response><D:href>href</D:href> (href escaped, not percent-encoded here) */
void dav_ms_response_begin(struct dav_buf *b, const char *href);
void dav_ms_response_end(struct dav_buf *b);
/* A whole <D:response> with only a status (404 in multiget and sync-collection). */
void dav_ms_response_status(struct dav_buf *b, const char *href, int status);
/* <D:propstat><D:prop> ... </D:prop><D:status>HTTP/1.1 <status> <reason></D:status></D:propstat> */
void dav_ms_propstat_begin(struct dav_buf *b);
void dav_ms_propstat_end(struct dav_buf *b, int status);
/* A property element: empty (<D:getetag/>), with escaped text, or with raw inner XML
 * that uses only the D:, C:, CS: and ICAL: prefixes.  Other namespaces get an xmlns. */
void dav_ms_prop_empty(struct dav_buf *b, const char *ns, const char *name);
void dav_ms_prop_text(struct dav_buf *b, const char *ns, const char *name, const char *text,
		      size_t len);
void dav_ms_prop_xml(struct dav_buf *b, const char *ns, const char *name, const char *xml);

/* A complete <D:error> body naming precondition `ns` `name` (RFC 4918 16). */
void dav_error_body(struct dav_buf *b, const char *ns, const char *name);

#endif /* TRANSOM_DAV_H */
