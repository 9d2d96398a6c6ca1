/*
 * wf.h -- the declarative workflow engine: state machines loaded from workflows/<name>.json.
 *
 * A workflow (one JSON file, see workflows/README.md) serves one record kind (change,
 * incident, problem), names the records it applies to, its states and its transitions.
 * This module loads and validates definitions (every error at once, each naming file,
 * JSON path and, for expressions, the column) and fires events against records.
 *
 * The core is pure: no I/O but wf_set_load_dir() reading the directory, no clock (`now`
 * is a parameter), no database.  Firing an event returns everything to persist -- the new
 * record, the path of states, the changed fields, and the effects (outbox events, notes,
 * timers to arm and cancel) -- as data; the caller writes them in one transaction.
 *
 * Records and effects are jansson values.  Thread-safety: a loaded `struct wf` and
 * `struct wf_set` are immutable; any number of threads may fire events at once.
 */
#ifndef TRANSOM_WF_H
#define TRANSOM_WF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"

struct wf;
struct wf_set;
struct wf_action_impl;

/* ---- roles --------------------------------------------------------------------------- */

/* Actor roles, as bits.  `system` is the internal actor of timers and auto transitions. */
enum wf_role {
	WF_ROLE_REQUESTER = 1u << 0,      /* raises changes, reports incidents */
	WF_ROLE_CAB = 1u << 1,            /* change advisory board member */
	WF_ROLE_CHANGE_MANAGER = 1u << 2, /* runs the change process */
	WF_ROLE_PIPELINE = 1u << 3,       /* CI/CD or monitoring automation */
	WF_ROLE_ADMIN = 1u << 4,          /* administrator; no implicit rights in workflows */
	WF_ROLE_SYSTEM = 1u << 5          /* Transom itself: timers, internal events */
};

/* The bit of role `name` ("cab", ...), or 0 when unknown.  Thread-safe. */
unsigned wf_role_parse(const char *name);

/* The name of the single role bit `role`, or NULL.  Static storage.  Thread-safe. */
const char *wf_role_name(unsigned role);

/* ---- record kinds and expression field paths ------------------------------------------ */

/*
 * Whether `kind` ("change", "incident", "problem") is a record kind.  Thread-safe.
 */
bool wf_kind_valid(const char *kind);

/*
 * The record fields of `kind` (NULL-terminated, static storage), data and system fields
 * alike; NULL for an unknown kind.  Use it to refuse unknown fields in PATCH bodies.
 */
const char *const *wf_kind_fields(const char *kind);

/*
 * Whether `field` of `kind` is written only by Transom (id, kind, state, workflow,
 * created_at, updated_at): never editable, never required, never set by set_field.
 */
bool wf_field_protected(const char *field);

/*
 * Whether the dotted expression path `path` exists for records of `kind`, e.g.
 * "change.type", "risk.level", "actor.roles".  The paths are listed in workflows/README.md.
 * Matches expr_field_known_fn when `cls` is the kind string:
 *   expr_compile(src, wf_expr_field_known, (void *)"change", &err)
 * Thread-safe.
 */
bool wf_expr_field_known(void *cls, const char *path);

/* ---- loading -------------------------------------------------------------------------- */

/*
 * Parses and validates one workflow definition.  `file` names it in diagnostics and its
 * base name without ".json" is the workflow's name; `text` need not be NUL-terminated.
 * Returns an owned workflow, or NULL with every error appended to `diags` (which must not
 * be NULL; an out-of-memory condition sets diags->oom).  Never aborts on bad input.
 */
struct wf *wf_parse(const char *file, const char *text, size_t len, struct diags *diags);

/* Frees `wf`; NULL is a no-op.  Not while any thread uses it. */
void wf_free(struct wf *wf);

/*
 * Loads every "*.json" file of directory `dir` (sorted by name; other files ignored),
 * validates each and the set (duplicate names, overlapping `applies_to`).  Files are
 * named "<dir>/<file>" in diagnostics.  Returns an owned set, or NULL when any error was
 * found (all appended to `diags`), the directory cannot be read, or out of memory.
 */
