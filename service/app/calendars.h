/*
 * calendars.h -- the calendars as data: the remote calendars of policies/calendars.json
 * (which to fetch, whether a fetched copy is usable), the services a calendar query may
 * name, a service's free/busy time, and the re-plan that follows a change of the
 * calendars.
 *
 * Nothing here knows of HTTP: api/h_schedule.c and api/h_feeds.c translate requests into
 * these calls, and the background jobs (jobs/calendars.c, jobs/replan.c) call them too.
 */
#ifndef TRANSOM_APP_CALENDARS_H
#define TRANSOM_APP_CALENDARS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app/records.h"
#include "core/err.h"
#include "defs/defs.h"

/* ---- remote calendars ------------------------------------------------------------------- */

/* One remote calendar of policies/calendars.json.  Strings borrowed from the definitions. */
struct calendars_remote {
	size_t index;     /* its place in the definitions' list */
	const char *name; /* names the cached copy: <cache_dir>/calendars/<name>.ics */
	const char *url;  /* http:// or https:// */
	long refresh_s;   /* how often to fetch it */
	long timeout_ms;  /* how long one fetch may take */
};

/* How many remote calendars definitions `d` (may be NULL: none) name. */
size_t calendars_remote_count(const struct defs *d);

/* Remote calendar `i` (< calendars_remote_count) of `d` into *out. */
void calendars_remote_at(const struct defs *d, size_t i, struct calendars_remote *out);

/*
 * Whether `len` bytes of `body` fetched for remote `r` of `d` make a usable calendar (it
 * parses as that remote's freezes, floating times read in its zone, else the site's).
 * When not, `error` (`size` bytes) says why on one line.  Thread-safe.
 */
bool calendars_remote_usable(const struct defs *d, const struct calendars_remote *r,
			     const char *body, size_t len, char *error, size_t size);

/* ---- services, free/busy -------------------------------------------------------------- */

/*
 * Whether `service` (may be NULL: no service named, TR_OK) is one of the catalog's of `d`
 * (any name when there is no catalog).  TR_E_NOT_FOUND (field "service") otherwise.
 */
enum tr_code calendars_service_check(const struct defs *d, const char *service,
				     struct tr_error *err);

/*
 * The busy time of `service` over [from_ms, to_ms): the bookings of it or of a related
 * service (they block it) as {"start", "end", "start_ms", "end_ms", "type": "BUSY",
 * "change"}, then its hard freezes as {..., "type": "BUSY-UNAVAILABLE", "freeze"}.  Sets
 * *busy (owned array).  TR_OK, or an error set on `err` (database).
 */
enum tr_code calendars_freebusy(struct rec_ctx *c, const char *service, long long from_ms,
				long long to_ms, json_t **busy, struct tr_error *err);

/*
 * The free/busy time `busy` (as calendars_freebusy gives it) of `service` as an
 * iCalendar VFREEBUSY stamped `now_ms`: *text owned, *len its length.  TR_OK, or
 * TR_E_INTERNAL set on `err`.
 */
enum tr_code calendars_freebusy_ics(const char *service, long long from_ms, long long to_ms,
				    long long now_ms, json_t *busy, char **text, size_t *len,
				    struct tr_error *err);

#endif /* TRANSOM_APP_CALENDARS_H */
