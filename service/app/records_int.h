/*
 * records_int.h -- what the record use-case files of app/ share (records.c, records_tx.c,
 * records_view.c, approvals.c, decide.c, schedule.c, deployments.c, deploy_request.c,
 * github.c, imip*.c, owner.c): the transaction job, and the steps every write is made of.
 */
#ifndef TRANSOM_RECORDS_INT_H
#define TRANSOM_RECORDS_INT_H

#include "calendar/calendar.h"
#include "policy/policy.h"
#include "app/records.h"
#include "store/records.h"
#include "wf/wf.h"

/* One request's work inside a transaction. */
struct rec_job {
	struct rec_ctx *c;
	const char *kind, *id, *event, *comment;
	const struct rec_versions *expect; /* the versions the caller expects, or NULL */
	json_t *input;
	struct rec_reply *out;
	struct tr_error *err;
	enum tr_code code;       /* TR_OK, or the refusal that rolled the transaction back */
	bool fired;              /* timers: one was due */
	bool wants_calendar;     /* timers: a change is due, run again with j->instances */
	json_t *history;         /* raw history counts for the policy actions (owned), or NULL */
	json_t *history_summary; /* what expressions read as history.* (owned), or NULL */
	struct policy_ext ext;   /* handed to the policy actions through wf_ctx.ext */
	json_t *subject;         /* the record the engine last ran on (borrowed), for errors */
	/* The calendar instances the planner places changes among (rec_calendar; borrowed),
	 * taken before the transaction so that no row lock waits on libical; or NULL.  The
	 * incident freezes join them in the transaction, when a placement first needs them
	 * (schedule.c, calendar_freezes). */
	struct cal_instances *instances;
	/* A re-plan pass's planners, kept across its changes (schedule.c; borrowed), or NULL:
	 * each placement then builds its own. */
	struct rec_plan_cache *plan;
	/* A placement to show the shared planner once the transaction commits (schedule.c:
	 * rec_schedule_committed; owned), or NULL. */
	struct rec_booked *booked;
	enum db_status (*body)(struct store *, void *); /* the transaction body of rec_run */
	bool no_reply; /* the caller drops the representation (a timer, a job in another) */
	/* The reply in j->out->raw_body ends with `"timers":`: its value, read with the
	 * transaction's COMMIT, follows once that succeeded (rec_run). */
	bool reply_pending;
	char *timers; /* ... that value, delivered by the store (owned), or NULL */
};

/* Ends a transaction body with a refusal: rolled back, reported as `code`. */
enum db_status rec_refuse(struct rec_job *j, enum tr_code code);

/* Ends a transaction body of a short_only job that needs `what`: rolled back, reported as
 * TR_E_DEFERRED (a request worker runs it again). */
enum db_status rec_defer(struct rec_job *j, const char *what);

/* Maps a database failure to an error. */
enum tr_code rec_db_error(struct tr_error *err, enum db_status s, struct store *st);

/*
 * Runs `fn` as a transaction and turns its outcome into a tr_code.  Each attempt starts
 * afresh (no history, no policy inputs of a rolled-back attempt).  For a change (or a
 * timer, whose kind is not known yet) the calendars are expanded first, into
 * j->instances, unless the caller set them.
 */
enum tr_code rec_run(struct rec_job *j, enum db_status (*fn)(struct store *, void *));

/* Maps an engine refusal to a problem with its extra members. */
enum tr_code rec_engine_error(struct rec_job *j, struct wf_outcome *o);

/* Loads and locks record j->id of kind j->kind at a version j->expect holds; refuses
 * 404/409/412. */
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
 * The window, freeze and meeting instances a change may be planned among now (the
 * horizon of policies/calendars.json, a day either side), expanded from the calendars of
 * c->defs; owned (release with rec_calendar_free), NULL on OOM.  Slow (libical, under
 * its process-wide mutex): call it before a transaction locks anything and hand the
 * result in through j->instances.
 */
struct cal_instances *rec_calendar(const struct rec_ctx *c);
void rec_calendar_free(struct cal_instances *l);

/* rec_schedule_propose for any change workflow that schedules, with or without approvals
 * (a standard change's template is judged at its proposed slot). */
enum db_status rec_schedule_propose_any(struct rec_job *j, const struct wf *wf, json_t *record);

