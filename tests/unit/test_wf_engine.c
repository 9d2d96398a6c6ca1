/*
 * test_wf_engine.c -- firing events: every shipped workflow walked from its initial state
 * to a final one, each outcome error, auto transitions and their loop bound, timers armed
 * and cancelled, actions' effects.  Run from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "harness.h"
#include "test_wf_util.h"

static struct wf_set *shipped(void)
{
	struct diags d = {0};
	struct wf_set *set = wf_set_load_dir("workflows", &d);

	if (set == NULL)
		tw_dump(&d);
	diags_clear(&d);
	return set;
}

/* The caller's view of one record, as the HTTP layer would keep it. */
struct rec {
	json_t *r;
	json_t *risk, *approvals, *teams;
	int64_t entered_at;
	struct wf_outcome out;
};

static void rec_free(struct rec *x)
{
	json_decref(x->r);
	json_decref(x->risk);
	json_decref(x->approvals);
	json_decref(x->teams);
	wf_outcome_clear(&x->out);
}

static struct wf_ctx ctx_of(struct rec *x, const char *actor, unsigned roles)
{
	return (struct wf_ctx){.record = x->r,
			       .risk = x->risk,
			       .approvals = x->approvals,
			       .teams = x->teams,
			       .actor = actor,
			       .roles = roles,
			       .now = T_NOW,
			       .entered_at = x->entered_at};
}

/* Applies a successful outcome to the record. */
static void rec_take(struct rec *x)
{
	if (x->out.status != WF_OK)
		return;
	json_decref(x->r);
	x->r = json_incref(x->out.record);
	if (json_array_size(x->out.steps) != 0)
		x->entered_at = T_NOW;
}

/* wf_check_members' callback: copies the member of `cls`'s source into its target. */
struct pick {
	json_t *from, *to;
};

static void pick_member(void *cls, const char *member, size_t len)
{
	struct pick *p = cls;
	char name[128];
	snprintf(name, sizeof name, "%.*s", (int)len, member);
	json_t *v = json_object_get(p->from, name);
	if (v != NULL)
		json_object_set(p->to, name, v);
}

/*
 * wf_check of `event` agrees with what wf_fire returned (`st`, `fired`): the same status
 * when the checks refused, WF_OK otherwise; and so does wf_check on a copy of the record
 * holding only the members wf_check_members names (and the state).
 */
static void check_agrees(const struct wf *wf, const struct wf_ctx *ctx, const char *event,
			 enum wf_status st, const struct wf_outcome *fired)
{
	bool refused = st == WF_ERR_NOT_ALLOWED || st == WF_ERR_FORBIDDEN || st == WF_ERR_MISSING ||
		       st == WF_ERR_GUARD || st == WF_ERR_EVAL || st == WF_ERR_BAD_RECORD;
	struct wf_outcome o = {0};
	enum wf_status cs = wf_check(wf, ctx, event, &o);
	CHECKF(cs == (refused ? st : WF_OK), "wf_check %s: %d, wf_fire %d", event, cs, st);
	if (refused)
		CHECK_STR(o.detail, fired->detail);
	wf_outcome_clear(&o);
	const char *state = json_string_value(json_object_get(ctx->record, "state"));
	if (state == NULL)
		return;
	struct pick p = {ctx->record, json_pack("{s:s}", "state", state)};
	wf_check_members(wf, state, ctx->roles, pick_member, &p);
	struct wf_ctx part = *ctx;
	part.record = p.to;
	enum wf_status ps = wf_check(wf, &part, event, &o);
	CHECKF(ps == cs, "wf_check %s on the members it reads: %d, on the record %d", event, ps,
	       cs);
	wf_outcome_clear(&o);
	json_decref(p.to);
}

static enum wf_status fire(struct rec *x, const struct wf *wf, const char *actor, unsigned roles,
			   const char *event)
{
	struct wf_ctx ctx = ctx_of(x, actor, roles);

	wf_outcome_clear(&x->out);
	enum wf_status st = wf_fire(wf, &ctx, event, &x->out);
	CHECK_INT(x->out.status, st);
	check_agrees(wf, &ctx, event, st, &x->out);
	rec_take(x);
	return st;
}

static enum wf_status start(struct rec *x, const struct wf *wf, const char *actor, unsigned roles)
{
	struct wf_ctx ctx = ctx_of(x, actor, roles);

	wf_outcome_clear(&x->out);
	enum wf_status st = wf_start(wf, &ctx, &x->out);
	rec_take(x);
	return st;
}

static enum wf_status settle(struct rec *x, const struct wf *wf)
{
	struct wf_ctx ctx = ctx_of(x, "alice", WF_ROLE_REQUESTER);

	wf_outcome_clear(&x->out);
	enum wf_status st = wf_settle(wf, &ctx, &x->out);
	rec_take(x);
	return st;
}

static const char *state_of(const struct rec *x)
{
	return json_string_value(json_object_get(x->r, "state"));
}

/* The n-th effect of `type` (and `key` == `val` when key is not NULL), or NULL. */
static json_t *effect(const struct rec *x, const char *type, const char *key, const char *val)
{
	json_t *e;
	size_t i;

	json_array_foreach(x->out.effects, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "type")), type) != 0)
			continue;
		if (key == NULL || (json_string_value(json_object_get(e, key)) != NULL &&
				    strcmp(json_string_value(json_object_get(e, key)), val) == 0))
			return e;
	}
	return NULL;
}

static size_t count_effects(const struct rec *x, const char *type)
{
	size_t n = 0, i;
	json_t *e;

	json_array_foreach(x->out.effects, i, e)
		n += strcmp(json_string_value(json_object_get(e, "type")), type) == 0;
	return n;
}

