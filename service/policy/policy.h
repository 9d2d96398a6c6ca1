/*
 * policy.h -- people and groups, risk assessment, approval routing and voting, and
 * standard-change templates: the declarative policies of policies/{people,risk,approvals,
 * templates}.json (formats in policies/README.md; the service catalog is catalog.h).
 *
 * Each file is parsed and validated on its own (every error at once, each
 * `file: json.path: column N: message` in the `struct diags` format of the workflow
 * loader), then the four are checked against each other and the catalog and become one
 * immutable `struct policy_set` with a version.  Conditions and points are expressions
 * (service/expr), compiled at load time against exactly the fields listed in
 * policies/README.md ("Expression fields").
 *
 * The core is pure: no I/O but policy_load_dir() reading the four files, no clock (`now`
 * is a parameter where time matters), no database.  Changes, risk assessments, history
 * counts, approval statuses and votes are jansson values; results are owned copies that
 * share nothing with the inputs.
 *
 * Thread-safety: a loaded `struct policy_set` is immutable; any number of threads may use
 * it at once.  It must outlive every borrowed pointer taken from it.
 */
#ifndef TRANSOM_POLICY_H
#define TRANSOM_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy/catalog.h"
#include "wf/wf.h"
#include "wf/wf_action.h"

struct policy_people;
struct policy_risk;
struct policy_approvals;
struct policy_templates;
struct policy_set;

/* Largest policy file policy_load_dir() reads. */
#define POLICY_FILE_MAX (1024 * 1024)

/* Most entries of one list in a file (users, groups, factors, levels, rules, templates). */
#define POLICY_MAX_ITEMS 4096

/* Largest |points| a factor may give (literal or evaluated); keeps every sum exact. */
#define POLICY_POINTS_MAX 1000000

/* Size of the reason buffers filled by the checks below (bytes, with the NUL). */
#define POLICY_REASON_MAX 256

/*
 * Why a computation failed: an expression's run-time error, e.g. "risk factor
 * 'long-duration': when: column 25: cannot compare null with number", bad input, or exactly
 * "out of memory".
 */
struct policy_error {
	char message[256];
};

/* ---- loading -------------------------------------------------------------------------- */

/*
 * Parse and validate one file each.  `file` names it in diagnostics (e.g.
 * "policies/people.json"); `text` need not be NUL-terminated.  Each returns an owned part,
 * or NULL with every error appended to `diags` (which must not be NULL; out of memory sets
 * diags->oom).  Never aborts on bad input.  What refers to another file (groups named by
 * approval rules, catalog services named by templates, ...) is checked by policy_set_new().
 * Thread-safe (for distinct `diags`).
 */
struct policy_people *policy_parse_people(const char *file, const char *text, size_t len,
					  struct diags *diags);
struct policy_risk *policy_parse_risk(const char *file, const char *text, size_t len,
				      struct diags *diags);
struct policy_approvals *policy_parse_approvals(const char *file, const char *text, size_t len,
						struct diags *diags);
struct policy_templates *policy_parse_templates(const char *file, const char *text, size_t len,
						struct diags *diags);

/* Free a part; NULL is a no-op. */
void policy_people_free(struct policy_people *p);
void policy_risk_free(struct policy_risk *r);
void policy_approvals_free(struct policy_approvals *a);
void policy_templates_free(struct policy_templates *t);

/*
 * Builds a set from its parts (all stolen, also on failure).  `people`, `risk` and
 * `approvals` are required (NULL is an error: "missing"); `templates` may be NULL (no
 * standard-change templates).  Checks the parts against each other and, when `catalog`
 * (borrowed, may be NULL) is given, against the catalog: users' teams and the groups of
 * approval rules and break-glass exist; quorums do not exceed the group's size; every
 * team owning a service has a group when a rule requires service owners; template
 * services exist.  Returns an owned set, or NULL with the errors in `diags`.
 */
struct policy_set *policy_set_new(struct policy_people *people, struct policy_risk *risk,
				  struct policy_approvals *approvals,
				  struct policy_templates *templates,
				  const struct policy_catalog *catalog, struct diags *diags);

/*
 * Whether directory `dir` holds any of people.json, risk.json, approvals.json and
 * templates.json.  When none exists policies are not configured: do not call
 * policy_load_dir(), run without a set (the workflow actions then do nothing).
 */
bool policy_dir_configured(const char *dir);