/*
 * Loads the history counts of change `record` into j->history / j->history_summary once
 * per job, whatever its workflow runs (a template's pre-approval reads them).
 */
enum db_status rec_load_history(struct rec_job *j, json_t *record);

/*
 * THE decision on what would happen to change `record` (decide.c), the one answer
 * POST /v1/simulate, the `submit` transition and the deployment gate share: writes the
 * proposed slot into record.schedule (status "proposed", with its soft freeze; nothing is
 * booked), loads the policy inputs and history, then decides on that record
 *   {"risk", "approvals" (required groups), "template": {"id", "preapproved", "reason",
 *    "at"}|null, "schedule": the proposal|null, "errors", "policy_version"}
 * into *out (owned).  The template is judged at the proposed slot's start (else the
 * change's not_before).  `wf` is the change's workflow (may be NULL).
 */
enum db_status rec_decide(struct rec_job *j, const struct wf *wf, json_t *record, json_t **out);

/*
 * Whether `decision` (from rec_decide) lets change `record` leave its draft by `submit`:
 * a standard change whose template does not pre-approve it is refused 422 (field
 * "template", rule "template_not_preapproved") naming the template and the reason, and
 * saying to file it as a normal change.  On refusal j->err and j->out->extra are set.
 */
bool rec_decision_allows_submit(struct rec_job *j, json_t *record, json_t *decision);

/*
 * Whether the job's actor may manage (edit, submit, cancel) change `record`: its
 * requester (or, with approvals.json ownership.team, a member of the requester's team),
 * a change manager, an admin, or "system".  Other kinds: always.
 */
bool rec_may_manage(const struct rec_ctx *c, const char *kind, json_t *record);

/* Refuses the job 403 (rule "owner_only") for a change its actor may not manage. */
enum db_status rec_refuse_not_owner(struct rec_job *j, json_t *record, const char *what);

/*
 * Scheduling after an outcome (schedule.c): books a slot when `effects` hold a schedule
 * request, frees the booking when `r` reached a final state.  Updates r->data.schedule;
 * *audit_detail receives what to audit as "scheduled" (owned), or NULL.
 */
/*
 * After a transaction of `j` ended (`committed` or rolled back): the placement it noted
 * updates the snapshot's shared planner when committed, and is forgotten either way.
 */
void rec_schedule_committed(struct rec_job *j, bool committed);

enum db_status rec_schedule_apply(struct rec_job *j, struct store_record *r, json_t *effects,
				  json_t **audit_detail);

/*
 * records_deploy_result (deployments.c) with `trusted`: the result comes from a signed
 * GitHub deployment_status (github.c), which carries no lease; other callers must show
 * the lease, or be the pipeline that requested the deployment before a lease exists.
 */
enum tr_code rec_deploy_result(struct rec_ctx *c, const char *id, json_t *input, bool trusted,
			       struct rec_reply *out, struct tr_error *err);

/* The distinct problems the follow-up actions of change `record` name (owned array; empty
 * for other kinds). */
json_t *rec_follow_up_problems(const char *kind, json_t *record);

/* Whether `list` (a JSON array of strings) holds `s`. */
bool rec_list_has(json_t *list, const char *s);

/* Appends the printf-style reason to the JSON array `reasons` (deployments). */
void rec_add_reason(json_t *reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The record as clients see it, into j->out / `out`. */
enum db_status rec_represent(struct rec_ctx *c, const struct store_record *r,
			     struct rec_reply *out);

/*
 * The representation of record `r` that job `j` has just queued the write of, `text`
 * being r->data as written (compact JSON text), into j->out.  When the caller takes text
 * (j->out->as_text), has no Idempotency-Key to store the reply with and r's data holds
 * none of the members the representation adds, the reply is that text followed by those
 * members, its timers read with the COMMIT (j->reply_pending, ended by rec_run): no copy
 * of the document and no round trip of its own.  Otherwise as rec_represent.
 */
enum db_status rec_represent_written(struct rec_job *j, const struct store_record *r,
				     const char *text);

/* Ends a pending reply (j->reply_pending) once the transaction committed.  False when
 * out of memory. */
bool rec_reply_finish(struct rec_job *j);

#endif /* TRANSOM_RECORDS_INT_H */