static void set_str(struct rec *x, const char *field, const char *value)
{
	json_object_set_new(x->r, field, json_string(value));
}

static json_t *new_change(const char *type)
{
	return json_pack("{s:s, s:s, s:s}", "id", "CHG-1", "type", type, "title", "upgrade db");
}

/* Fills the fields change workflows require before submission. */
static void fill_change(struct rec *x)
{
	set_str(x, "description", "minor version");
	json_object_set_new(x->r, "services", json_pack("[s]", "db"));
	set_str(x, "duration", "PT2H");
	set_str(x, "implementation_plan", "apt upgrade");
	set_str(x, "rollback_plan", "apt downgrade");
	set_str(x, "template", "db-minor-upgrade");
}

#define CHECK_PATH(x, ...)                                                                         \
	do {                                                                                       \
		static const char *const want_[] = {__VA_ARGS__, NULL};                            \
		CHECKF(tw_strs((x)->out.path, want_), "path %s", tw_show((x)->out.path));          \
	} while (0)

static void test_start_change_normal(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-normal") : NULL;
	struct rec x = {.r = new_change("normal")};

	CHECK(wf != NULL);
	if (wf == NULL)
		goto out;
	CHECK_INT(start(&x, wf, "alice", WF_ROLE_REQUESTER), WF_OK);
	CHECK_STR(state_of(&x), "draft");
	CHECK_STR(x.out.state, "draft");
	CHECK_STR(json_string_value(json_object_get(x.r, "kind")), "change");
	CHECK_STR(json_string_value(json_object_get(x.r, "workflow")), "change-normal");
	CHECK_PATH(&x, "draft");
	json_t *step = json_array_get(x.out.steps, 0);
	CHECK_STR(json_string_value(json_object_get(step, "event")), "start");
	CHECK(json_is_null(json_object_get(step, "from")));
	CHECK_STR(json_string_value(json_object_get(step, "actor")), "alice");
	json_t *t = effect(&x, "timer_arm", "event", "expire");
	CHECKF(t != NULL, "%s", tw_show(x.out.effects));
	CHECK_STR(json_string_value(json_object_get(t, "state")), "draft");
	CHECK_INT(json_integer_value(json_object_get(t, "after")), 30 * 86400);
	CHECK_INT(json_integer_value(json_object_get(t, "due")), T_NOW + 30 * 86400);
	static const char *const changed[] = {"kind", "state", "workflow", NULL};
	CHECKF(tw_strs(x.out.changed, changed), "%s", tw_show(x.out.changed));
	CHECK(x.out.risk == NULL && x.out.approvals == NULL);
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_walk_change_normal_by_hand(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-normal") : NULL;
	struct rec x = {.r = new_change("normal")};

	if (wf == NULL || start(&x, wf, "alice", WF_ROLE_REQUESTER) != WF_OK) {
		CHECK(0);
		goto out;
	}
	/* submit needs the plans */
	CHECK_INT(fire(&x, wf, "alice", WF_ROLE_REQUESTER, "submit"), WF_ERR_MISSING);
	static const char *const missing[] = {"description",         "services",      "duration",
					      "implementation_plan", "rollback_plan", NULL};
	CHECKF(tw_strs(x.out.missing, missing), "%s", tw_show(x.out.missing));
	CHECK_STR(x.out.detail, "required fields missing: description, services, duration, "
				"implementation_plan, rollback_plan");
	CHECK(x.out.record == NULL && x.out.effects == NULL);
	CHECK_STR(state_of(&x), "draft");

	fill_change(&x);
	CHECK_INT(fire(&x, wf, "alice", WF_ROLE_REQUESTER, "submit"), WF_OK);
	CHECK_PATH(&x, "draft", "assess"); /* risk unknown yet: stays in assess */
	CHECK(effect(&x, "emit", "event", "change.submitted") != NULL);
	CHECK(effect(&x, "timer_cancel", "event", "expire") != NULL);
	json_t *emit = effect(&x, "emit", "event", "change.submitted");
	CHECK_STR(json_string_value(json_object_get(emit, "record")), "CHG-1");
	CHECK_STR(json_string_value(json_object_get(emit, "kind")), "change");
	CHECK_STR(json_string_value(json_object_get(emit, "state")), "draft");

	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "accept_assessment"), WF_OK);
	CHECK_STR(state_of(&x), "authorize");
	json_t *note = effect(&x, "note", NULL, NULL);
	CHECK_STR(json_string_value(json_object_get(note, "text")),
		  "risk assessed by the change manager");
	CHECK_STR(json_string_value(json_object_get(note, "author")), "carol");
	CHECK(effect(&x, "emit", "event", "change.authorization_requested") != NULL);

	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "approve"), WF_ERR_FORBIDDEN); /* votes */
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "approve"), WF_OK);
	CHECK_STR(state_of(&x), "scheduled");
	CHECK(effect(&x, "emit", "event", "change.scheduled") != NULL);
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "start"), WF_OK);
	CHECK_STR(state_of(&x), "implementing");
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "complete"), WF_OK);
	CHECK_STR(state_of(&x), "review");
	CHECK_STR(json_string_value(json_object_get(x.r, "result")), "successful");
	static const char *const changed[] = {"result", "state", NULL};
	CHECKF(tw_strs(x.out.changed, changed), "%s", tw_show(x.out.changed));
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "close"), WF_OK);
	CHECK_STR(state_of(&x), "closed");
	CHECK(wf_state_final(wf, state_of(&x)));
	CHECK(effect(&x, "emit", "event", "change.closed") != NULL);
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_walk_change_normal_auto(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-normal") : NULL;
	struct rec x = {.r = new_change("normal")};

	if (wf == NULL || start(&x, wf, "alice", WF_ROLE_REQUESTER) != WF_OK) {
		CHECK(0);
		goto out;
	}
	fill_change(&x);
	x.risk = json_pack("{s:s, s:i}", "level", "low", "score", 3);
	x.approvals = json_pack("{s:b, s:b}", "satisfied", 1, "rejected", 0);
	CHECK_INT(fire(&x, wf, "alice", WF_ROLE_REQUESTER, "submit"), WF_OK);
	CHECK_PATH(&x, "draft", "assess", "authorize", "scheduled");
	CHECK_INT(json_array_size(x.out.steps), 3);
	json_t *s2 = json_array_get(x.out.steps, 2);
	CHECK_STR(json_string_value(json_object_get(s2, "event")), "authorized");
	CHECK(json_is_true(json_object_get(s2, "auto")));
	CHECK_STR(json_string_value(json_object_get(s2, "actor")), "system");
	CHECK(!json_is_true(json_object_get(json_array_get(x.out.steps, 0), "auto")));
	CHECK(effect(&x, "emit", "event", "change.scheduled") != NULL);

	/* rejected by the board: settles into rejected */
	json_decref(x.r);
	x.r = new_change("normal");
	json_object_set_new(x.r, "state", json_string("authorize"));
	json_decref(x.approvals);
	x.approvals = json_pack("{s:b, s:b}", "satisfied", 0, "rejected", 1);
	CHECK_INT(settle(&x, wf), WF_OK);
	CHECK_PATH(&x, "authorize", "rejected");
	CHECK(effect(&x, "emit", "event", "change.rejected") != NULL);
out:
	rec_free(&x);
	wf_set_free(set);
}

