/*
 * graph.c -- the graph checks of a workflow definition: every state reachable, a path to
 * a final state, no two transitions ambiguous, timer events taken, no auto loops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf/wf_int.h"

#define NONE ((size_t)-1)

/* ---- graph checks ---- */

bool wf_from_has(const struct wf_transition *t, size_t s)
{
	for (size_t k = 0; k < t->n_from; k++)
		if (t->from[k] == s)
			return true;
	return false;
}

void wf_check_reachability(struct loader *l)
{
	struct wf *wf = l->wf;
	char path[300];
	bool *seen = wf_xcalloc(l, wf->n_states, sizeof *seen);
	bool *live = wf_xcalloc(l, wf->n_states, sizeof *live);
	bool any_final = false, changed = true;

	if (seen == NULL || live == NULL)
		goto out;
	seen[wf->initial] = true;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < wf->n_trans; i++) {
			const struct wf_transition *t = &wf->trans[i];
			if (t->to == NONE || seen[t->to])
				continue;
			for (size_t k = 0; k < t->n_from; k++)
				if (seen[t->from[k]]) {
					seen[t->to] = changed = true;
					break;
				}
		}
	}
	for (size_t s = 0; s < wf->n_states; s++) {
		live[s] = wf->states[s].final;
		any_final = any_final || live[s];
	}
	for (changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < wf->n_trans; i++) {
			const struct wf_transition *t = &wf->trans[i];
			if (t->to == NONE || !live[t->to])
				continue;
			for (size_t k = 0; k < t->n_from; k++)
				if (!live[t->from[k]])
					live[t->from[k]] = changed = true;
		}
	}
	if (!any_final)
		diags_add(l->d, l->file, "states", 0, "no final state");
	for (size_t s = 0; s < wf->n_states; s++) {
		wf_pathf(path, sizeof path, "states.%s", wf->states[s].name);
		if (!seen[s])
			diags_add(l->d, l->file, path, 0,
				  "state '%s' is unreachable from initial state '%s'",
				  wf->states[s].name, wf->states[wf->initial].name);
		if (!live[s] && any_final)
			diags_add(l->d, l->file, path, 0,
				  "no path from state '%s' to a final state", wf->states[s].name);
	}
out:
	free(seen);
	free(live);
}

/*
 * Two transitions taking the same event (or two auto transitions) from one state are
 * ambiguous unless the earlier one has a guard and their guards differ: they are tried
 * in file order, so an unguarded one must come last.  An event may not be both auto and
 * fired by hand from one state.
 */
static void check_pair(struct loader *l, const struct wf_transition *a,
		       const struct wf_transition *b)
{
	char path[64];

	if (a->event == NULL || b->event == NULL)
		return;
	bool same_event = strcmp(a->event, b->event) == 0;
	if (a->is_auto != b->is_auto ? !same_event : !a->is_auto && !same_event)
		return;
	wf_pathf(path, sizeof path, "transitions[%zu]", b->index);
	for (size_t k = 0; k < b->n_from; k++) {
		const char *sn = l->wf->states[b->from[k]].name;
		if (!wf_from_has(a, b->from[k]))
			continue;
		if (a->is_auto != b->is_auto)
			diags_add(l->d, l->file, path, 0,
				  "ambiguous: event '%s' from state '%s' is auto in one of "
				  "transitions[%zu] and this one",
				  b->event, sn, a->index);
		else if (a->when == NULL)
			diags_add(l->d, l->file, path, 0,
				  "ambiguous: transitions[%zu] already takes %s%s%s from state "
				  "'%s' without a guard",
				  a->index, a->is_auto ? "an auto transition" : "event '",
				  a->is_auto ? "" : a->event, a->is_auto ? "" : "'", sn);
		else if (b->when != NULL && strcmp(expr_source(a->when), expr_source(b->when)) == 0)
			diags_add(l->d, l->file, path, 0,
				  "ambiguous: transitions[%zu] has the same guard from state '%s'",
				  a->index, sn);
	}
}

void wf_check_ambiguity(struct loader *l)
{
	for (size_t j = 0; j < l->wf->n_trans; j++)
		for (size_t i = 0; i < j; i++)
			check_pair(l, &l->wf->trans[i], &l->wf->trans[j]);
}

/* Every timer's event must be taken from its state by role system. */
void wf_check_timers(struct loader *l)
{
	struct wf *wf = l->wf;
	char path[300];

	for (size_t s = 0; s < wf->n_states; s++) {
		const struct wf_state *st = &wf->states[s];
		for (size_t k = 0; k < st->n_timers; k++) {
			const char *ev = st->timers[k].event;
			bool ok = false;
			if (ev == NULL)
				continue;
			for (size_t i = 0; !ok && i < wf->n_trans; i++) {
				const struct wf_transition *t = &wf->trans[i];
				ok = !t->is_auto && t->event != NULL && strcmp(t->event, ev) == 0 &&
				     wf_from_has(t, s) && (t->roles & WF_ROLE_SYSTEM) != 0;
			}
			wf_pathf(path, sizeof path, "states.%s.timers[%zu].event", st->name, k);
			if (!ok)
				diags_add(l->d, l->file, path, 0,
					  "no transition takes event '%s' from state '%s' "
					  "for role 'system'",
					  ev, st->name);
		}
	}
}

/* Unguarded auto transitions must not form a cycle: they would fire forever. */
void wf_check_auto_loops(struct loader *l)
{
	struct wf *wf = l->wf;
	char path[64];
	size_t *next = wf_xcalloc(l, wf->n_states, sizeof *next); /* first unguarded auto */

	if (next == NULL)
		return;
	for (size_t s = 0; s < wf->n_states; s++) {
		next[s] = NONE;
		for (size_t i = 0; next[s] == NONE && i < wf->n_trans; i++) {
			const struct wf_transition *t = &wf->trans[i];
			if (t->is_auto && t->when == NULL && t->to != NONE && wf_from_has(t, s))
				next[s] = i;
		}
	}
	for (size_t s = 0; s < wf->n_states; s++) {
		size_t cur = s, min = s;
		for (size_t step = 0; step < wf->n_states && next[cur] != NONE; step++) {
			cur = wf->trans[next[cur]].to;
			if (cur == s) {
				/* every state walked is on the cycle: report it once */
				if (min == s) {
					wf_pathf(path, sizeof path, "transitions[%zu]", next[s]);
					diags_add(l->d, l->file, path, 0,
						  "auto transitions loop from state '%s' back to "
						  "it without a guard",
						  wf->states[s].name);
				}
				break;
			}
			min = cur < min ? cur : min;
		}
	}
	free(next);
}
