/*
 * records.h -- the record use cases: create, read, edit, fire events, list, history,
 * and timers.  Ties the workflow engine (pure) to the store: each write is one
 * transaction holding the record's row lock, the new state, its links, its effects
 * (outbox, timers), its audit events and its live notification, so a request either
 * happens entirely or not at all.
 */
#ifndef TRANSOM_RECORDS_H
#define TRANSOM_RECORDS_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "defs/defs.h"
#include "store/store.h"

/* The role of Transom itself (timers, the gate, re-planning): the engine's WF_ROLE_SYSTEM. */
#define REC_ROLE_SYSTEM (1u << 5)

/* Who is acting, when, and through which request.  All borrowed. */
struct rec_ctx {
	struct store *st;
	struct defs *defs;      /* the definitions snapshot of this request */
	const char *actor;      /* user name, or "system" */
	unsigned roles;         /* ROLE_* bits (the same bits as WF_ROLE_*) */
	const char *request_id; /* may be NULL */
	long long now_ms;       /* the time of the request */
	unsigned retries;       /* serialization-failure retries */
	/* The services a JWT pipeline may deploy, space-separated; NULL: any (app/identity.h) */
	const char *services;
	/* Idempotency-Key of a POST, with what identifies the request; key NULL if none. */
	const char *idem_key, *idem_method, *idem_path, *idem_body_hash;
	/*
	 * On a transport thread (a short session, api_run_inline): a write that would do more
	 * than short statements -- a placement, a risk decision or approvals, a retry after
	 * a conflict -- is refused with TR_E_DEFERRED before anything is committed, and a
	 * request worker runs it again.  Only transitions run so (records_transition).
	 */
	bool short_only;
};

/* What a use case did (the transport picks its status from it). */
enum rec_outcome {
	REC_DONE,         /* carried out, or read: `body` is the result */
	REC_CREATED,      /* a new resource, named by `kind` and `id` */
	REC_ACCEPTED,     /* taken in: the result is delivered elsewhere (a callback) */
	REC_NOT_MODIFIED, /* the caller's version is the current one: no body */
};

/* A use case's result, or the extra members of a refusal.  Release with rec_reply_clear. */
struct rec_reply {
	enum rec_outcome outcome;
	json_t *body;   /* the representation (owned) */
	char *raw_body; /* a replayed result (owned), instead of `body` */
	int version;    /* the record's version when the result is one record, else 0; on a
			 * TR_E_PRECONDITION_FAILED refusal, the current version */
	char kind[16];  /* the resource the result names (created or replayed), or "" */
	char id[32];    /* ... its id; on TR_E_PRECONDITION_FAILED the record's */
	json_t *extra;  /* on error: members to add to the problem (owned) */
	/* Set by the caller before the call, kept by rec_reply_clear: the caller sends the
	 * representation of a record written by create, edit or transition as it is, so it
	 * may come as text (`raw_body`) rather than as `body`. */
	bool as_text;
};

/* Releases what `r` holds and empties it, but for r->as_text. */
void rec_reply_clear(struct rec_reply *r);

/*
 * The versions a caller expects a record to be at (parsed from If-Match or
 * If-None-Match by the transport): any existing version, or one of `v`.  An empty set
 * matches nothing.
 */
#define REC_VERSIONS_MAX 32
struct rec_versions {
	bool any;
	size_t n;
	int v[REC_VERSIONS_MAX];
};

/* Whether `version` is one `want` expects. */
bool rec_versions_match(const struct rec_versions *want, int version);

/*
 * Each returns TR_OK with `out` filled, or an error code with `err` set (404 unknown
 * record, 409 event not allowed or guard false, 403 role, 412 not at an expected
 * version, 428 an edit without one, 422 bad or missing fields, 503 database) and maybe
 * out->extra.  `expect` (may be NULL: no condition) are the versions the caller
 * expects the record to be at; records_get answers REC_NOT_MODIFIED when `current` (may
 * be NULL) holds its version.
 */
enum tr_code records_create(struct rec_ctx *c, const char *kind, json_t *input,
			    struct rec_reply *out, struct tr_error *err);
enum tr_code records_get(struct rec_ctx *c, const char *kind, const char *id,
			 const struct rec_versions *current, struct rec_reply *out,
			 struct tr_error *err);
enum tr_code records_patch(struct rec_ctx *c, const char *kind, const char *id,
			   const struct rec_versions *expect, json_t *patch, struct rec_reply *out,
			   struct tr_error *err);
enum tr_code records_transition(struct rec_ctx *c, const char *kind, const char *id,
				const char *event, const char *comment,
				const struct rec_versions *expect, struct rec_reply *out,
				struct tr_error *err);
enum tr_code records_history(struct rec_ctx *c, const char *kind, const char *id,
			     struct rec_reply *out, struct tr_error *err);

