/*
 * policy_int.h -- internals of the policy module shared by its files; not for other modules.
 *
 * Each part keeps its parsed file (`root`) and borrows every string from it, so names and
 * texts below live as long as the part.  The file-reading helpers (`policy_pj_*`) report in
 * the diags format, as the catalog does.
 */
#ifndef TRANSOM_POLICY_INT_H
#define TRANSOM_POLICY_INT_H

#include <stdint.h>

#include "expr/expr.h"
#include "policy/policy.h"

/* ---- parts ---- */

struct policy_people {
	json_t *root;
	struct policy_user *users;
	size_t n_users;
	struct policy_group *groups;
	size_t n_groups;
	json_t **member_sets; /* per group: user name -> true */
	json_t *user_index;   /* name -> position */
	json_t *email_index;  /* lower-cased address -> position of the user */
	json_t *group_index;  /* name -> position */
	const char **lists;   /* every alias and member list, NULL-terminated, one block */
};

struct policy_factor {
	const char *id;
	const char *reason;
	struct expr *when;
	struct expr *points_expr; /* NULL: `points` */
	long long points;
};

struct policy_level {
	const char *name;
	long long min;
};

struct policy_risk {
	json_t *root;
	struct policy_factor *factors;
	size_t n_factors;
	struct policy_level *levels;
	size_t n_levels;
	json_t *inputs; /* distinct field paths the factors read, in order (array) */
	bool has_hours; /* business_hours given */
	int utc_offset; /* seconds east of UTC */
	unsigned days;  /* bit 0 = Sunday ... bit 6 = Saturday */
	int start, end; /* seconds after local midnight, start < end <= 86400 */
	long long window;
	double prior_failures, prior_successes;
};

struct policy_requirement {
	const char *group;   /* NULL for service owners */
	bool service_owners; /* the teams owning the change's services */
	long long quorum;
	bool one_rejection_rejects;
	char path[96]; /* JSON path, for cross-file diagnostics */
};

struct policy_rule {
	const char *id;
	struct expr *when;
	struct policy_requirement *req;
	size_t n_req;
	long long expires_after;  /* 0: the default */
	const char *expiry_event; /* NULL: the default */
};

struct policy_approvals {
	json_t *root;
	char *file;
	struct policy_rule *rules;
	size_t n_rules;
	long long expires_after;
	const char *expiry_event;
	bool requester_cannot_approve;
	bool one_vote_per_person;
	bool requester_cannot_break_glass;
	bool editors_cannot_approve; /* users in change.editors may not vote on it */
	bool owner_team;             /* ownership.team: the requester's team owns the change too */
	const char *bg_group;        /* NULL: no break glass */
	long long bg_min_justification;
	struct expr *bg_when; /* NULL: any change */
};

struct policy_templates {
	json_t *root;
	char *file;
	struct policy_template *v;
	struct expr **conditions; /* per template, NULL when absent */
	size_t n;
	json_t *index; /* id -> position */
	const char **lists;
};

struct policy_set {
	struct policy_people *people;
	struct policy_risk *risk;
	struct policy_approvals *approvals;
	struct policy_templates *templates; /* may be NULL */
	char version[17];
};

/* ---- parsing helpers (load.c) ---- */

/* One file being parsed. */
struct pj {
	const char *file;
	struct diags *d;
	size_t before; /* d->n when the parse started */
};