/*
 * Reads "<dir>/people.json", "<dir>/risk.json", "<dir>/approvals.json" (all three
 * required) and "<dir>/templates.json" (optional), at most POLICY_FILE_MAX bytes each,
 * parses each and builds the set as policy_set_new() does.  Files are named "<dir>/<name>"
 * in diagnostics; a missing required file is one error with an empty JSON path.  Every
 * file is parsed even when another has errors, so all errors come at once.  Returns an
 * owned set or NULL.  Thread-safe.
 */
struct policy_set *policy_load_dir(const char *dir, const struct policy_catalog *catalog,
				   struct diags *diags);

/* Frees `set` and its parts; NULL is a no-op.  Not while any thread uses it. */
void policy_free(struct policy_set *set);

/*
 * The version of `set`: FNV-1a 64 of the canonical JSON (json_dumps with JSON_SORT_KEYS |
 * JSON_COMPACT) of the four files, each preceded by its name and "null" for an absent
 * templates.json, as 16 lowercase hex digits.  A change-detection version, not a security
 * hash: formatting and key order do not change it.  Borrowed, lives as long as `set`.
 */
const char *policy_version(const struct policy_set *set);

/*
 * Whether the dotted expression path `path` may be read by expressions of `cls`, one of
 * "risk" (factors), "approvals" (rules, break_glass.when) or "templates"
 * (preapproved_while).  The lists are in policies/README.md.  Matches expr_field_known_fn:
 *   expr_compile(src, policy_expr_field_known, (void *)"risk", &err)
 */
bool policy_expr_field_known(void *cls, const char *path);

/* ---- people and groups (all borrowed, valid as long as the set) ------------------------ */

struct policy_user {
	const char *name;           /* unique; the user name of the person's API tokens */
	const char *display_name;   /* e.g. "Alice Martin" */
	const char *email;          /* unique among every address of every user */
	const char *const *aliases; /* further addresses, NULL-terminated */
	size_t n_aliases;
	const char *team; /* the group of the person's team, NULL when none */
};

struct policy_group {
	const char *name;           /* unique */
	const char *description;    /* NULL when absent */
	const char *const *members; /* user names, NULL-terminated, file order */
	size_t n_members;
	bool votes_by_calendar; /* "votes_by_calendar": members get iMIP invitations */
};

/* The user named `name` (exact, case-sensitive), or NULL (also for NULL). */
const struct policy_user *policy_user_find(const struct policy_set *set, const char *name);

/*
 * The user with the address `addr` as e-mail or alias, compared without regard to ASCII
 * case, or NULL (also for NULL).
 */
const struct policy_user *policy_user_by_email(const struct policy_set *set, const char *addr);

/*
 * The user that `who` names: a user name, else an e-mail address or alias; NULL when
 * neither.  How changes' requesters and voters are matched, so an alias cannot slip past
 * segregation of duties.
 */
const struct policy_user *policy_user_resolve(const struct policy_set *set, const char *who);

/* Number of groups, the i-th (file order; NULL out of range), the one named `name`. */
size_t policy_group_count(const struct policy_set *set);
const struct policy_group *policy_group_at(const struct policy_set *set, size_t i);
const struct policy_group *policy_group_find(const struct policy_set *set, const char *name);

/* Whether `user` (a name, resolved as policy_user_resolve does) belongs to `group`. */
bool policy_group_has(const struct policy_set *set, const char *group, const char *user);

/*
 * The groups `user` (resolved as policy_user_resolve does) belongs to, in file order:
 * an owned array of names, empty for an unknown user; NULL on out of memory.
 */
json_t *policy_user_groups(const struct policy_set *set, const char *user);

/* ---- history and risk ------------------------------------------------------------------ */

/*
 * The smoothed failure rate of `failures` out of `changes` past changes:
 *   rate = (failures + a) / (changes + a + b)
 * with a = history.prior.failures and b = history.prior.successes of risk.json (a Beta(a, b)
 * prior; with a = 1, b = 9 no history reads as 10% and 1 failure in 1 change as 2/11).
 * `failures` is clamped to [0, changes] and `changes` to >= 0.  Thread-safe, no allocation.
 */
double policy_failure_rate(const struct policy_set *set, long failures, long changes);

/* The history window of risk.json in seconds: how far back the store counts changes. */
long long policy_history_window(const struct policy_set *set);