/* A booked slot for record `x` of [start, end) seconds, as RFC 3339 strings. */
static void book(struct rec *x, long long start, long long end)
{
	char a[TIME_RFC3339_LEN], b[TIME_RFC3339_LEN];
	time_format_ms(start * 1000, a);
	time_format_ms(end * 1000, b);
	json_object_set_new(x->r, "schedule",
			    json_pack("{s:s, s:s, s:s}", "status", "booked", "start", a, "end", b));
}

/*
 * Issue 10: `start` of a scheduled normal or standard change holds only inside its booked
 * slot (guard within_window on window.open), or with a broken glass; not when the change
 * is unscheduled.
 */
static void test_start_needs_the_window(void)
{
	struct wf_set *set = shipped();
	static const char *const names[] = {"change-normal", "change-standard"};
	for (size_t i = 0; set != NULL && i < 2; i++) {
		const struct wf *wf = wf_set_find(set, names[i]);
		struct rec x = {.r = new_change(i == 0 ? "normal" : "standard")};
		json_object_set_new(x.r, "state", json_string("scheduled"));
		book(&x, T_NOW + 3600, T_NOW + 7200); /* an hour from now */
		CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "start"), WF_ERR_GUARD);
		CHECK_STR(x.out.guard_name, "within_window");
		CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "start"), WF_ERR_GUARD);
		book(&x, T_NOW - 7200, T_NOW); /* ended just now: [start, end) */
		CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "start"), WF_ERR_GUARD);
		json_object_set_new(x.r, "schedule", json_pack("{s:s}", "status", "unscheduled"));
		CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "start"), WF_ERR_GUARD);
		book(&x, T_NOW - 60, T_NOW + 60); /* open */
		CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "start"), WF_OK);
		CHECK_STR(state_of(&x), "implementing");
		rec_free(&x);

		/* Break glass lets a change manager start outside the window. */
		x = (struct rec){.r = new_change(i == 0 ? "normal" : "standard")};
		json_object_set_new(x.r, "state", json_string("scheduled"));
		book(&x, T_NOW + 86400, T_NOW + 90000);
		x.approvals =
			json_pack("{s:b, s:{s:s}}", "satisfied", 1, "break_glass", "by", "carol");
		CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "start"), WF_OK);
		rec_free(&x);
	}
	CHECK(set != NULL);
	wf_set_free(set);
}

/*
 * A required post-implementation review (issue 10): `close` is refused naming the three
 * review fields until they are written; then it closes.
 */
static void write_review_then_close(struct rec *x, const struct wf *wf)
{
	CHECK_INT(fire(x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "close"), WF_ERR_MISSING);
	static const char *const missing[] = {"review_outcome", "review_findings",
					      "follow_up_actions", NULL};
	CHECKF(tw_strs(x->out.missing, missing), "%s", tw_show(x->out.missing));
	json_object_set_new(x->r, "review_outcome", json_string("failed"));
	json_object_set_new(x->r, "review_findings", json_string("the lock was not released"));
	json_object_set_new(x->r, "follow_up_actions", json_pack("[{s:s}]", "action", "fix it"));
	CHECK_INT(fire(x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "close"), WF_OK);
	CHECK_STR(state_of(x), "closed");
}

