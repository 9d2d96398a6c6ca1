/*
 * engine.c -- firing events: the pure state machine run over one record.
 *
 * A run works on a copy of the record and collects the steps, the states visited and the
 * effects; on success the outcome owns them, on error nothing is to be persisted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf/wf_int.h"

#define NONE ((size_t)-1)

/* One call of wf_start/wf_fire/wf_settle. */
struct run {
	const struct wf *wf;
	const struct wf_ctx *ctx;
	struct wf_outcome *out;
	json_t *record; /* working copy */
	json_t *risk;   /* working values (references) */
	json_t *approvals;
	json_t *path;
	json_t *steps;
	json_t *effects;
	json_t *seen; /* auto-loop detection: [{"s": state, "r": record}] */
	size_t state;
	int64_t entered_at;
	bool entered_in_run; /* the current state was entered during this run */
	struct wf_env env;
};

static const char *const status_names[] = {
	[WF_OK] = "ok",
	[WF_ERR_NOT_ALLOWED] = "event not allowed",
	[WF_ERR_FORBIDDEN] = "role not allowed",
	[WF_ERR_MISSING] = "required fields missing",
	[WF_ERR_GUARD] = "guard failed",
	[WF_ERR_EVAL] = "expression failed",
	[WF_ERR_ACTION] = "action failed",
	[WF_ERR_LOOP] = "auto transitions loop",
	[WF_ERR_BAD_RECORD] = "bad record",
	[WF_ERR_NO_WORKFLOW] = "no workflow applies",
	[WF_ERR_AMBIGUOUS] = "several workflows apply",
	[WF_ERR_NOMEM] = "out of memory",
};

const char *wf_status_name(enum wf_status st)
{
	if ((unsigned)st < sizeof status_names / sizeof status_names[0])
		return status_names[st];
	return "unknown status";
}

void wf_outcome_clear(struct wf_outcome *out)
{
	if (out == NULL)
		return;
	json_decref(out->record);
	json_decref(out->path);
	json_decref(out->steps);
	json_decref(out->changed);
	json_decref(out->effects);
	json_decref(out->warnings);
	json_decref(out->allowed);
	json_decref(out->missing);
	json_decref(out->risk);
	json_decref(out->approvals);
	memset(out, 0, sizeof *out);
}