struct wf_set *wf_set_load_dir(const char *dir, struct diags *diags);

/*
 * Binds the implementations in `impls` (borrowed, must outlive the set; ended by a row
 * whose name is NULL; see wf_action.h) to every action of the set's workflows of the same
 * name, replacing the registry's placeholder.  Call once after loading, before the set is
 * shared between threads.  Names no workflow uses are ignored.
 */
void wf_set_bind_actions(struct wf_set *set, const struct wf_action_impl *impls);

/*
 * Builds a set from `n` workflows (stolen, also on failure; the array itself is
 * borrowed) and validates it as wf_set_load_dir() does.  Returns an owned set or NULL.
 */
struct wf_set *wf_set_new(struct wf **wfs, size_t n, struct diags *diags);

/* Frees `set` and its workflows; NULL is a no-op. */
void wf_set_free(struct wf_set *set);

/* Number of workflows in `set`, and the i-th (borrowed, sorted by name). */
size_t wf_set_count(const struct wf_set *set);
const struct wf *wf_set_at(const struct wf_set *set, size_t i);

/* The workflow named `name` (borrowed), or NULL. */
const struct wf *wf_set_find(const struct wf_set *set, const char *name);

/* ---- introspection (all borrowed, valid as long as the workflow) ---------------------- */

const char *wf_name(const struct wf *wf);    /* "change-normal" */
const char *wf_file(const struct wf *wf);    /* as given to the loader */
const char *wf_kind(const struct wf *wf);    /* "change", "incident" or "problem" */
const char *wf_initial(const struct wf *wf); /* name of the initial state */

/*
 * FNV-1a 64 of the canonical definition (json_dumps with JSON_SORT_KEYS|JSON_COMPACT):
 * a change-detection version, not a security hash.  wf_version_hex() gives it as 16
 * lowercase hex digits.
 */
uint64_t wf_version(const struct wf *wf);
const char *wf_version_hex(const struct wf *wf);

/* The parsed definition.  Borrowed and immutable: never modify it. */
json_t *wf_definition(const struct wf *wf);

/* Number of states and the name of the i-th (definition order). */
size_t wf_state_count(const struct wf *wf);
const char *wf_state_name(const struct wf *wf, size_t i);

/* Whether `state` exists in `wf`, and whether it is final (false when unknown). */
bool wf_state_exists(const struct wf *wf, const char *state);
bool wf_state_final(const struct wf *wf, const char *state);
/* Whether an automatic transition leaves `state` (false for an unknown state). */
bool wf_state_has_auto(const struct wf *wf, const char *state);

/*
 * Fields editable (by PATCH) in `state`: a NULL-terminated array, borrowed; empty when
 * none or the state is unknown.  wf_field_editable() tests one field.
 */
const char *const *wf_state_editable(const struct wf *wf, const char *state);
bool wf_field_editable(const struct wf *wf, const char *state, const char *field);

/*
 * The events an actor with `roles` (WF_ROLE_* bits) may fire from `state` by hand:
 * non-auto transitions whose roles intersect `roles`, regardless of guards.  Owned JSON
 * array of distinct event names, sorted; NULL on OOM.
 */
json_t *wf_events_allowed(const struct wf *wf, const char *state, unsigned roles);

/*
 * Whether `schedule` (a change's `schedule` member; NULL or anything else: false) is a
 * booked slot; then its start and end (ms since the epoch) are in *start_ms and *end_ms.
 * Pure.
 */
bool wf_schedule_booked(const json_t *schedule, long long *start_ms, long long *end_ms);

/*
 * Whether any state entry or transition of `wf` runs the action called `name` (so a
 * caller can skip preparing inputs only that action reads).  Thread-safe, no allocation.
 */
bool wf_uses_action(const struct wf *wf, const char *name);

/* Graphviz text of the state machine (owned, NUL-terminated); NULL on OOM. */
char *wf_dot(const struct wf *wf);

/* ---- firing --------------------------------------------------------------------------- */