/* Filters of GET /v1/{kind}: every member may be NULL. */
struct rec_query {
	const char *state, *type, *service, *requester, *updated_since, *next;
	const char *limit;
	const char *environment; /* changes only */
	const char *risk;        /* changes only: the assessed risk level ("low", ...) */
	const char *sort;        /* "updated" (oldest update first, the default) or "-updated" */
	const char *priority;    /* fields.priority (incidents, problems) */
	const char *assignment_group; /* the team it is assigned to */
};
enum tr_code records_list(struct rec_ctx *c, const char *kind, const struct rec_query *q,
			  struct rec_reply *out, struct tr_error *err);

/*
 * Fires at most one due timer (claimed with FOR UPDATE SKIP LOCKED, so replicas never
 * fire one twice), as actor "system".  *fired tells whether one was due.  A timer whose
 * record moved on is dropped.
 */
enum tr_code records_fire_due_timer(struct rec_ctx *c, bool *fired, struct tr_error *err);

/* ---- risk and approvals (approvals.c) ---- */

/* The risk explanation of change `id`: 409 (rule "state") when not assessed yet. */
enum tr_code records_risk(struct rec_ctx *c, const char *id, struct rec_reply *out,
			  struct tr_error *err);

/* The approvals status of change `id`, with who may still vote. */
enum tr_code records_approvals(struct rec_ctx *c, const char *id, struct rec_reply *out,
			       struct tr_error *err);

/*
 * Records the caller's vote ("approve", "reject" or "abstain") on change `id` for
 * `group` (NULL: the policy picks), replacing the caller's earlier vote; `channel` says
 * how it arrived ("api", ...).  Checks segregation of duties and membership (403 naming
 * the rule), that approvals are awaited (409), then tallies: a reached quorum or a
 * rejection moves the workflow on by itself.  The reply is the approvals status with
 * "change": {id, state, version}.
 */
enum tr_code records_vote(struct rec_ctx *c, const char *id, const char *decision,
			  const char *group, const char *comment, const char *channel,
			  struct rec_reply *out, struct tr_error *err);

/*
 * A change manager's break glass on change `id`: satisfies its approvals on a written
 * `justification` (audited), forces a post-implementation review, and moves on.
 */
enum tr_code records_break_glass(struct rec_ctx *c, const char *id, const char *justification,
				 struct rec_reply *out, struct tr_error *err);

/*
 * The changes waiting for the caller's vote, oldest first: {"items": [...], "total": n};
 * `limit` (NULL: all; else 1 to 500) caps the items, not the total.
 */
enum tr_code records_pending(struct rec_ctx *c, const char *limit, struct rec_reply *out,
			     struct tr_error *err);

/*
 * A dry run for a draft change `input`: risk, approvals, template, and the workflow path
 * a submit would take.  Writes nothing.
 */
enum tr_code records_simulate(struct rec_ctx *c, json_t *input, struct rec_reply *out,
			      struct tr_error *err);

/* ---- scheduling (schedule.c) ---- */

/*
 * Moves scheduled change `id` to the earliest slot at or after input.not_before (an RFC
 * 3339 string; input.reason optional): its sequence goes up and change.rescheduled is
 * emitted.  422 names a bad not_before; 409 (rule "state") when the change is not
 * waiting for its slot.
 */
enum tr_code records_reschedule(struct rec_ctx *c, const char *id, json_t *input,
				struct rec_reply *out, struct tr_error *err);

/* What one re-plan pass did. */
struct rec_replan_stats {
	size_t candidates; /* changes holding or awaiting a slot */
	size_t examined;   /* of them, re-planned before the pass ended */
	unsigned moved;    /* of them, moved (or made unscheduled) */
	bool finished;     /* every candidate was seen */
	/* What the pass depended on, when it finished: nothing needs re-planning while the
	 * definitions stay the same, records_replan_version() answers `version` and
	 * `freezes` and the clock is before `next_edge_ms`. */
	long long version;          /* of the bookings the pass left; -1: another pass is due */
	unsigned long long freezes; /* print of the incident freezes the pass planned around */
	long long next_edge_ms;     /* the next instant time alone may move a change (0: none) */
};

/*
 * Re-plans every change holding or awaiting a slot, in order of approval, after the
 * calendars changed: a booking still legal stays; the others move to their earliest legal
 * slot (or become unscheduled, with reasons), raising their sequence.  `stats` receives
 * the counts.  Each change is re-planned in its own transaction; before each, `stop(cls)`
 * (may be NULL) is asked and a true answer ends the run there (TR_OK, finished false), so
 * a long re-plan never holds up a shutdown.
 */
enum tr_code records_replan(struct rec_ctx *c, bool (*stop)(void *cls), void *cls,
			    struct rec_replan_stats *stats, struct tr_error *err);

/*
 * The version of the bookings (store_schedule_version): raised whenever a change is
 * booked, moved or released, by any replica; and a print of the incident freezes (an
 * open P1/P2 incident freezes its services, app/incident_freezes.h), which move
 * placements without a booking written.  Two small reads: the re-planner's "nothing
 * changed" check.
 */
