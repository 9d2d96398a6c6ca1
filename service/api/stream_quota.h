/*
 * stream_quota.h -- how many event streams and long-polls (GET /v1/events, GET
 * /v1/deployments/{id}?wait=) each user may hold open on this replica.
 *
 * Every open stream is counted against its user (the token's user name):
 *   - an ordinary user (no admin or pipeline role) may hold `per_user`;
 *   - an admin or a pipeline may hold `per_privileged`, and these count against their
 *     own budget: ordinary users together may hold at most `total - reserved`, so the
 *     last `reserved` of the replica's `total` streams stay for admins and pipelines.
 * Thread-safe (one mutex).  No I/O, no clock.
 */
#ifndef TRANSOM_API_STREAM_QUOTA_H
#define TRANSOM_API_STREAM_QUOTA_H

#include <stdbool.h>

struct stream_quota;

/* A quota (owned: stream_quota_free), or NULL when out of memory. */
struct stream_quota *stream_quota_new(unsigned per_user, unsigned per_privileged, unsigned total,
				      unsigned reserved);

/* Frees `q`; NULL is a no-op. */
void stream_quota_free(struct stream_quota *q);

/* Why stream_quota_take refused. */
enum stream_quota_refusal {
	STREAM_QUOTA_OK,
	STREAM_QUOTA_USER,   /* the user holds its budget (`*limit` of them) */
	STREAM_QUOTA_SHARED, /* ordinary users together hold total - reserved (`*limit`) */
	STREAM_QUOTA_NOMEM,
};

/*
 * Counts one more stream of `user` (with role bits `roles`) when its budget allows.
 * Returns STREAM_QUOTA_OK (give it back with stream_quota_give), or why not with the
 * limit that was reached in *limit.  A NULL quota allows everything.
 */
enum stream_quota_refusal stream_quota_take(struct stream_quota *q, const char *user,
					    unsigned roles, unsigned *limit);

/* Gives back one stream that stream_quota_take counted for `user` (same `roles`). */
void stream_quota_give(struct stream_quota *q, const char *user, unsigned roles);

/* Streams `user` holds now (for tests and metrics). */
unsigned stream_quota_held(struct stream_quota *q, const char *user);

#endif /* TRANSOM_API_STREAM_QUOTA_H */