/* Result of wf_set_select(), wf_start(), wf_fire() and wf_settle(). */
enum wf_status {
	WF_OK = 0,          /* done; see the outcome */
	WF_ERR_NOT_ALLOWED, /* event not allowed from this state; outcome.allowed (HTTP 409) */
	WF_ERR_FORBIDDEN,   /* no role of the actor may fire the event (HTTP 403) */
	WF_ERR_MISSING,     /* required fields are empty; outcome.missing (HTTP 422) */
	WF_ERR_GUARD,       /* guard false; outcome.guard_name/guard_text (HTTP 409) */
	WF_ERR_EVAL,        /* an expression failed at run time, e.g. a type error (500) */
	WF_ERR_ACTION,      /* an action failed at run time (500) */
	WF_ERR_LOOP,        /* auto transitions did not settle within WF_AUTO_MAX steps (500) */
	WF_ERR_BAD_RECORD,  /* record not an object, or its state unknown to the workflow */
	WF_ERR_NO_WORKFLOW, /* wf_set_select: no workflow applies to the record (422) */
	WF_ERR_AMBIGUOUS,   /* wf_set_select: several workflows apply (500, a definition bug) */
	WF_ERR_NOMEM        /* out of memory */
};

/* Most auto transitions taken after one event before WF_ERR_LOOP. */
#define WF_AUTO_MAX 32

/* Short lowercase name of `st`, e.g. "guard failed".  Static storage. */
const char *wf_status_name(enum wf_status st);

/*
 * Picks the workflow for a new record of `kind`: the one whose `applies_to` matches
 * `record` (borrowed).  Returns WF_OK with *out set (borrowed from `set`),
 * WF_ERR_NO_WORKFLOW (none, an unknown kind, or `record` not an object),
 * WF_ERR_AMBIGUOUS (several match: two `applies_to` expressions the loader could not
 * compare), or WF_ERR_EVAL (an `applies_to` expression failed, or out of memory).
 * Thread-safe.
 */
enum wf_status wf_set_select(const struct wf_set *set, const char *kind, json_t *record,
			     const struct wf **out);

/*
 * What the engine may read.  All pointers are borrowed and only read; any may be NULL
 * (then the matching expression paths are null) except `record`.
 */
struct wf_ctx {
	json_t *record;      /* the record as stored (an object; "state" set but for wf_start) */
	json_t *risk;        /* {"level": "low"|"medium"|"high"|..., "score": n} */
	json_t *approvals;   /* {"satisfied": bool, "rejected": bool} */
	json_t *history;     /* {"failure_rate": r, "changes": n, "incidents_caused": n} */
	json_t *teams;       /* service name -> owning team, for route_to_team */
	const char *actor;   /* the actor's name; NULL reads as "system" */
	unsigned roles;      /* WF_ROLE_* bits of the actor */
	const char *comment; /* the event's comment, or NULL */
	int64_t now;         /* current time, seconds since the epoch (UTC) */
	int64_t entered_at;  /* when the record entered its current state, seconds; 0 unknown */
	void *ext;           /* opaque; handed to actions of later modules (policy, scheduler) */
};

/*
 * Everything a call produced.  Zero-initialise before the call; release with
 * wf_outcome_clear().  Owned members are NULL unless stated.
 *
 * Effects (JSON objects, in order):
 *   {"type":"emit", "event":"change.submitted", "record":id, "kind":k, "state":s,
 *    "data":{...}}                                   -- write to the outbox
 *   {"type":"note", "text":"...", "author":actor, "state":s}    -- append to the journal
 *   {"type":"timer_arm", "state":s, "event":e, "after":secs, "due":now+secs}
 *   {"type":"timer_cancel", "state":s, "event":e}     -- drop the armed timer, if any
 * A timer armed and cancelled within one call is elided.
 */