static void test_change_failure_needs_review(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-normal") : NULL;
	struct rec x = {.r = new_change("normal")};

	if (wf == NULL) {
		CHECK(0);
		goto out;
	}
	json_object_set_new(x.r, "state", json_string("implementing"));
	json_object_set_new(x.r, "review", json_pack("{s:s}", "owner", "carol"));
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "fail"), WF_OK);
	CHECK_STR(state_of(&x), "failed");
	json_t *review = json_object_get(x.r, "review");
	CHECK(json_is_true(json_object_get(review, "required")));
	CHECK_STR(json_string_value(json_object_get(review, "reason")), "implementation failed");
	CHECK_STR(json_string_value(json_object_get(review, "owner")), "carol"); /* kept */
	CHECK_STR(json_string_value(json_object_get(x.r, "result")), "failed");
	CHECK(effect(&x, "emit", "event", "change.failed") != NULL);
	/* a failed change cannot be closed directly */
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "close"), WF_ERR_NOT_ALLOWED);
	static const char *const allowed[] = {"review", NULL};
	CHECKF(tw_strs(x.out.allowed, allowed), "%s", tw_show(x.out.allowed));
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "review"), WF_OK);
	write_review_then_close(&x, wf);
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_walk_change_standard(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-standard") : NULL;
	struct rec x = {.r = new_change("standard")};

	if (wf == NULL || start(&x, wf, "ci", WF_ROLE_PIPELINE) != WF_OK) {
		CHECK(0);
		goto out;
	}
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "submit"), WF_ERR_MISSING);
	static const char *const missing[] = {"template", "services", "duration", NULL};
	CHECKF(tw_strs(x.out.missing, missing), "%s", tw_show(x.out.missing));
	fill_change(&x);
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "submit"), WF_OK);
	CHECK_PATH(&x, "draft", "scheduled"); /* no CAB */
	json_t *note = effect(&x, "note", NULL, NULL);
	CHECK(note != NULL &&
	      strstr(json_string_value(json_object_get(note, "text")), "pre-approved") != NULL);
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "start"), WF_OK);
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "complete"), WF_OK);
	CHECK_STR(state_of(&x), "closed");
	CHECK_STR(json_string_value(json_object_get(x.r, "result")), "successful");
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_walk_change_emergency(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-emergency") : NULL;
	struct rec x = {.r = new_change("emergency")};

	if (wf == NULL || start(&x, wf, "alice", WF_ROLE_REQUESTER) != WF_OK) {
		CHECK(0);
		goto out;
	}
	CHECK(effect(&x, "timer_arm", NULL, NULL) == NULL); /* no draft timer */
	fill_change(&x);
	CHECK_INT(fire(&x, wf, "alice", WF_ROLE_REQUESTER, "submit"), WF_OK);
	CHECK_STR(state_of(&x), "authorize");
	json_t *t = effect(&x, "timer_arm", "event", "authorization_overdue");
	CHECK_INT(json_integer_value(json_object_get(t, "due")), T_NOW + 4 * 3600);
	CHECK(effect(&x, "emit", "event", "change.emergency_authorization_requested") != NULL);

	/* the timer fires as system: an internal transition, the state's timers untouched */
	CHECK_INT(fire(&x, wf, "system", WF_ROLE_SYSTEM, "authorization_overdue"), WF_OK);
	CHECK_STR(state_of(&x), "authorize");
	CHECK_PATH(&x, "authorize");
	CHECK(effect(&x, "emit", "event", "change.authorization_overdue") != NULL);
	CHECK_INT(count_effects(&x, "timer_arm") + count_effects(&x, "timer_cancel"), 0);

	CHECK_INT(fire(&x, wf, "erin", WF_ROLE_CHANGE_MANAGER, "approve"), WF_OK);
	CHECK_STR(state_of(&x), "approved");
	CHECK(effect(&x, "timer_cancel", "event", "authorization_overdue") != NULL);
	/* skip the window: approved -> implementing */
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "start"), WF_OK);
	CHECK_STR(state_of(&x), "implementing");
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "complete"), WF_OK);
	CHECK_STR(state_of(&x), "review");
	CHECK(json_is_true(json_object_get(json_object_get(x.r, "review"), "required")));
	write_review_then_close(&x, wf);
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_walk_incident(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "incident") : NULL;
	struct rec x = {.r = json_pack("{s:s, s:s, s:s, s:s}", "id", "INC-7", "title", "web down",
				       "service", "web", "priority", "P1"),
			.teams = json_pack("{s:s}", "web", "team-web")};

	if (wf == NULL || start(&x, wf, "dave", WF_ROLE_REQUESTER) != WF_OK) {
		CHECK(0);
		goto out;
	}
	/* routed at once to the owning team */
	CHECK_PATH(&x, "new", "assigned");
	CHECK_STR(json_string_value(json_object_get(x.r, "assignment_group")), "team-web");
	CHECK(effect(&x, "emit", "event", "incident.opened") != NULL);
	CHECK(effect(&x, "emit", "event", "incident.assigned") != NULL);
	/* new's timer was armed and dropped within the call; P1 responds in 15 minutes */
	CHECK(effect(&x, "timer_arm", "state", "new") == NULL);
	CHECK_INT(count_effects(&x, "timer_cancel"), 0);
	CHECK_INT(count_effects(&x, "timer_arm"), 1);
	json_t *t = effect(&x, "timer_arm", "state", "assigned");
	CHECK_INT(json_integer_value(json_object_get(t, "after")), 15 * 60);

	CHECK_INT(fire(&x, wf, "system", WF_ROLE_SYSTEM, "response_overdue"), WF_OK);
	CHECK_STR(state_of(&x), "assigned");
	CHECK(json_is_true(json_object_get(x.r, "escalated")));
	json_t *esc = effect(&x, "emit", "event", "incident.escalated");
	CHECK_STR(json_string_value(json_object_get(json_object_get(esc, "data"), "reason")),
		  "response overdue");

	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "start"), WF_OK);
	CHECK_STR(state_of(&x), "in_progress");
	CHECK_INT(count_effects(&x, "timer_cancel"), 1); /* four timers, one event */
	t = effect(&x, "timer_arm", "event", "resolution_overdue");
	CHECK_INT(json_integer_value(json_object_get(t, "after")), 4 * 3600);

	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "resolve"), WF_ERR_MISSING);
	static const char *const missing[] = {"resolution", NULL};
	CHECK(tw_strs(x.out.missing, missing));
	set_str(&x, "resolution", "restarted the pool");
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "resolve"), WF_OK);
	CHECK_STR(state_of(&x), "resolved");
	t = effect(&x, "timer_arm", "event", "auto_close");
	CHECK_INT(json_integer_value(json_object_get(t, "after")), 7 * 86400);

	CHECK_INT(fire(&x, wf, "dave", WF_ROLE_REQUESTER, "reopen"), WF_OK);
	CHECK_STR(state_of(&x), "in_progress");
	CHECK(json_is_null(json_object_get(x.r, "resolution")));
	CHECK(effect(&x, "note", "text", "reopened") != NULL);
	CHECK(effect(&x, "timer_cancel", "event", "auto_close") != NULL);

	set_str(&x, "resolution", "replaced the disk");
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "resolve"), WF_OK);
	CHECK_INT(fire(&x, wf, "system", WF_ROLE_SYSTEM, "auto_close"), WF_OK);
	CHECK_STR(state_of(&x), "closed");
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_incident_unrouted(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "incident") : NULL;
	struct rec x = {.r = json_pack("{s:s, s:s, s:s}", "id", "INC-8", "title", "odd noise",
				       "service", "mystery")};

	if (wf == NULL || start(&x, wf, "dave", WF_ROLE_REQUESTER) != WF_OK) {
		CHECK(0);
		goto out;
	}
	CHECK_PATH(&x, "new");
	CHECK(json_object_get(x.r, "assignment_group") == NULL);
	CHECK(effect(&x, "note", "text",
		     "no owning team known for service 'mystery'; left unassigned") != NULL);
	/* no priority: the default response time */
	json_t *t = effect(&x, "timer_arm", "state", "new");
	CHECK_INT(json_integer_value(json_object_get(t, "after")), 86400);

	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "assign"), WF_ERR_MISSING);
	/* a PATCH sets the group: settling routes it */
	set_str(&x, "assignment_group", "team-ops");
	CHECK_INT(settle(&x, wf), WF_OK);
	CHECK_PATH(&x, "new", "assigned");
	CHECK(effect(&x, "timer_cancel", "state", "new") != NULL);
	CHECK_INT(settle(&x, wf), WF_OK); /* nothing more to do */
	CHECK_PATH(&x, "assigned");
	CHECK_INT(json_array_size(x.out.steps), 0);
	CHECK_INT(json_array_size(x.out.changed), 0);
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_walk_problem(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "problem") : NULL;
	struct rec x = {.r = json_pack("{s:s, s:s, s:[s,s]}", "id", "PRB-1", "title", "disk fills",
				       "incidents", "INC-7", "INC-9")};

	if (wf == NULL || start(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER) != WF_OK) {
		CHECK(0);
		goto out;
	}
	CHECK_STR(state_of(&x), "new");
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "investigate"), WF_OK);
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "identify"), WF_ERR_MISSING);
	set_str(&x, "root_cause", "log rotation off");
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "identify"), WF_OK);
	CHECK_STR(state_of(&x), "known_error");
	set_str(&x, "fix_change", "CHG-5");
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "raise_fix"), WF_OK);
	CHECK_STR(state_of(&x), "fix_in_change");
	/* the fix change failed: back to known_error, a new fix change is needed */
	CHECK_INT(fire(&x, wf, "system", WF_ROLE_SYSTEM, "fix_failed"), WF_OK);
	CHECK_STR(state_of(&x), "known_error");
	CHECK(json_is_null(json_object_get(x.r, "fix_change")));
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "raise_fix"), WF_ERR_MISSING);
	set_str(&x, "fix_change", "CHG-6");
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "raise_fix"), WF_OK);
	CHECK_INT(fire(&x, wf, "system", WF_ROLE_SYSTEM, "fixed"), WF_OK);
	CHECK_STR(state_of(&x), "resolved");
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "close"), WF_OK);
	CHECK_STR(state_of(&x), "closed");
	CHECK(effect(&x, "emit", "event", "problem.closed") != NULL);
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_err_not_allowed(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-normal") : NULL;
	struct rec x = {.r = new_change("normal")};

	if (wf == NULL) {
		CHECK(0);
		goto out;
	}
	json_object_set_new(x.r, "state", json_string("draft"));
	CHECK_INT(fire(&x, wf, "alice", WF_ROLE_REQUESTER, "close"), WF_ERR_NOT_ALLOWED);
	CHECK_STR(x.out.detail, "event 'close' is not allowed in state 'draft'");
	static const char *const req[] = {"cancel", "submit", NULL};
	CHECKF(tw_strs(x.out.allowed, req), "%s", tw_show(x.out.allowed));
	CHECK(x.out.record == NULL && x.out.effects == NULL && x.out.steps == NULL);
	CHECK_STR(wf_status_name(x.out.status), "event not allowed");

	/* auto transitions cannot be fired by hand; allowed is computed for the actor */
	json_object_set_new(x.r, "state", json_string("assess"));
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "assessed"), WF_ERR_NOT_ALLOWED);
	static const char *const cm[] = {"accept_assessment", "cancel", "reject", NULL};
	CHECKF(tw_strs(x.out.allowed, cm), "%s", tw_show(x.out.allowed));
	CHECK_INT(fire(&x, wf, "ci", WF_ROLE_PIPELINE, "fly"), WF_ERR_NOT_ALLOWED);
	static const char *const ci[] = {"cancel", NULL}; /* a pipeline withdraws its own */
	CHECKF(tw_strs(x.out.allowed, ci), "%s", tw_show(x.out.allowed));
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_err_forbidden(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-normal") : NULL;
	struct rec x = {.r = new_change("normal")};

	if (wf == NULL) {
		CHECK(0);
		goto out;
	}
	json_object_set_new(x.r, "state", json_string("draft"));
	fill_change(&x);
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "submit"), WF_ERR_FORBIDDEN);
	CHECK_STR(x.out.detail, "event 'submit' needs role requester, change_manager, pipeline");
	/* admin has no implicit rights */
	CHECK_INT(fire(&x, wf, "root", WF_ROLE_ADMIN, "submit"), WF_ERR_FORBIDDEN);
	/* the timer's event is for system only */
	CHECK_INT(fire(&x, wf, "alice", WF_ROLE_REQUESTER, "expire"), WF_ERR_FORBIDDEN);
	CHECK_INT(fire(&x, wf, "system", WF_ROLE_SYSTEM, "expire"), WF_OK);
	CHECK_STR(state_of(&x), "cancelled");
	CHECK(effect(&x, "note", "author", "system") != NULL);
