/*
 * record_steps.h -- small steps on records for the HTTP tests: post, fire an event,
 * create, and the problem+json check.  Header-only, like the harness, so that their
 * CHECKs count in the including test; include it after `static struct server srv;`,
 * the server they talk to.
 */
#ifndef TRANSOM_TEST_RECORD_STEPS_H
#define TRANSOM_TEST_RECORD_STEPS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "lib_http.h"

static inline const char *body_of(const struct reply *r)
{
	return r->body ? r->body : "";
}

static inline struct reply *post(const char *path, const char *token, const char *body)
{
	return request(&srv, "POST", path, token, body, NULL);
}

/* Fires `event` on `path` (a record) as `token`; returns the reply. */
static inline struct reply *fire(const char *path, const char *token, const char *event)
{
	char url[256], body[256];
	snprintf(url, sizeof url, "%s/transitions", path);
	snprintf(body, sizeof body, "{\"event\": \"%s\"}", event);
	return post(url, token, body);
}

/* Fires and checks the resulting state; returns true when it matched. */
static inline bool step(const char *path, const char *token, const char *event, const char *want)
{
	struct reply *r = fire(path, token, event);
	bool ok = r->status == 200 && strcmp(reply_str(r, "state"), want) == 0;
	CHECKF(ok, "%s %s: status %ld state '%s' body %s", path, event, r->status,
	       reply_str(r, "state"), body_of(r));
	reply_free(r);
	return ok;
}

/* Creates a record and copies its Location into `path`. */
static inline bool create(const char *base, const char *token, const char *body, char *path,
			  size_t len)
{
	struct reply *r = post(base, token, body);
	bool ok = r->status == 201 && reply_header(r, "Location") != NULL;
	CHECKF(ok, "create %s: %ld %s", base, r->status, body_of(r));
	snprintf(path, len, "%s", ok ? reply_header(r, "Location") : "/nowhere");
	reply_free(r);
	return ok;
}

/* Is `r` a problem+json reply with `status` (and naming `field`, when not NULL)? */
static inline bool problem_is(const struct reply *r, long status, const char *field)
{
	const char *ct = reply_header(r, "Content-Type");
	return r->status == status && ct && strcmp(ct, "application/problem+json") == 0 &&
	       (field == NULL || strcmp(reply_str(r, "field"), field) == 0);
}

/*
 * Closes change `path` (in review, its review required) as `token`: first checks that
 * `close` is refused with 422 naming the missing review fields (issue 10; review_outcome
 * and review_findings at least, follow_up_actions unless written), then writes them and
 * closes.
 */
static inline bool close_with_review(const char *path, const char *token)
{
	struct reply *r = fire(path, token, "close");
	bool refused = r->status == 422 &&
		       strcmp(reply_str(r, "field") ?: "", "review_outcome") == 0 &&
		       json_array_size(json_object_get(r->json, "missing")) >= 2;
	CHECKF(refused, "close without a review: %ld %s", r->status, body_of(r));
	reply_free(r);
	const char *hdr[] = {"If-Match: *", NULL};
	r = request(&srv, "PATCH", path, token,
		    "{\"review_outcome\": \"failed\", \"review_findings\": \"the migration locked "
		    "the table\", \"follow_up_actions\": [{\"action\": \"batch the migration\"}]}",
		    hdr);
	CHECKF(r->status == 200, "PATCH review: %ld %s", r->status, body_of(r));
	reply_free(r);
	return refused && step(path, token, "close", "closed");
}

/*
 * Test fixture for suites without a movable clock: books scheduled change `path`
 * (/v1/changes/CHG-n) into the slot [now + from, now + to) (SQL intervals), in the
 * database.  booking_at(path, "-1 minute", "1 hour") (open_window_now) makes `start` pass
 * the workflows' within_window guard (issue 10), for tests about what happens after the
 * start; booking_at(path, "1 day", "25 hours") makes it refuse, whatever the time of day
 * (the shipped windows may be open when the suite runs).
 */
static inline bool booking_at(const char *path, const char *from, const char *to)
{
	const char *id = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	PGconn *c = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	const char *params[] = {id, from, to};
	PGresult *r = PQexecParams(c,
				   "UPDATE records SET data = jsonb_set(data, '{schedule}', "
				   "coalesce(data->'schedule', "
				   "'{}') || jsonb_build_object('status', 'booked', 'start', "
				   "to_char((now() + $2::interval) AT TIME ZONE 'UTC', "
				   "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'end', "
				   "to_char((now() + $3::interval) AT TIME ZONE 'UTC', "
				   "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))) WHERE id = $1",
				   3, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdTuples(r), "1") == 0;
	CHECKF(ok, "booking_at(%s, %s, %s): %s", id, from, to, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok;
}

static inline bool open_window_now(const char *path)
{
	return booking_at(path, "-1 minute", "1 hour");
}

#endif /* TRANSOM_TEST_RECORD_STEPS_H */