/*
 * The history of `change` (borrowed) from the raw counts `history` (borrowed, may be
 * NULL), as {"failure_rate", "changes", "failures", "incidents_caused", "service",
 * "template": {...}|null, "team": {...}|null, "window", "prior": {"failures",
 * "successes"}}: failure_rate is the worst smoothed rate over the change's services and
 * the counts are that service's.  `history` is
 *   {"services": {name: COUNTS}, "templates": {id: COUNTS}, "teams": {group: COUNTS}}
 * with COUNTS = {"changes": n, "failures": n, "incidents_caused": n} over the window (a
 * change failed when it closed as failed or an incident names it as caused_by; see
 * README).  Missing subjects count as no history.  The value to put in wf_ctx.history.
 * Returns an owned object, NULL on out of memory.
 */
json_t *policy_history_summary(const struct policy_set *set, json_t *change, json_t *history);

/*
 * Assesses the risk of `change` (borrowed; the record, or a draft): every factor whose
 * condition holds adds its points (rounded to the nearest integer, halves away from zero),
 * the score is their sum and the level the last whose `min` the score reaches (the first
 * level when none).  Returns an owned
 *   {"score": n, "level": "high", "factors": [{"id", "points", "reason"}],
 *    "not_fired": [ids], "policy_version": "...", "inputs": {path: value},
 *    "history": {policy_history_summary}}
 * where inputs holds every field the factors read with the value it had.  `catalog` and
 * `history` (raw counts, see above) are borrowed and may be NULL (services.* and history.*
 * then describe nothing).  Deterministic: the same change, history, catalog and set give
 * the same result.  NULL on an evaluation error (a condition or points expression failing
 * at run time, points not a number or beyond POLICY_POINTS_MAX), when `change` is not an
 * object, or out of memory, with `err` (may be NULL) filled.
 */
json_t *policy_risk_assess(const struct policy_set *set, const struct policy_catalog *catalog,
			   json_t *change, json_t *history, struct policy_error *err);

/* ---- backtest (backtest.c) ------------------------------------------------------------ */

/* One carried-out change as the backtest sees it (all borrowed). */
struct policy_bt_change {
	long long score;      /* the risk score recorded when it was assessed */
	const char *level;    /* the risk level recorded then */
	bool failed;          /* it closed as failed */
	bool caused_incident; /* an incident names it as caused_by */
};

/*
 * How well the recorded risk levels and scores foretold bad outcomes (a change is bad
 * when it failed or caused an incident) over the `n` changes `c` (borrowed), as an owned
 *   {"changes", "bad", "base_rate", "levels": [ROW + "level"], "bands": [ROW + "from",
 *    "to"], "brier": {"base_rate", "per_level", "skill"}, "auc": {"score", "level"},
 *    "predicted_probability": null, "levels_rise": bool|null, "verdict": text,
 *    "explain": {figure: text}}
 * with ROW = {"changes", "failures", "incidents_caused", "bad", "observed_rate"}.  Levels
 * come in the order of risk.json's levels (`set` may be NULL), then any other recorded
 * level in order of appearance; bands are `band_width` points wide (>= 1), lowest first,
 * only those holding changes.  Undefined figures (no change, or no bad or no good change)
 * are null.  Pure: no I/O, no clock.  NULL when out of memory.
 */
json_t *policy_backtest(const struct policy_set *set, const struct policy_bt_change *c, size_t n,
			long long band_width);

/*
 * The report of policy_backtest (borrowed) as plain text for a change manager: every
 * figure with what it means.  Owned string, NULL when out of memory.
 */
char *policy_backtest_text(json_t *report);

/* ---- approvals ------------------------------------------------------------------------- */

/*
 * The approvals `change` needs given its `risk` (both borrowed; risk may be NULL, then
 * risk.* reads null).  Every rule whose `when` holds contributes its groups; a group
 * named twice keeps the larger quorum and the stricter rejection.  "Service owners"
 * become the groups named after the teams owning the change's services (catalog, may be
 * NULL).  Returns an owned
 *   {"rules_matched": [ids], "groups": [{"group", "quorum", "one_rejection_rejects",
 *     "members": [all], "eligible": [who may vote: members but the requester under
 *     requester_cannot_approve], "rule", "service_owner_of"?: [services]}],
 *    "one_rejection_rejects": bool (any group), "expires_after": seconds,
 *    "expiry_event": "...", "sod": {"requester_cannot_approve": bool,
 *    "one_vote_per_person": bool, "requester": name|null}, "unmatched": bool,
 *    "warnings": [strings], "policy_version": "..."}
 * The shortest expires_after of the matched rules (else the default) wins, with its event.
 * When no rule matches, groups is empty and unmatched true: such a request is never
 * satisfied (a change manager decides by hand).  NULL on an evaluation error or out of
 * memory, with `err` (may be NULL) filled.
 */