static enum wf_status fail(struct run *r, enum wf_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum wf_status fail(struct run *r, enum wf_status st, const char *fmt, ...)
{
	va_list ap;

	r->out->status = st;
	va_start(ap, fmt);
	vsnprintf(r->out->detail, sizeof r->out->detail, fmt, ap);
	va_end(ap);
	return st;
}

static enum wf_status nomem(struct run *r)
{
	return fail(r, WF_ERR_NOMEM, "out of memory");
}

static void warn(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct run *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (r->out->warnings != NULL)
		json_array_append_new(r->out->warnings, json_string(msg));
}

static const char *actor_name(const struct run *r, bool is_auto)
{
	if (is_auto || r->ctx->actor == NULL)
		return "system";
	return r->ctx->actor;
}

/* Points the evaluation environment at the run's current values. */
static struct wf_env *env(struct run *r, const char *event, bool is_auto)
{
	r->env.kind = r->wf->kind;
	r->env.record = r->record;
	r->env.risk = r->risk;
	r->env.approvals = r->approvals;
	r->env.history = r->ctx->history;
	r->env.actor = actor_name(r, is_auto);
	r->env.roles = is_auto ? WF_ROLE_SYSTEM : r->ctx->roles;
	r->env.event = event;
	r->env.comment = is_auto ? NULL : r->ctx->comment;
	r->env.state = r->wf->states[r->state].name;
	r->env.now = r->ctx->now;
	r->env.entered_at = r->entered_at;
	return &r->env;
}

/* ---- actions and timers ---- */

static enum wf_status run_actions(struct run *r, const struct wf_actions *list, const char *event,
				  bool is_auto)
{
	for (size_t i = 0; i < list->n; i++) {
		struct wf_act act = {
			.ctx = r->ctx,
			.kind = wf_kind_name(r->wf->kind),
			.record = r->record,
			.params = list->v[i].params,
			.risk = &r->risk,
			.approvals = &r->approvals,
			.state = r->wf->states[r->state].name,
			.event = event,
			.actor = actor_name(r, is_auto),
			.effects = r->effects,
		};
		if (list->v[i].apply(&act) != 0) {
			if (strcmp(act.err, "out of memory") == 0)
				return nomem(r);
			return fail(r, WF_ERR_ACTION, "action '%s' failed: %s",
				    list->v[i].def->name,
				    act.err[0] != '\0' ? act.err : "unknown error");
		}
	}
	return WF_OK;
}

/* Seconds until timer `t` of the current state fires; 0 when it is not armed. */
static int64_t timer_after(struct run *r, const struct wf_timer *t)
{
	struct expr_error err;
	const char *sn = r->wf->states[r->state].name;

	if (t->when != NULL) {
		bool yes = false;
		int rc = wf_env_eval_bool(env(r, t->event, true), t->when, &yes, &err);
		if (rc == -2)
			return -1;
		if (rc != 0) {
			warn(r, "timer '%s' of state '%s' not armed: when: %s", t->event, sn,
			     err.message);
			return 0;
		}
		if (!yes)
			return 0;
	}
	if (t->after_expr == NULL)
		return t->after;
	json_t *v = NULL;
	int rc = wf_env_eval(env(r, t->event, true), t->after_expr, &v, &err);
	if (rc == -2)
		return -1;
	if (rc != 0) {
		warn(r, "timer '%s' of state '%s' not armed: after: %s", t->event, sn, err.message);
		return 0;
	}
	int64_t secs = 0;
	if (json_is_integer(v))
		secs = json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 9.0e15)
		secs = (int64_t)json_real_value(v);
	else if (!json_is_null(v))
		warn(r, "timer '%s' of state '%s' not armed: after is not a number of seconds",
		     t->event, sn);
	json_decref(v);
	if (secs < 0 || secs > INT64_MAX - (r->ctx->now > 0 ? r->ctx->now : 0)) {
		warn(r, "timer '%s' of state '%s' not armed: after out of range", t->event, sn);
		secs = 0;
	}
	return secs;
}

static enum wf_status arm_timers(struct run *r)
{
	const struct wf_state *st = &r->wf->states[r->state];

	for (size_t k = 0; k < st->n_timers; k++) {
		const struct wf_timer *t = &st->timers[k];
		int64_t secs = timer_after(r, t);
		if (secs < 0)
			return nomem(r);
		if (secs == 0)
			continue;
		json_t *e = json_pack("{s:s, s:s, s:s, s:I, s:I}", "type", "timer_arm", "state",
				      st->name, "event", t->event, "after", (json_int_t)secs, "due",
				      (json_int_t)(r->ctx->now + secs));
		if (e == NULL || json_array_append_new(r->effects, e) != 0)
			return nomem(r);
	}
	return WF_OK;
}