enum tr_code records_replan_version(struct rec_ctx *c, long long *version,
				    unsigned long long *freezes, struct tr_error *err);

/* Window or freeze instances (`kind` "window", "freeze", "meeting") in [from, to), of one service
 * or all. */
enum tr_code records_calendar_instances(struct rec_ctx *c, const char *kind, const char *service,
					long long from_ms, long long to_ms, json_t **out,
					struct tr_error *err);

/* Bookings overlapping [from, to) (of one service or all), as store_bookings_list gives them. */
enum tr_code records_bookings(struct rec_ctx *c, long long from_ms, long long to_ms,
			      const char *service, json_t **out, struct tr_error *err);

/*
 * The same bookings appended to `out` as the JSON array text jansson would write of
 * records_bookings' array (JSON_COMPACT | JSON_ENSURE_ASCII), without building it: what
 * GET /v1/schedule sends.  TR_OK, TR_E_NOMEM, or 503 database with `err` set.
 */
struct jtext;
enum tr_code records_bookings_text(struct rec_ctx *c, long long from_ms, long long to_ms,
				   const char *service, struct jtext *out, struct tr_error *err);

/*
 * The next `count` free slots for a hypothetical change `change` ({"services",
 * "duration", "not_before", "not_after", "type"}): {"slots": [...]} or, when none,
 * {"slots": [], "reasons": [...]}.  Writes nothing.  422 names a bad field.
 */
enum tr_code records_slots(struct rec_ctx *c, json_t *change, size_t count, json_t **out,
			   struct tr_error *err);

/* ---- the CI gate (deployments.c) ---- */

/*
 * A pipeline asks to deploy: input {service, environment, duration, template?, pipeline?,
 * title?, description?, rollback_plan?, test_evidence?, not_before?, not_after?}.  Makes
 * and submits a change (standard when the template is pre-approved, normal otherwise) and
 * answers REC_CREATED {id, change, service, environment, decision: allow|wait|deny, reasons,
 * window, retry_after, lease, outcome, template}; with c->idem_key seen before, REC_DONE
 * with the same deployment.  422 names a bad field.
 */
enum tr_code records_deploy_request(struct rec_ctx *c, json_t *input, struct rec_reply *out,
				    struct tr_error *err);

/*
 * The gate: deployment `id`'s current decision (as above).  The first read that finds
 * the window open starts the change and returns the lease token (once).  *wake_ms (may be
 * NULL) receives when the decision will change by itself (the window start), or 0.
 */
enum tr_code records_deploy_get(struct rec_ctx *c, const char *id, struct rec_reply *out,
				long long *wake_ms, struct tr_error *err);

/*
 * The outcome: input {outcome: success|failure, details?, lease?, open_incident?}.
 * Completes or fails the change (its result recorded, feeding the risk history); with
 * open_incident, a failure opens an incident caused by the change.  The caller shows the
 * lease the gate granted (409 rule "lease" for a wrong one); without it only the pipeline
 * that requested the deployment may report, and only while no lease exists (403, rule
 * "lease_required").  409 when the change has not started or an outcome was recorded.
 */
enum tr_code records_deploy_result(struct rec_ctx *c, const char *id, json_t *input,
				   struct rec_reply *out, struct tr_error *err);

/*
 * A GitHub webhook (signature already checked): `ping`; `deployment_protection_rule`
 * (action requested) becomes a deployment request of the service policies/github.json
 * maps the repository to -- REC_ACCEPTED, the decision goes to deployment_callback_url, which must
 * start with `api_url`; `deployment_status` records the outcome.  Others: accepted, ignored.
 */
enum tr_code records_github_event(struct rec_ctx *c, const char *event, json_t *payload,
				  const char *api_url, struct rec_reply *out, struct tr_error *err);

/*
 * The GitHub deployments whose decision is due to be reported now: an owned array of
 * {"id", "callback", "environment"} in *out, oldest first, at most 20.
 */
enum tr_code records_github_due(struct rec_ctx *c, json_t **out, struct tr_error *err);

/* Records that GitHub was told deployment `id`'s decision `state` ("approved", "rejected"). */
enum tr_code records_github_reported(struct rec_ctx *c, const char *id, const char *state,
				     struct tr_error *err);

/* Deployment `id` is to be reported again at `next_ms`; `why` (may be NULL) says what failed. */
enum tr_code records_github_later(struct rec_ctx *c, const char *id, long long next_ms,
				  const char *why, struct tr_error *err);

/* Deployments whose lease ran out: fails (or cancels) their change.  *n counts them. */
enum tr_code records_deploy_expire(struct rec_ctx *c, unsigned *n, struct tr_error *err);

/* Emits change.window_opened for bookings that started; *opened when any did. */
enum tr_code records_windows_open(struct rec_ctx *c, bool *opened, struct tr_error *err);

#endif /* TRANSOM_RECORDS_H */