json_t *policy_approvals_required(const struct policy_set *set,
				  const struct policy_catalog *catalog, json_t *change,
				  json_t *risk, struct policy_error *err);

/* Outcome of a vote or break-glass check; every refusal names a rule (HTTP 403). */
enum policy_vote_check {
	POLICY_VOTE_OK = 0,                       /* allowed */
	POLICY_VOTE_REQUESTER_CANNOT_APPROVE,     /* SoD: the requester may not vote */
	POLICY_VOTE_NOT_A_MEMBER,                 /* voter not in the group (or any group) */
	POLICY_VOTE_NOT_REQUIRED,                 /* the named group is not required */
	POLICY_VOTE_REQUESTER_CANNOT_BREAK_GLASS, /* SoD: the requester may not break glass */
	POLICY_VOTE_BREAK_GLASS_NOT_ALLOWED,      /* break_glass.when false, or not configured */
	POLICY_VOTE_JUSTIFICATION_TOO_SHORT,      /* break-glass justification too short */
	POLICY_VOTE_EDITOR_CANNOT_APPROVE         /* SoD: an editor of the change may not vote */
};

/* The rule id of `c`: "ok", "requester_cannot_approve", "not_a_member", ...  Static. */
const char *policy_vote_rule(enum policy_vote_check c);

/*
 * Whether `voter` may vote on `change` (borrowed) whose request is `required` (from
 * policy_approvals_required, borrowed).  Refused, in this order, when: the voter is the
 * change's requester and requester_cannot_approve is on in `set` or in `required`
 * (whatever the decision); the voter is in change.editors (who edited its content) and
 * editors_cannot_approve is on in `set` or `required`; `group` (may be NULL) is not among the
 * required groups; the voter is not a current member of `group` in `set`, or was not eligible in it
 * when the request was made -- or, when `group` is NULL, of any required group.  On POLICY_VOTE_OK
 * *group_out (may be NULL) points at the group voted for, borrowed from `required`: when
 * `group` is NULL, the required group the voter is eligible in with the least slack
 * (eligible members minus quorum; the first on a tie), so that a person needed by a small
 * group (a service owner) is not used up by a large one (the CAB).
 * `reason` (may be NULL) receives one line naming the rule.  Thread-safe.
 */
enum policy_vote_check policy_vote_allowed(const struct policy_set *set, json_t *required,
					   json_t *change, const char *voter, const char *group,
					   const char **group_out, char *reason,
					   size_t reason_size);

/*
 * Whether approvals.json says (ownership.team) that a change belongs to its requester's
 * team as well as to the requester; false when `set` is NULL.  Thread-safe.
 */
bool policy_owner_team(const struct policy_set *set);

/*
 * Counts `votes` (borrowed array of {"user", "group", "decision": "approve"|"reject"|
 * "abstain", "at"}, in the order cast) against `required`.  The latest vote per user
 * counts (per user and group when one_vote_per_person is off); votes by users not
 * eligible in their group, for groups not required, or with another decision are
 * ignored, and listed in "ignored" with the votes later ones replaced.  A vote without a
 * group counts for the group policy_vote_allowed() would pick.  A group is satisfied when
 * its approvals reach its quorum; it rejects when one_rejection_rejects and it has a
 * rejection, or else when its rejections leave too few eligible members to reach the
 * quorum.  Returns an owned
 *   {"satisfied": bool (every group satisfied, none rejecting, at least one group),
 *    "rejected": bool, "groups": [{"group", "quorum", "approvals", "rejections",
 *    "abstentions", "satisfied", "rejected", "voted": [{"user", "decision", "at"}],
 *    "pending": [eligible members who have not voted]}], "ignored": [{"user", "reason"}]}
 * NULL on out of memory or when `required` has no "groups" array.  Thread-safe.
 */
json_t *policy_approvals_tally(json_t *required, json_t *votes);