static bool str_is(json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* Leaving the current state: cancel its timers, or drop those armed in this run. */
static enum wf_status cancel_timers(struct run *r)
{
	const struct wf_state *st = &r->wf->states[r->state];

	if (r->entered_in_run) {
		for (size_t i = json_array_size(r->effects); i-- > 0;) {
			json_t *e = json_array_get(r->effects, i);
			if (str_is(json_object_get(e, "type"), "timer_arm") &&
			    str_is(json_object_get(e, "state"), st->name))
				json_array_remove(r->effects, i);
		}
		return WF_OK;
	}
	for (size_t k = 0; k < st->n_timers; k++) {
		bool dup = false;
		for (size_t j = 0; !dup && j < k; j++)
			dup = strcmp(st->timers[j].event, st->timers[k].event) == 0;
		if (dup) /* one cancel per (state, event): timers are keyed so */
			continue;
		json_t *e = json_pack("{s:s, s:s, s:s}", "type", "timer_cancel", "state", st->name,
				      "event", st->timers[k].event);
		if (e == NULL || json_array_append_new(r->effects, e) != 0)
			return nomem(r);
	}
	return WF_OK;
}

/* Enters state `s`: state field, on-enter actions, timers. */
static enum wf_status enter(struct run *r, size_t s, const char *event, bool is_auto)
{
	enum wf_status st;

	r->state = s;
	r->entered_at = r->ctx->now;
	r->entered_in_run = true;
	if (json_object_set_new(r->record, "state", json_string(r->wf->states[s].name)) != 0 ||
	    json_array_append_new(r->path, json_string(r->wf->states[s].name)) != 0)
		return nomem(r);
	if ((st = run_actions(r, &r->wf->states[s].on_enter, event, is_auto)) != WF_OK)
		return st;
	return arm_timers(r);
}

/* Takes transition `t` from the current state. */
static enum wf_status step(struct run *r, const struct wf_transition *t, bool is_auto)
{
	size_t from = r->state;
	enum wf_status st;

	if ((st = run_actions(r, &t->actions, t->event, is_auto)) != WF_OK)
		return st;
	json_t *s = json_pack("{s:s, s:s, s:s, s:b, s:s}", "event", t->event, "from",
			      r->wf->states[from].name, "to", r->wf->states[t->to].name, "auto",
			      is_auto, "actor", actor_name(r, is_auto));
	if (s == NULL || json_array_append_new(r->steps, s) != 0)
		return nomem(r);
	if (t->to == from) /* staying: no exit, no entry */
		return WF_OK;
	if ((st = cancel_timers(r)) != WF_OK)
		return st;
	return enter(r, t->to, t->event, is_auto);
}

/* ---- checks ---- */

static bool empty(json_t *v)
{
	return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0) ||
	       (json_is_object(v) && json_object_size(v) == 0);
}

/* Names of the empty required fields of `t` (owned array; NULL on OOM). */
static json_t *missing_fields(struct run *r, const struct wf_transition *t)
{
	json_t *m = json_array();

	for (size_t i = 0; m != NULL && t->required[i] != NULL; i++)
		if (empty(json_object_get(r->record, t->required[i])) &&
		    json_array_append_new(m, json_string(t->required[i])) != 0) {
			json_decref(m);
			return NULL;
		}
	return m;
}

/* 1 when the guard of `t` holds (or it has none), 0 when false, -1 error, -2 OOM. */
static int guard_holds(struct run *r, const struct wf_transition *t, bool is_auto,
		       struct expr_error *err)
{
	bool yes = false;

	if (t->when == NULL)
		return 1;
	int rc = wf_env_eval_bool(env(r, t->event, is_auto), t->when, &yes, err);
	if (rc != 0)
		return rc;
	return yes ? 1 : 0;
}

/* ---- auto transitions ---- */

/* The first auto transition from the current state that applies; NULL if none. */
static const struct wf_transition *next_auto(struct run *r, enum wf_status *st)
{
	const struct wf *wf = r->wf;

	*st = WF_OK;
	for (size_t i = 0; i < wf->n_trans; i++) {
		const struct wf_transition *t = &wf->trans[i];
		struct expr_error err;
		bool from = false;
		if (!t->is_auto)
			continue;
		for (size_t k = 0; !from && k < t->n_from; k++)
			from = t->from[k] == r->state;
		if (!from)
			continue;
		json_t *m = missing_fields(r, t);
		if (m == NULL) {
			*st = nomem(r);
			return NULL;
		}
		size_t n_missing = json_array_size(m);
		json_decref(m);
		if (n_missing != 0)
			continue;
		int rc = guard_holds(r, t, true, &err);
		if (rc == -2) {
			*st = nomem(r);
			return NULL;
		}
		if (rc == -1)
			warn(r, "auto transition '%s' skipped: %s: %s", t->event, t->guard_name,
			     err.message);
		if (rc == 1)
			return t;
	}
	return NULL;
}