struct wf_outcome {
	enum wf_status status; /* same as the return value */
	char detail[256];      /* error: short lowercase message; "" on WF_OK */
	json_t *record;        /* WF_OK: the record after the call (owned, a new copy) */
	json_t *path;          /* WF_OK: states visited, first = state before, last = after */
	json_t *steps;         /* WF_OK: [{"event","from","to","auto","actor"}] transitions taken */
	json_t *changed;       /* WF_OK: sorted names of top-level fields that changed */
	json_t *effects;       /* WF_OK: effects to persist, see above */
	json_t *warnings;      /* always (unless NOMEM): strings, e.g. a timer skipped on error */
	json_t *allowed;       /* WF_ERR_NOT_ALLOWED: events the actor may fire now */
	json_t *missing;       /* WF_ERR_MISSING: names of the empty required fields */
	json_t *risk;          /* WF_OK: a risk assessment an action produced (persist it) */
	json_t *approvals;     /* WF_OK: an approvals status an action produced */
	const char *guard_name; /* WF_ERR_GUARD: borrowed from the workflow */
	const char *guard_text; /* WF_ERR_GUARD: the guard's source text, borrowed */
	const char *state;      /* WF_OK: the state after the call, borrowed from the workflow */
};

/* Releases what `out` owns and zeroes it; NULL is a no-op. */
void wf_outcome_clear(struct wf_outcome *out);

/*
 * Starts a new record in `wf`: copies ctx->record, sets "kind", "workflow" and "state"
 * (the initial state), runs the initial state's on-enter actions, arms its timers, then
 * takes auto transitions as wf_settle() does.  Returns WF_OK or an error (see enum);
 * `out` is filled either way.
 */
enum wf_status wf_start(const struct wf *wf, const struct wf_ctx *ctx, struct wf_outcome *out);

/*
 * Fires `event` by the actor of `ctx` against ctx->record (not modified).  Checks in
 * order: the event may be fired from the record's state (else WF_ERR_NOT_ALLOWED with
 * the events the actor may fire now), a role of the actor may fire it (WF_ERR_FORBIDDEN),
 * the required fields are filled (WF_ERR_MISSING), its guard holds (WF_ERR_GUARD).  When
 * several transitions share the event, the first in file order that passes is taken.
 * Then: the transition's actions, leaving the old state (cancelling its timers), the new
 * state's on-enter actions and timers, and auto transitions as long as one applies
 * (at most WF_AUTO_MAX, else WF_ERR_LOOP).  On error nothing is to be persisted.
 */
enum wf_status wf_fire(const struct wf *wf, const struct wf_ctx *ctx, const char *event,
		       struct wf_outcome *out);

/*
 * Calls `fn` with the name of each top-level member of a record that wf_check may read
 * for an event fired from `state` (unknown: none) by an actor with `actor_roles` (transitions
 * none of them may take are never looked into): the transitions' required fields, the
 * members their guards read (record.X and <kind>.X read X, risk.* risk, approvals.*
 * approvals, window.* schedule: where a caller keeping the engine's risk and approvals
 * inputs in the record finds them).  A name may come more than once.  So a reader may
 * hand wf_check a record holding only those.
 * Pure; no allocation.
 */
void wf_check_members(const struct wf *wf, const char *state, unsigned actor_roles,
		      void (*fn)(void *cls, const char *member, size_t len), void *cls);

/*
 * The checks of wf_fire alone, for showing which events may be fired: the same status
 * and outcome (detail, allowed, missing, guard) as wf_fire for WF_ERR_NOT_ALLOWED,
 * WF_ERR_FORBIDDEN, WF_ERR_MISSING, WF_ERR_GUARD, WF_ERR_EVAL and WF_ERR_BAD_RECORD;
 * WF_OK when those pass (wf_fire would go on to run the transition, which may still fail
 * with WF_ERR_ACTION or WF_ERR_LOOP).  Nothing is copied or run: outcome.record, path,
 * steps and effects stay NULL.  ctx->record is not modified.
 */
enum wf_status wf_check(const struct wf *wf, const struct wf_ctx *ctx, const char *event,
			struct wf_outcome *out);

/*
 * Takes auto transitions from the record's current state while one's guard holds (as
 * actor "system").  Call after any step that could change a guard: a PATCH, a new risk
 * assessment, a vote.  WF_OK with empty `steps` when none applied.
 */
enum wf_status wf_settle(const struct wf *wf, const struct wf_ctx *ctx, struct wf_outcome *out);

#endif /* TRANSOM_WF_H */
