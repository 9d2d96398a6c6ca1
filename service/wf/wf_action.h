/*
 * wf_action.h -- the workflow action registry, for modules that implement actions.
 *
 * Actions are named built-ins listed in one static table in service/wf/actions.c.  A
 * row gives the name, the parameters it accepts (checked when a workflow is loaded) and
 * the function applying it.  The table is the workflow language: every action a
 * definition may name is declared there.  Actions whose work belongs to a higher module
 * (the policy module's `assess_risk` and `request_approvals`) are declared with a
 * placeholder that does nothing; that module exports a table of struct wf_action_impl
 * and whoever loads the definitions binds it to them (wf_set_bind_actions()), so the
 * engine calls the module without including it and holds no global state.
 *
 * An apply function is pure: it may change the working record, publish a new risk or
 * approvals value through its slots and append effects, nothing else (no I/O, no
 * clock: the time is act->ctx->now).
 */
#ifndef TRANSOM_WF_ACTION_H
#define TRANSOM_WF_ACTION_H

#include "wf/wf.h"

/* What a parameter's value must be. */
enum wf_param_type {
	WF_PARAM_STRING, /* a non-empty string */
	WF_PARAM_BOOL,   /* true or false */
	WF_PARAM_OBJECT, /* a JSON object */
	WF_PARAM_ANY,    /* any JSON value, null included */
	WF_PARAM_FIELD   /* a string naming a settable field of the workflow's kind */
};

/* One accepted parameter of an action. */
struct wf_param {
	const char *name;
	enum wf_param_type type;
	bool required;
};

/* One running action: its inputs and where it writes. */
struct wf_act {
	const struct wf_ctx *ctx; /* the caller's context (ctx->record is the old record) */
	const char *kind;         /* the record kind */
	json_t *record;           /* the working record: read and modify it */
	json_t *params;           /* the action object from the definition: borrowed, read only */
	json_t **risk;      /* slot: replace (owned, decref the old) to publish an assessment */
	json_t **approvals; /* slot: likewise for the approvals status */
	const char *state;  /* the record's state while the action runs */
	const char *event;  /* the event being taken */
	const char *actor;  /* who fires it ("system" for auto transitions and timers) */
	json_t *effects;    /* append effect objects (see wf.h); use wf_act_effect() */
	char err[160];      /* set on failure: short lowercase message */
};

/*
 * Applies an action.  Returns 0, or -1 with act->err set (the whole event then fails
 * with WF_ERR_ACTION, or WF_ERR_NOMEM when err is "out of memory").
 */
typedef int (*wf_action_apply_fn)(struct wf_act *act);

/* One row of the registry. */
struct wf_action_def {
	const char *name;              /* as written in workflows: {"action": "note", ...} */
	const struct wf_param *params; /* accepted parameters, terminated by {NULL} */
	wf_action_apply_fn apply;
	const char *doc; /* one line for `transomd check --actions` and the README */
};

/*
 * An implementation of a declared action, provided by a higher module.  Tables of these
 * end with a row whose name is NULL.
 */
struct wf_action_impl {
	const char *name; /* a row of the registry, e.g. "assess_risk" */
	wf_action_apply_fn apply;
};

/* The row named `name`, or NULL.  Thread-safe. */
const struct wf_action_def *wf_action_find(const char *name);

/* Number of registered actions and the i-th row (table order).  Thread-safe. */
size_t wf_action_count(void);
const struct wf_action_def *wf_action_at(size_t i);

/*
 * Appends `effect` (stolen) to act->effects, adding "state" when absent.  Returns 0, or
 * -1 on OOM with act->err set.
 */
int wf_act_effect(struct wf_act *act, json_t *effect);

/*
 * Appends a note effect {"type":"note","text":text,"author":actor,"state":state}.
 * Returns 0, or -1 on OOM with act->err set.
 */
int wf_act_note(struct wf_act *act, const char *text);

#endif /* TRANSOM_WF_ACTION_H */