out:
	rec_free(&x);
	wf_set_free(set);
}

static const char *const guard_wf =
	"{'kind':'change','initial':'a','states':{'a':{},'b':{'final':true},'c':{'final':true}},"
	"'transitions':["
	"{'event':'go','from':'a','to':'b','roles':['cab'],'guard':'few_services',"
	" 'when':'len(change.services) < 3'},"
	"{'event':'jump','from':'a','to':'b','roles':['cab'],'when':'change.type == `normal`'},"
	"{'event':'bad','from':'a','to':'b','roles':['cab'],'when':'change.title > 3'},"
	"{'event':'pick','from':'a','to':'b','roles':['cab'],'when':'change.type == `x`'},"
	"{'event':'pick','from':'a','to':'c','roles':['cab'],'required':['template']},"
	"{'event':'who','from':'a','to':'b','roles':['cab','admin'],"
	" 'when':'`cab` in actor.roles && event.comment != null'},"
	"{'event':'wait','from':'a','to':'b','roles':['cab'],"
	" 'when':'now - state.entered_at >= 1h'}]}";

static void test_err_guard(void)
{
	struct diags d = {0};
	struct wf *wf = tw_parse(guard_wf, &d);
	struct rec x = {.r = json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "id", "CHG-2", "state", "a",
				       "title", "t", "services", "a", "b", "c")};

	CHECK(wf != NULL);
	if (wf == NULL) {
		tw_dump(&d);
		goto out;
	}
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "go"), WF_ERR_GUARD);
	CHECK_STR(x.out.guard_name, "few_services");
	CHECK_STR(x.out.guard_text, "len(change.services) < 3");
	CHECK_STR(x.out.detail, "guard 'few_services' is false: len(change.services) < 3");
	CHECK(x.out.record == NULL);
	/* an unnamed guard is named by its JSON path */
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "jump"), WF_ERR_GUARD);
	CHECK_STR(x.out.guard_name, "transitions[1].when");
	CHECK_STR(x.out.guard_text, "change.type == \"normal\"");
	/* a type error at run time */
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "bad"), WF_ERR_EVAL);
	CHECKF(strstr(x.out.detail, "cannot compare") != NULL, "%s", x.out.detail);

	json_array_remove(json_object_get(x.r, "services"), 0);
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "go"), WF_OK);
	CHECK_STR(state_of(&x), "b");