/* Whether the run was here before with the same record: the autos would cycle forever. */
static int seen_before(struct run *r)
{
	for (size_t i = 0; i < json_array_size(r->seen); i++) {
		json_t *snap = json_array_get(r->seen, i);
		if ((size_t)json_integer_value(json_object_get(snap, "s")) == r->state &&
		    json_equal(json_object_get(snap, "r"), r->record))
			return 1;
	}
	json_t *snap =
		json_pack("{s:I, s:o}", "s", (json_int_t)r->state, "r", json_deep_copy(r->record));
	if (snap == NULL || json_array_append_new(r->seen, snap) != 0)
		return -1;
	return 0;
}

static enum wf_status settle(struct run *r)
{
	enum wf_status st;

	for (int n = 0;; n++) {
		const struct wf_transition *t = next_auto(r, &st);
		if (st != WF_OK)
			return st;
		if (t == NULL)
			return WF_OK;
		int again = seen_before(r);
		if (again < 0)
			return nomem(r);
		if (again > 0 || n == WF_AUTO_MAX)
			return fail(r, WF_ERR_LOOP,
				    "auto transitions do not settle: '%s' from state '%s' again",
				    t->event, r->wf->states[r->state].name);
		if ((st = step(r, t, true)) != WF_OK)
			return st;
	}
}

/* ---- runs ---- */

static void run_free(struct run *r)
{
	json_decref(r->record);
	json_decref(r->risk);
	json_decref(r->approvals);
	json_decref(r->path);
	json_decref(r->steps);
	json_decref(r->effects);
	json_decref(r->seen);
	json_decref(r->env.scratch);
}

/* Sets up `r`; the record's state is checked unless `starting`.  With `borrow` (checks
 * only, nothing run) the record is ctx->record itself, not a copy. */
static enum wf_status run_setup(struct run *r, const struct wf *wf, const struct wf_ctx *ctx,
				struct wf_outcome *out, bool starting, bool borrow)
{
	memset(out, 0, sizeof *out);
	memset(r, 0, sizeof *r);
	r->wf = wf;
	r->ctx = ctx;
	r->out = out;
	r->state = NONE;
	out->warnings = json_array();
	if (out->warnings == NULL)
		return nomem(r);
	if (!json_is_object(ctx->record))
		return fail(r, WF_ERR_BAD_RECORD, "record is not an object");
	if (!starting) {
		const char *s = json_string_value(json_object_get(ctx->record, "state"));
		if (s == NULL)
			return fail(r, WF_ERR_BAD_RECORD, "record has no state");
		r->state = wf_state_find(wf, s);
		if (r->state == NONE)
			return fail(r, WF_ERR_BAD_RECORD, "state '%.64s' is not in workflow '%s'",
				    s, wf->name);
	}
	r->entered_at = ctx->entered_at;
	r->record = borrow ? json_incref(ctx->record) : json_deep_copy(ctx->record);
	r->path = json_array();
	r->steps = json_array();
	r->effects = json_array();
	r->seen = json_array();
	r->risk = json_incref(ctx->risk);
	r->approvals = json_incref(ctx->approvals);
	if (r->record == NULL || r->path == NULL || r->steps == NULL || r->effects == NULL ||
	    r->seen == NULL)
		return nomem(r);
	if (!starting &&
	    json_array_append_new(r->path, json_string(wf->states[r->state].name)) != 0)
		return nomem(r);
	return WF_OK;
}