/*
 * Whether change manager `manager` may break glass on `change` (borrowed): a member of
 * break_glass.group, not the change's requester (requester_cannot_break_glass), the
 * change matching break_glass.when, and `justification` at least break_glass.
 * min_justification characters once trimmed.  `reason` as in policy_vote_allowed().
 */
enum policy_vote_check policy_break_glass_allowed(const struct policy_set *set, json_t *change,
						  const char *manager, const char *justification,
						  char *reason, size_t reason_size);

/*
 * The approvals status of a break glass, to store in place of the tally:
 *   {"satisfied": true, "rejected": false, "break_glass": {"by": manager,
 *    "justification": text, "at": "RFC 3339", "at_ms": now_ms},
 *    "review": {"required": true, "reason": "break glass by ...: justification"}}
 * The caller audits it (actor, justification) and merges "review" into the change, which
 * forces a post-implementation review.  Check policy_break_glass_allowed() first.  Returns
 * owned JSON, or NULL when an argument is NULL or blank, or on out of memory.
 */
json_t *policy_break_glass(const char *manager, const char *justification, long long now_ms);

/* ---- standard-change templates (borrowed, valid as long as the set) -------------------- */

struct policy_template {
	const char *id; /* unique */
	const char *title;
	const char *description;     /* NULL when absent */
	const char *const *services; /* services it may touch, NULL-terminated */
	size_t n_services;
	long long max_duration; /* seconds */
	const char *condition;  /* preapproved_while source, NULL when absent (always) */
};

/* Number of templates, the i-th (file order), the one with id `id` (NULL when none). */
size_t policy_template_count(const struct policy_set *set);
const struct policy_template *policy_template_at(const struct policy_set *set, size_t i);
const struct policy_template *policy_template_find(const struct policy_set *set, const char *id);

/*
 * Whether `change` (borrowed) is pre-approved under template `id` (NULL: change.template):
 * the template exists, the change names at least one service and only services of the
 * template, its duration (ISO 8601) is given and at most max_duration, and the template's
 * preapproved_while holds with `history` (raw counts, borrowed, may be NULL).  `reason`
 * (may be NULL) receives why, either way, e.g. "service 'ledger' is not covered by
 * template 'tls-certificate-renewal'".  An evaluation error is "not pre-approved".
 */
bool policy_template_preapproved(const struct policy_set *set, const char *id, json_t *change,
				 json_t *history, char *reason, size_t reason_size);

/* ---- dry run and workflow actions ------------------------------------------------------ */

/*
 * A dry run for POST /v1/simulate: {"risk": assessment|null, "approvals": required|null,
 * "template": {"id", "preapproved", "reason"}|null (when change.template is set),
 * "errors": [strings], "policy_version"}.  An evaluation error empties its part and is
 * listed, so a half-written draft still gets an answer.  Writes nothing; the workflow
 * path is the caller's (wf_start on a copy).  NULL on out of memory.
 */
json_t *policy_simulate(const struct policy_set *set, const struct policy_catalog *catalog,
			json_t *change, json_t *history);

/* What the workflow actions read from wf_ctx.ext (all borrowed). */
struct policy_ext {
	const struct policy_set *set;         /* NULL: the actions do nothing */
	const struct policy_catalog *catalog; /* may be NULL */
	json_t *history;                      /* raw counts (see above), may be NULL */
};

/*
 * The `assess_risk` action (signature of wf_action_apply_fn): policy_risk_assess() on
 * the working record, published through act->risk, and a note listing the factors.
 * Does nothing and returns 0 when act->ctx->ext (a struct policy_ext) or its set is NULL.
 * Returns -1 with act->err on an evaluation error or out of memory.
 */
int policy_act_assess_risk(struct wf_act *act);

/*
 * The `request_approvals` action: policy_approvals_required() for the working record and
 * the risk in act->risk, published through act->approvals as the status
 *   {"satisfied", "rejected", "groups" (the tally of no votes), "ignored", "required",
 *    "board" (the action's parameter, or null), "requested_at", "expires_at"}
 * plus a note naming the groups and a timer_arm effect firing expiry_event after
 * expires_after.  Same no-op and errors as policy_act_assess_risk().
 */
int policy_act_request_approvals(struct wf_act *act);

/*
 * The workflow actions this module implements (the two above), for wf_set_bind_actions():
 * the loader of the definitions binds them to the workflows.  Ended by a NULL name.
 */
extern const struct wf_action_impl policy_wf_actions[];

#endif /* TRANSOM_POLICY_H */
