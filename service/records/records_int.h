/*
 * records_int.h -- what the record use-case files share (internal to service/records/):
 * the transaction job, and the steps every write is made of.
 */
#ifndef TRANSOM_RECORDS_INT_H
#define TRANSOM_RECORDS_INT_H

#include "policy/policy.h"
#include "records/records.h"
#include "store/records.h"
#include "wf/wf.h"

/* One request's work inside a transaction. */
struct rec_job {
	struct rec_ctx *c;
	const char *kind, *id, *event, *comment, *if_match;
	json_t *input;
	struct rec_reply *out;
	struct tr_error *err;
	enum tr_code code;       /* TR_OK, or the refusal that rolled the transaction back */
	bool fired;              /* timers: one was due */
	json_t *history;         /* raw history counts for the policy actions (owned), or NULL */
	json_t *history_summary; /* what expressions read as history.* (owned), or NULL */
	struct policy_ext ext;   /* handed to the policy actions through wf_ctx.ext */
	json_t *subject;         /* the record the engine last ran on (borrowed), for errors */
};

/* Ends a transaction body with a refusal: rolled back, reported as `code`. */
enum db_status rec_refuse(struct rec_job *j, enum tr_code code);

/* Maps a database failure to an error. */
enum tr_code rec_db_error(struct tr_error *err, enum db_status s, struct store *st);

/* Runs `fn` as a transaction and turns its outcome into a tr_code; frees the history. */
enum tr_code rec_run(struct rec_job *j, enum db_status (*fn)(struct store *, void *));

/* Maps an engine refusal to a problem with its extra members. */
enum tr_code rec_engine_error(struct rec_job *j, struct wf_outcome *o);

/* Loads and locks record j->id of kind j->kind, checking If-Match; refuses 404/409/412. */
enum db_status rec_load_locked(struct rec_job *j, struct store_record *r, const struct wf **wf);

/*
 * Loads what the policy actions of `wf` need for `record` (history counts), once per
 * job; nothing when the workflow runs no policy action or no policies are configured.
 */
enum db_status rec_load_policy_inputs(struct rec_job *j, const struct wf *wf, json_t *record);

/* The engine's view of record `r` for this job; j->subject borrows r->data. */
void rec_engine_ctx(struct rec_job *j, const struct store_record *r, struct wf_ctx *ctx);

/*
 * Persists outcome `o` for `r` (new when `insert`): row, links, effects, audit events
 * (`main_action` with `main` first, stolen, may be NULL), the notification, the reply.
 */
enum db_status rec_persist(struct rec_job *j, struct store_record *r, struct wf_outcome *o,
			   bool insert, const char *main_action, json_t *main);

/*
 * Before the engine runs on a change awaiting approval (schedule.c): writes the slot the
 * scheduler would give it now into record.schedule = {"status": "proposed", "start",
 * "end", "soft_freeze", "window"} (or the reasons when none), so approval rules can read
 * change.schedule.soft_freeze.  Nothing is booked.  Does nothing once the change is
 * booked (or was), or when its workflow does not both request approvals and schedule.
 */
enum db_status rec_schedule_propose(struct rec_job *j, const struct wf *wf, json_t *record);

/*
 * Scheduling after an outcome (schedule.c): books a slot when `effects` hold a schedule
 * request, frees the booking when `r` reached a final state.  Updates r->data.schedule;
 * *audit_detail receives what to audit as "scheduled" (owned), or NULL.
 */
enum db_status rec_schedule_apply(struct rec_job *j, struct store_record *r, json_t *effects,
				  json_t **audit_detail);

/*
 * records_deploy_result (deployments.c) with `trusted`: the result comes from a signed
 * GitHub deployment_status (github.c), which carries no lease; other callers must show
 * the lease, or be the pipeline that requested the deployment before a lease exists.
 */
enum tr_code rec_deploy_result(struct rec_ctx *c, const char *id, json_t *input, bool trusted,
			       struct rec_reply *out, struct tr_error *err);

/* The record as clients see it, into j->out / `out`. */
enum db_status rec_represent(struct rec_ctx *c, const struct store_record *r,
			     struct rec_reply *out);

#endif /* TRANSOM_RECORDS_INT_H */