static enum wf_status run_init(struct run *r, const struct wf *wf, const struct wf_ctx *ctx,
			       struct wf_outcome *out, bool starting)
{
	return run_setup(r, wf, ctx, out, starting, false);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names of the top-level fields that differ between `a` and `b`. */
static json_t *changed_fields(json_t *a, json_t *b)
{
	size_t n = json_object_size(a) + json_object_size(b), k = 0;
	const char **names = calloc(n != 0 ? n : 1, sizeof *names);
	json_t *out = json_array();
	const char *key;
	json_t *v;

	if (names == NULL || out == NULL)
		goto oom;
	json_object_foreach(a, key, v) {
		if (!json_equal(v, json_object_get(b, key)))
			names[k++] = key;
	}
	json_object_foreach(b, key, v) {
		if (json_object_get(a, key) == NULL)
			names[k++] = key;
	}
	qsort(names, k, sizeof *names, cmp_str);
	for (size_t i = 0; i < k; i++)
		if (json_array_append_new(out, json_string(names[i])) != 0)
			goto oom;
	free(names);
	return out;
oom:
	free(names);
	json_decref(out);
	return NULL;
}

/* Hands the run's results to the outcome (or drops them on error). */
static enum wf_status run_finish(struct run *r, enum wf_status st)
{
	struct wf_outcome *out = r->out;

	if (st == WF_OK) {
		out->changed = changed_fields(r->ctx->record, r->record);
		if (out->changed == NULL)
			st = nomem(r);
	}
	if (st == WF_OK) {
		out->status = WF_OK;
		out->detail[0] = '\0';
		out->record = r->record;
		out->path = r->path;
		out->steps = r->steps;
		out->effects = r->effects;
		out->state = r->wf->states[r->state].name;
		r->record = r->path = r->steps = r->effects = NULL;
		if (r->risk != r->ctx->risk) {
			out->risk = r->risk;
			r->risk = NULL;
		}
		if (r->approvals != r->ctx->approvals) {
			out->approvals = r->approvals;
			r->approvals = NULL;
		}
	} else {
		json_decref(out->changed);
		out->changed = NULL;
	}
	run_free(r);
	return st;
}

enum wf_status wf_start(const struct wf *wf, const struct wf_ctx *ctx, struct wf_outcome *out)
{
	struct run r;
	enum wf_status st = run_init(&r, wf, ctx, out, true);

	if (st != WF_OK)
		return run_finish(&r, st);
	if (json_object_set_new(r.record, "kind", json_string(wf_kind_name(wf->kind))) != 0 ||
	    json_object_set_new(r.record, "workflow", json_string(wf->name)) != 0)
		return run_finish(&r, nomem(&r));
	r.state = wf->initial;
	json_t *s = json_pack("{s:s, s:n, s:s, s:b, s:s}", "event", "start", "from", "to",
			      wf->states[wf->initial].name, "auto", false, "actor",
			      actor_name(&r, false));
	if (s == NULL || json_array_append_new(r.steps, s) != 0)
		return run_finish(&r, nomem(&r));
	st = enter(&r, wf->initial, "start", false);
	if (st == WF_OK)
		st = settle(&r);
	return run_finish(&r, st);
}

enum wf_status wf_settle(const struct wf *wf, const struct wf_ctx *ctx, struct wf_outcome *out)
{
	struct run r;
	enum wf_status st = run_init(&r, wf, ctx, out, false);

	if (st == WF_OK)
		st = settle(&r);
	return run_finish(&r, st);
}

/* Appends "a, b" role names of `roles` to buf. */
static void role_list(unsigned roles, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned bit = 1; bit <= WF_ROLE_SYSTEM && len < size; bit <<= 1)
		if ((roles & bit) != 0)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len != 0 ? ", " : "",
						wf_role_name(bit));
}

/*
 * Picks the transition `event` takes from the current state for the ctx's actor, or
 * sets the outcome's error.
 */
static const struct wf_transition *select_transition(struct run *r, const char *event,
						     enum wf_status *st)
{
	const struct wf *wf = r->wf;
	const char *sn = wf->states[r->state].name;
	unsigned needed = 0;
	size_t n_cand = 0;
	enum wf_status first = WF_OK;

