/*
 * wf_int.h -- internals of the workflow module shared by its files; not for other modules.
 *
 * A `struct wf` keeps its definition JSON and borrows every name and text from it, so
 * strings below live as long as the workflow.
 */
#ifndef TRANSOM_WF_INT_H
#define TRANSOM_WF_INT_H

#include "expr/expr.h"
#include "wf/wf.h"
#include "wf/wf_action.h"

enum wf_kind_id { WF_KIND_CHANGE, WF_KIND_INCIDENT, WF_KIND_PROBLEM, WF_KIND_COUNT_ };

/* One configured action: the registry row, its JSON object (params) and what applies it. */
struct wf_action {
	const struct wf_action_def *def;
	json_t *params; /* borrowed from the definition */
	wf_action_apply_fn
		apply; /* def->apply, or the implementation wf_set_bind_actions() bound */
};

struct wf_actions {
	struct wf_action *v;
	size_t n;
};

struct wf_timer {
	const char *event;
	int64_t after;           /* seconds, when a literal duration */
	struct expr *after_expr; /* or an expression evaluating to seconds */
	struct expr *when;       /* optional: armed only when it holds on entry */
};

struct wf_state {
	const char *name;
	const char *description;
	bool final;
	const char **editable; /* NULL-terminated */
	struct wf_actions on_enter;
	struct wf_timer *timers;
	size_t n_timers;
};

struct wf_transition {
	size_t index; /* position in "transitions" */
	const char *event;
	size_t *from;
	size_t n_from;
	size_t to;
	unsigned roles;
	struct expr *when;
	const char *guard_name; /* "guard" of the definition, else guard_buf */
	char guard_buf[40];     /* "transitions[N].when" */
	const char **required;  /* NULL-terminated */
	struct wf_actions actions;
	bool is_auto;
};

/* How a workflow picks its records. */
enum wf_sel { WF_SEL_ALL, WF_SEL_OBJECT, WF_SEL_EXPR };

struct wf {
	char *file;
	char *name;
	enum wf_kind_id kind;
	json_t *def; /* owned, never modified */
	enum wf_sel sel;
	json_t *sel_obj; /* WF_SEL_OBJECT: borrowed from def */
	struct expr *sel_expr;
	size_t initial;
	struct wf_state *states;
	size_t n_states;
	struct wf_transition *trans;
	size_t n_trans;
	uint64_t version;
	char version_hex[17];
};

struct wf_set {
	struct wf **v;
	size_t n;
};

/* ---- kinds and fields (fields.c) ---- */

const char *wf_kind_name(enum wf_kind_id k);
int wf_kind_parse(const char *s); /* enum value or -1 */
/* Whether `field` (top-level name) is a record field of kind `k`. */
bool wf_field_of_kind(enum wf_kind_id k, const char *field);

/* Everything an expression may read during one evaluation. */
struct wf_env {
	enum wf_kind_id kind;
	json_t *record;
	json_t *risk;
	json_t *approvals;
	json_t *history;
	const char *actor;
	unsigned roles;
	const char *event;
	const char *comment;
	const char *state;
	int64_t now;
	int64_t entered_at;
	json_t *scratch; /* owned temporaries of the running evaluation (an array) */
	bool oom;        /* a temporary could not be made */
};

/*
 * Evaluates `e` as a condition / a value in `env`.  Returns 0, -1 on an evaluation error
 * (message in err), -2 on OOM.
 */
int wf_env_eval_bool(struct wf_env *env, const struct expr *e, bool *out, struct expr_error *err);
int wf_env_eval(struct wf_env *env, const struct expr *e, json_t **out, struct expr_error *err);

/* ---- diagnostics (diag.c) ---- */

/* diags_add() is declared in wf.h: other loaders (policies) report through it too. */

/* ---- definitions (def.c) ---- */

/* Index of state `name` in `wf`, or (size_t)-1. */
size_t wf_state_find(const struct wf *wf, const char *name);

/* Whether a record (borrowed) matches the workflow's applies_to.  -1 on eval error/OOM. */
int wf_selects(const struct wf *wf, json_t *record);

/* ---- actions (actions.c) ---- */

/* Validates the parameters of one action object; appends diagnostics.  Returns the row. */
const struct wf_action_def *wf_action_check(json_t *obj, enum wf_kind_id kind, const char *file,
					    const char *path, struct diags *d);

/* ---- small helpers (diag.c) ---- */

/* Growable string buffer; `oom` latches. */
struct wf_buf {
	char *s;
	size_t len, cap;
	bool oom;
};
void wf_buf_printf(struct wf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wf_buf_puts(struct wf_buf *b, const char *s);

/* snprintf for JSON paths: silently truncates (paths are only for messages). */
void wf_pathf(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* FNV-1a 64 of `n` bytes. */
uint64_t wf_fnv1a64(const char *s, size_t n);

/* State of one load (def.c, graph.c). */
struct loader {
	const char *file;
	struct diags *d;
	struct wf *wf;
	bool kind_ok;
};

/* ---- def.c ---- */

void *wf_xcalloc(struct loader *l, size_t n, size_t size);

/* ---- graph.c ---- */

bool wf_from_has(const struct wf_transition *t, size_t s);
void wf_check_reachability(struct loader *l);
void wf_check_ambiguity(struct loader *l);
void wf_check_timers(struct loader *l);
void wf_check_auto_loops(struct loader *l);

#endif /* TRANSOM_WF_INT_H */