out:
	rec_free(&x);
	wf_free(wf);
	diags_clear(&d);
}

static void test_candidates_in_order(void)
{
	struct diags d = {0};
	struct wf *wf = tw_parse(guard_wf, &d);
	struct rec x = {.r = json_pack("{s:s, s:s}", "state", "a", "type", "x")};

	if (wf == NULL) {
		CHECK(0);
		goto out;
	}
	/* first candidate's guard holds */
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "pick"), WF_OK);
	CHECK_STR(state_of(&x), "b");
	/* guard false: the fallback, which needs a template */
	set_str(&x, "state", "a");
	set_str(&x, "type", "y");
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "pick"), WF_ERR_GUARD);
	CHECK_STR(x.out.guard_name, "transitions[3].when"); /* the first failure is reported */
	set_str(&x, "template", "t1");
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "pick"), WF_OK);
	CHECK_STR(state_of(&x), "c");
	CHECK(x.out.guard_name == NULL && x.out.missing == NULL);
out:
	rec_free(&x);
	wf_free(wf);
	diags_clear(&d);
}

static void test_guard_reads_context(void)
{
	struct diags d = {0};
	struct wf *wf = tw_parse(guard_wf, &d);
	struct rec x = {.r = json_pack("{s:s}", "state", "a")};

	if (wf == NULL) {
		CHECK(0);
		goto out;
	}
	struct wf_ctx ctx = ctx_of(&x, "root", WF_ROLE_ADMIN);
	ctx.comment = "because";
	CHECK_INT(wf_fire(wf, &ctx, "who", &x.out), WF_ERR_GUARD); /* not cab */
	wf_outcome_clear(&x.out);
	ctx.roles = WF_ROLE_CAB;
	ctx.comment = NULL;
	CHECK_INT(wf_fire(wf, &ctx, "who", &x.out), WF_ERR_GUARD); /* no comment */
	wf_outcome_clear(&x.out);
	ctx.comment = "because";
	CHECK_INT(wf_fire(wf, &ctx, "who", &x.out), WF_OK);
	wf_outcome_clear(&x.out);

	ctx.entered_at = T_NOW - 60;
	CHECK_INT(wf_fire(wf, &ctx, "wait", &x.out), WF_ERR_GUARD);
	wf_outcome_clear(&x.out);
	ctx.entered_at = T_NOW - 7200;
	CHECK_INT(wf_fire(wf, &ctx, "wait", &x.out), WF_OK);
out:
	rec_free(&x);
	wf_free(wf);
	diags_clear(&d);
}