	for (size_t i = 0; i < wf->n_trans; i++) {
		const struct wf_transition *t = &wf->trans[i];
		bool from = false;
		for (size_t k = 0; !from && k < t->n_from; k++)
			from = t->from[k] == r->state;
		if (t->is_auto || !from || strcmp(t->event, event) != 0)
			continue;
		n_cand++;
		needed |= t->roles;
		if ((t->roles & r->ctx->roles) == 0)
			continue;
		json_t *m = missing_fields(r, t);
		if (m == NULL) {
			*st = nomem(r);
			return NULL;
		}
		if (json_array_size(m) != 0) {
			if (first == WF_OK) {
				char list[200] = "";
				size_t len = 0;
				for (size_t j = 0; j < json_array_size(m) && len < sizeof list; j++)
					len += (size_t)snprintf(
						list + len, sizeof list - len, "%s%s",
						j != 0 ? ", " : "",
						json_string_value(json_array_get(m, j)));
				first = fail(r, WF_ERR_MISSING, "required fields missing: %s",
					     list);
				r->out->missing = m;
			} else {
				json_decref(m);
			}
			continue;
		}
		json_decref(m);
		struct expr_error err;
		int rc = guard_holds(r, t, false, &err);
		if (rc == -2) {
			*st = nomem(r);
			return NULL;
		}
		if (rc == 1) {
			/* a later candidate passed: forget an earlier candidate's error */
			json_decref(r->out->missing);
			r->out->missing = NULL;
			r->out->guard_name = r->out->guard_text = NULL;
			r->out->detail[0] = '\0';
			*st = WF_OK;
			return t;
		}
		if (first != WF_OK)
			continue;
		if (rc == -1) {
			first = fail(r, WF_ERR_EVAL, "guard '%s' failed to evaluate: %s",
				     t->guard_name, err.message);
			continue;
		}
		r->out->guard_name = t->guard_name;
		r->out->guard_text = expr_source(t->when);
		first = fail(r, WF_ERR_GUARD, "guard '%s' is false: %.160s", t->guard_name,
			     expr_source(t->when));
	}
	if (n_cand == 0) {
		r->out->allowed = wf_events_allowed(wf, sn, r->ctx->roles);
		if (r->out->allowed == NULL) {
			*st = nomem(r);
			return NULL;
		}
		*st = fail(r, WF_ERR_NOT_ALLOWED, "event '%.64s' is not allowed in state '%s'",
			   event, sn);
		return NULL;
	}
	if (first == WF_OK) {
		char list[160];
		role_list(needed, list, sizeof list);
		*st = fail(r, WF_ERR_FORBIDDEN, "event '%s' needs role %s", event, list);
		return NULL;
	}
	*st = first;
	return NULL;
}

enum wf_status wf_check(const struct wf *wf, const struct wf_ctx *ctx, const char *event,
			struct wf_outcome *out)
{
	struct run r;
	enum wf_status st = run_setup(&r, wf, ctx, out, false, true);

	if (st == WF_OK)
		select_transition(&r, event != NULL ? event : "", &st);
	if (st == WF_OK) { /* checked: nothing to hand over */
		out->status = WF_OK;
		out->detail[0] = '\0';
	}
	run_free(&r);
	return st;
}

enum wf_status wf_fire(const struct wf *wf, const struct wf_ctx *ctx, const char *event,
		       struct wf_outcome *out)
{
	struct run r;
	enum wf_status st = run_init(&r, wf, ctx, out, false);

	if (st != WF_OK)
		return run_finish(&r, st);
	const struct wf_transition *t = select_transition(&r, event != NULL ? event : "", &st);
	if (t == NULL)
		return run_finish(&r, st);
	st = step(&r, t, false);
	if (st == WF_OK)
		st = settle(&r);
	return run_finish(&r, st);
}
