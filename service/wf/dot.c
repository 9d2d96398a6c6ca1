/*
 * dot.c -- a workflow's state machine as Graphviz text (for docs and `transomd check`).
 */
#include <stdlib.h>
#include <string.h>

#include "wf/wf_int.h"

/* Appends `s` as the inside of a DOT double-quoted string. */
static void put_quoted(struct wf_buf *b, const char *s)
{
	char one[2] = {0, 0};

	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			wf_buf_puts(b, *s == '"' ? "\\\"" : "\\\\");
		else if (*s == '\n')
			wf_buf_puts(b, "\\n");
		else {
			one[0] = *s;
			wf_buf_puts(b, one);
		}
	}
}

char *wf_dot(const struct wf *wf)
{
	struct wf_buf b = {0};

	wf_buf_puts(&b, "digraph \"");
	put_quoted(&b, wf->name);
	wf_buf_puts(&b, "\" {\n\trankdir=LR;\n\tnode [shape=box, style=rounded];\n");
	wf_buf_puts(&b, "\t\"__start\" [shape=point];\n\t\"__start\" -> \"");
	put_quoted(&b, wf->states[wf->initial].name);
	wf_buf_puts(&b, "\";\n");
	for (size_t s = 0; s < wf->n_states; s++) {
		const struct wf_state *st = &wf->states[s];
		wf_buf_puts(&b, "\t\"");
		put_quoted(&b, st->name);
		wf_buf_puts(&b, "\" [label=\"");
		put_quoted(&b, st->name);
		for (size_t k = 0; k < st->n_timers; k++) {
			bool dup = false;
			for (size_t j = 0; !dup && j < k; j++)
				dup = strcmp(st->timers[j].event, st->timers[k].event) == 0;
			if (!dup)
				wf_buf_printf(&b, "\\ntimer: %s", st->timers[k].event);
		}
		wf_buf_puts(&b, "\"");
		if (st->final)
			wf_buf_puts(&b, ", peripheries=2");
		if (st->description != NULL) {
			wf_buf_puts(&b, ", tooltip=\"");
			put_quoted(&b, st->description);
			wf_buf_puts(&b, "\"");
		}
		wf_buf_puts(&b, "];\n");
	}
	for (size_t i = 0; i < wf->n_trans; i++) {
		const struct wf_transition *t = &wf->trans[i];
		for (size_t k = 0; k < t->n_from; k++) {
			wf_buf_puts(&b, "\t\"");
			put_quoted(&b, wf->states[t->from[k]].name);
			wf_buf_puts(&b, "\" -> \"");
			put_quoted(&b, wf->states[t->to].name);
			wf_buf_puts(&b, "\" [label=\"");
			put_quoted(&b, t->event);
			if (t->when != NULL) {
				wf_buf_puts(&b, "\\n[");
				put_quoted(&b, expr_source(t->when));
				wf_buf_puts(&b, "]");
			}
			wf_buf_puts(&b, t->is_auto ? "\", style=dashed];\n" : "\"];\n");
		}
	}
	wf_buf_puts(&b, "}\n");
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