static void test_err_bad_record(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "problem") : NULL;
	struct rec x = {.r = json_array()};

	if (wf == NULL) {
		CHECK(0);
		goto out;
	}
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "close"), WF_ERR_BAD_RECORD);
	CHECK_STR(x.out.detail, "record is not an object");
	json_decref(x.r);
	x.r = json_object();
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "close"), WF_ERR_BAD_RECORD);
	CHECK_STR(x.out.detail, "record has no state");
	set_str(&x, "state", "limbo");
	CHECK_INT(fire(&x, wf, "carol", WF_ROLE_CHANGE_MANAGER, "close"), WF_ERR_BAD_RECORD);
	CHECK_STR(x.out.detail, "state 'limbo' is not in workflow 'problem'");
	CHECK_INT(settle(&x, wf), WF_ERR_BAD_RECORD);
	CHECK(x.out.warnings != NULL);
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_auto_loop_detected(void)
{
	struct diags d = {0};
	struct wf *wf =
		tw_parse("{'kind':'change','initial':'a',"
			 "'states':{'a':{},'b':{},'c':{},'z':{'final':true}},'transitions':["
			 "{'event':'go','from':'a','to':'b','roles':['cab']},"
			 "{'event':'bc','from':'b','to':'c','auto':true,'when':'1 == 1'},"
			 "{'event':'cb','from':'c','to':'b','auto':true,'when':'true'},"
			 "{'event':'end','from':'b','to':'z','roles':['cab']}]}",
			 &d);
	struct rec x = {.r = json_pack("{s:s}", "state", "a")};

	CHECK(wf != NULL); /* guarded: the loader cannot know */
	if (wf == NULL)
		goto out;
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "go"), WF_ERR_LOOP);
	CHECKF(strstr(x.out.detail, "auto transitions do not settle") != NULL, "%s", x.out.detail);
	CHECK(x.out.record == NULL && x.out.effects == NULL);
	CHECK_STR(state_of(&x), "a");
out:
	rec_free(&x);
	wf_free(wf);
	diags_clear(&d);
}

/* A chain s0 -> s1 -> ... -> s<n> (final) of guarded auto transitions. */
static struct wf *chain(size_t n, struct diags *d)
{
	char *src = malloc(200 * (n + 2));
	size_t len = 0;

	if (src == NULL)
		return NULL;
	len += (size_t)sprintf(src + len, "{'kind':'change','initial':'s0','states':{");
	for (size_t i = 0; i <= n; i++)
		len += (size_t)sprintf(src + len, "%s's%zu':{%s}", i != 0 ? "," : "", i,
				       i == n ? "'final':true" : "");
	len += (size_t)sprintf(src + len, "},'transitions':[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(src + len,
				       "%s{'event':'e%zu','from':'s%zu','to':'s%zu','auto':true,"
				       "'when':'now > 0','actions':[{'action':'set_field',"
				       "'field':'title','value':'s%zu'}]}",
				       i != 0 ? "," : "", i, i, i + 1, i);
	sprintf(src + len, "]}");
	struct wf *wf = tw_parse(src, d);
	free(src);
	return wf;
}

static void test_auto_bound(void)
{
	struct diags d = {0};
	struct wf *ok = chain(WF_AUTO_MAX, &d), *too_long = chain(WF_AUTO_MAX + 1, &d);
	struct rec x = {.r = json_object()};

	CHECK(ok != NULL && too_long != NULL);
	if (ok == NULL || too_long == NULL) {
		tw_dump(&d);
		goto out;
	}
	CHECK_INT(start(&x, ok, "alice", WF_ROLE_REQUESTER), WF_OK);
	CHECK_INT(json_array_size(x.out.path), WF_AUTO_MAX + 1);
	CHECK_STR(x.out.state, "s32");
	json_decref(x.r);
	x.r = json_object();
	CHECK_INT(start(&x, too_long, "alice", WF_ROLE_REQUESTER), WF_ERR_LOOP);
	CHECK(x.out.record == NULL);
out:
	rec_free(&x);
	wf_free(ok);
	wf_free(too_long);
	diags_clear(&d);
}

static void test_timers_expressions(void)
{
	struct diags d = {0};
	struct wf *wf = tw_parse(
		"{'kind':'change','initial':'a','states':{'a':{'timers':["
		"{'after':'2h * 2','event':'t1'},"
		"{'after':'change.title','event':'t2'},"
		"{'after':'change.template','event':'t3'},"
		"{'after':90,'event':'t4','when':'change.type == `normal`'},"
		"{'after':'1d12h','event':'t5','when':'change.type == `rush`'}]},"
		"'b':{},'z':{'final':true}},'transitions':["
		"{'event':'t1','from':'a','to':'b','roles':['system']},"
		"{'event':'t2','from':'a','to':'b','roles':['system']},"
		"{'event':'t3','from':'a','to':'b','roles':['system']},"
		"{'event':'t4','from':'a','to':'b','roles':['system']},"
		"{'event':'t5','from':'a','to':'b','roles':['system']},"
		"{'event':'skip','from':'b','to':'z','auto':true,'when':'change.type == `rush`'},"
		"{'event':'end','from':'b','to':'z','roles':['cab']}]}",
		&d);
	struct rec x = {.r = json_pack("{s:s, s:s}", "title", "word", "type", "rush")};

	CHECK(wf != NULL);
	if (wf == NULL) {
		tw_dump(&d);
		goto out;
	}
	CHECK_INT(start(&x, wf, "alice", WF_ROLE_REQUESTER), WF_OK);
	json_t *t = effect(&x, "timer_arm", "event", "t1");
	CHECK_INT(json_integer_value(json_object_get(t, "after")), 4 * 3600);
	CHECK(effect(&x, "timer_arm", "event", "t2") == NULL); /* a string: skipped */
	CHECK(effect(&x, "timer_arm", "event", "t3") == NULL); /* null: not armed */
	CHECK(effect(&x, "timer_arm", "event", "t4") == NULL); /* when false */
	t = effect(&x, "timer_arm", "event", "t5");
	CHECK_INT(json_integer_value(json_object_get(t, "due")), T_NOW + 36 * 3600);
	CHECK_INT(json_array_size(x.out.warnings), 1);
	CHECK(strstr(json_string_value(json_array_get(x.out.warnings, 0)), "'t2'") != NULL);

	/* leaving a: every timer cancelled once; b passed through, so nothing armed for it */
	CHECK_INT(fire(&x, wf, "system", WF_ROLE_SYSTEM, "t1"), WF_OK);
	CHECK_PATH(&x, "a", "b", "z");
	CHECK_INT(count_effects(&x, "timer_cancel"), 5);
	CHECK_INT(count_effects(&x, "timer_arm"), 0);
out:
	rec_free(&x);
	wf_free(wf);
	diags_clear(&d);
}