/* Appends a diagnostic; the message is made valid UTF-8 after formatting. */
void policy_pj_diag(struct pj *p, const char *path, int column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Whether the parse has recorded no error (and no OOM) so far. */
bool policy_pj_ok(const struct pj *p);

/* Parses the file text; returns the root object or NULL (diagnostic recorded). */
json_t *policy_pj_load(struct pj *p, const char *text, size_t len);

/* Reports every key of `obj` not in the NULL-terminated `keys` as unknown. */
void policy_pj_keys(struct pj *p, json_t *obj, const char *path, const char *const *keys);

/* snprintf into `dst` of `size` bytes: a JSON path. */
void policy_pj_path(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* obj[key] as a non-empty string, or NULL; reports a wrong type and, if required, absence. */
const char *policy_pj_str(struct pj *p, json_t *obj, const char *key, const char *path,
			  bool required);

/* obj[key] as an array (NULL when absent or not an array, reported); at most max entries. */
json_t *policy_pj_array(struct pj *p, json_t *obj, const char *key, const char *path, bool required,
			size_t max);

/* obj[key] as a boolean; `dflt` when absent; reports a wrong type. */
bool policy_pj_bool(struct pj *p, json_t *obj, const char *key, const char *path, bool dflt);

/*
 * obj[key] as an integer in [lo, hi]; false when absent (reported if required) or wrong.
 */
bool policy_pj_int(struct pj *p, json_t *obj, const char *key, const char *path, bool required,
		   long long lo, long long hi, long long *out);

/*
 * obj[key] as a positive duration: integer seconds or a literal such as "72h", "1h30m"
 * (units w d h m s, largest first, each once); false when absent (reported if required)
 * or wrong.
 */
bool policy_pj_duration(struct pj *p, json_t *obj, const char *key, const char *path, bool required,
			long long *out);

/* Compiles obj[key] (a string) in context `ctx` ("risk", ...); NULL when absent or bad. */
struct expr *policy_pj_expr(struct pj *p, json_t *obj, const char *key, const char *path,
			    bool required, const char *ctx);

/* Whether `s` is an id: 1-63 of a-z 0-9 '-' '_', not starting with '-' or '_'. */
bool policy_pj_id_valid(const char *s);

/* The position stored in `index` under `name`, or -1. */
long long policy_pj_index_get(json_t *index, const char *name);

/* A NULL-terminated list of the strings of `arr` (validated by the caller), from `block`. */
const char **policy_pj_list_fill(const char **block, json_t *arr);

/* ---- strings (load.c) ---- */

/* Replaces bytes that do not form valid UTF-8 (e.g. after truncation) with '?'. */
void policy_utf8_fix(char *s);

/* snprintf into `buf` (may be NULL or size 0: nothing), then policy_utf8_fix. */
void policy_say(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Formats seconds as "1w2d3h4m5s" (parts that are zero omitted; "0s"). */
void policy_duration_text(long long secs, char *buf, size_t size);

/* ---- the expression environment (env.c) ---- */

/* Everything an expression of a policy may read during one computation. */
struct policy_env {
	const struct policy_set *set;
	json_t *change;  /* borrowed (an object) */
	json_t *risk;    /* borrowed, may be NULL */
	json_t *derived; /* owned: computed path -> value */
	json_t *history; /* owned: policy_history_summary() */
};

/*
 * Fills `env` for `change`: the derived fields (change.duration_seconds,
 * change.in_business_hours, services.*, requester.*, history.*).  `template_id` (may be
 * NULL: change.template) selects history.template.  Returns 0, or -1 on OOM.  Release
 * with policy_env_clear() either way.
 */
int policy_env_init(struct policy_env *env, const struct policy_set *set,
		    const struct policy_catalog *catalog, json_t *change, json_t *risk,
		    json_t *history, const char *template_id);
void policy_env_clear(struct policy_env *env);

/* expr_field_get_fn over a `struct policy_env`. */
json_t *policy_env_get(void *cls, const char *path);

/* The user name `who` resolves to (canonical), or `who` itself; NULL for NULL. */
const char *policy_canonical_user(const struct policy_set *set, const char *who);

/* The set's part accessors used across files (people.c). */
const struct policy_group *policy_people_group(const struct policy_people *p, const char *name);
bool policy_people_has(const struct policy_people *p, const char *group, const char *user);

/* Fills `err` (may be NULL) with a formatted message, cut on a character boundary. */
void policy_err(struct policy_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- approvals.c ---- */

bool policy_has_str(json_t *arr, const char *s);

#endif /* TRANSOM_POLICY_INT_H */