static void test_settle_after_assessment(void)
{
	struct wf_set *set = shipped();
	const struct wf *wf = set != NULL ? wf_set_find(set, "change-normal") : NULL;
	struct rec x = {.r = new_change("normal")};

	if (wf == NULL) {
		CHECK(0);
		goto out;
	}
	set_str(&x, "state", "assess");
	CHECK_INT(settle(&x, wf), WF_OK);
	CHECK_PATH(&x, "assess");
	CHECK_INT(json_array_size(x.out.effects), 0);
	x.risk = json_pack("{s:s}", "level", "high");
	CHECK_INT(settle(&x, wf), WF_OK);
	CHECK_PATH(&x, "assess", "authorize");
	json_t *step = json_array_get(x.out.steps, 0);
	CHECK_STR(json_string_value(json_object_get(step, "event")), "assessed");
	CHECK(effect(&x, "emit", "event", "change.authorization_requested") != NULL);
out:
	rec_free(&x);
	wf_set_free(set);
}

static void test_actions_effects(void)
{
	struct diags d = {0};
	struct wf *wf = tw_parse(
		"{'kind':'change','initial':'a','states':{'a':{},'b':{'final':true,'on_enter':["
		"{'action':'route_to_team','from':'services'},"
		"{'action':'emit','event':'change.done','data':{'n':1}},"
		"{'action':'open_review','reason':'why not'}]}},'transitions':["
		"{'event':'go','from':'a','to':'b','roles':['cab'],'actions':["
		"{'action':'set_field','field':'schedule','value':{'slot':'mon'}},"
		"{'action':'note','text':'going'}]}]}",
		&d);
	struct rec x = {.r = json_pack("{s:s, s:s, s:[s,s]}", "id", "CHG-9", "state", "a",
				       "services", "db", "web"),
			.teams = json_pack("{s:s, s:s}", "db", "team-db", "web", "team-web")};

	if (wf == NULL) {
		CHECK(0);
		tw_dump(&d);
		goto out;
	}
	CHECK_INT(fire(&x, wf, "bob", WF_ROLE_CAB, "go"), WF_OK);
	/* in order: the transition's actions, then b's on-enter actions */
	CHECK_INT(json_array_size(x.out.effects), 2);
	json_t *note = json_array_get(x.out.effects, 0);
	CHECK_STR(json_string_value(json_object_get(note, "type")), "note");
	CHECK_STR(json_string_value(json_object_get(note, "state")), "a");
	CHECK_STR(json_string_value(json_object_get(note, "author")), "bob");
	json_t *emit = json_array_get(x.out.effects, 1);
	CHECK_STR(json_string_value(json_object_get(emit, "event")), "change.done");
	CHECK_STR(json_string_value(json_object_get(emit, "state")), "b");
	CHECK_STR(json_string_value(json_object_get(emit, "record")), "CHG-9");
	CHECK_INT(json_integer_value(json_object_get(json_object_get(emit, "data"), "n")), 1);
	/* the first service's team */
	CHECK_STR(json_string_value(json_object_get(x.r, "assignment_group")), "team-db");
	CHECK_STR(json_string_value(json_object_get(json_object_get(x.r, "review"), "reason")),
		  "why not");
	static const char *const changed[] = {"assignment_group", "review", "schedule", "state",
					      NULL};
	CHECKF(tw_strs(x.out.changed, changed), "%s", tw_show(x.out.changed));
	/* values set from the definition are copies: changing them leaves the workflow alone */
	json_object_set_new(json_object_get(x.r, "schedule"), "slot", json_string("tue"));
	json_t *def_value = json_object_get(
		json_array_get(json_object_get(json_array_get(json_object_get(wf_definition(wf),
									      "transitions"),
							      0),
					       "actions"),
			       0),
		"value");
	CHECK_STR(json_string_value(json_object_get(def_value, "slot")), "mon");
out:
	rec_free(&x);
	wf_free(wf);
	diags_clear(&d);
}

static void test_status_names(void)
{
	CHECK_STR(wf_status_name(WF_OK), "ok");
	CHECK_STR(wf_status_name(WF_ERR_GUARD), "guard failed");
	CHECK_STR(wf_status_name(WF_ERR_FORBIDDEN), "role not allowed");
	CHECK_STR(wf_status_name((enum wf_status)99), "unknown status");
}

TESTS(test_start_change_normal, test_walk_change_normal_by_hand, test_walk_change_normal_auto,
      test_change_failure_needs_review, test_walk_change_standard, test_walk_change_emergency,
      test_walk_incident, test_incident_unrouted, test_walk_problem, test_err_not_allowed,
      test_err_forbidden, test_err_guard, test_candidates_in_order, test_guard_reads_context,
      test_err_bad_record, test_auto_loop_detected, test_auto_bound, test_timers_expressions,
      test_settle_after_assessment, test_actions_effects, test_status_names,
      test_start_needs_the_window)
