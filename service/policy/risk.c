/*
 * risk.c -- policies/risk.json: risk factors (condition, points, reason), the levels a
 * score maps to, business hours and the history prior; and the assessment itself.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define PRIOR_MAX 1000000.0 /* largest pseudo-count of the history prior */

/* ---- parsing -------------------------------------------------------------------------- */

static void parse_factor(struct pj *p, struct policy_risk *r, json_t *index, size_t i, json_t *obj)
{
	static const char *const keys[] = {"id", "description", "when", "points", "reason", NULL};
	struct policy_factor *f = &r->factors[i];
	char path[48], sub[64];

	policy_pj_path(path, sizeof path, "factors[%zu]", i);
	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	f->id = policy_pj_str(p, obj, "id", path, true);
	if (f->id != NULL) {
		policy_pj_path(sub, sizeof sub, "%s.id", path);
		long long first = policy_pj_index_get(index, f->id);
		if (!policy_pj_id_valid(f->id))
			policy_pj_diag(
				p, sub, 0,
				"invalid id '%.100s' (lowercase letters, digits, '-' and '_', not "
				"first, at most 63 characters)",
				f->id);
		else if (first >= 0)
			policy_pj_diag(p, sub, 0,
				       "factor '%.100s' is already defined at factors[%lld]", f->id,
				       first);
		else if (json_object_set_new(index, f->id, json_integer((json_int_t)i)) != 0)
			p->d->oom = true;
	}
	policy_pj_str(p, obj, "description", path, false);
	f->when = policy_pj_expr(p, obj, "when", path, true, "risk");
	json_t *points = json_object_get(obj, "points");
	policy_pj_path(sub, sizeof sub, "%s.points", path);
	if (points == NULL)
		policy_pj_diag(p, path, 0, "missing key 'points'");
	else if (json_is_string(points))
		f->points_expr = policy_pj_expr(p, obj, "points", path, true, "risk");
	else if (!json_is_integer(points))
		policy_pj_diag(p, sub, 0, "expected an integer or an expression");
	else if (llabs(json_integer_value(points)) > POLICY_POINTS_MAX)
		policy_pj_diag(p, sub, 0, "must be between -%d and %d", POLICY_POINTS_MAX,
			       POLICY_POINTS_MAX);
	else
		f->points = json_integer_value(points);
	f->reason = policy_pj_str(p, obj, "reason", path, true);
}

static void parse_levels(struct pj *p, struct policy_risk *r, json_t *levels)
{
	static const char *const keys[] = {"name", "min", NULL};
	json_t *index = json_object();
	char path[48], sub[64];
	long long prev = 0;
	long long prev_at = -1;

	if (index == NULL) {
		p->d->oom = true;
		return;
	}
	if (levels != NULL && json_array_size(levels) == 0)
		policy_pj_diag(p, "levels", 0, "at least one level is required");
	for (size_t i = 0; i < r->n_levels; i++) {
		struct policy_level *l = &r->levels[i];
		json_t *obj = json_array_get(levels, i);
		policy_pj_path(path, sizeof path, "levels[%zu]", i);
		if (!json_is_object(obj)) {
			policy_pj_diag(p, path, 0, "expected an object");
			continue;
		}
		policy_pj_keys(p, obj, path, keys);
		l->name = policy_pj_str(p, obj, "name", path, true);
		if (l->name != NULL) {
			policy_pj_path(sub, sizeof sub, "%s.name", path);
			long long first = policy_pj_index_get(index, l->name);
			if (!policy_pj_id_valid(l->name))
				policy_pj_diag(
					p, sub, 0,
					"invalid level name '%.100s' (lowercase letters, digits, "
					"'-' "
					"and '_', not first, at most 63 characters)",
					l->name);
			else if (first >= 0)
				policy_pj_diag(p, sub, 0,
					       "level '%.100s' is already defined at levels[%lld]",
					       l->name, first);
			else if (json_object_set_new(index, l->name, json_integer((json_int_t)i)) !=
				 0)
				p->d->oom = true;
		}
		long long big = (long long)POLICY_POINTS_MAX * POLICY_MAX_ITEMS;
		if (!policy_pj_int(p, obj, "min", path, true, -big, big, &l->min))
			continue;
		if (prev_at >= 0 && l->min <= prev) {
			policy_pj_path(sub, sizeof sub, "%s.min", path);
			policy_pj_diag(
				p, sub, 0,
				"levels must ascend: %lld is not above levels[%lld].min (%lld)",
				l->min, prev_at, prev);
		}
		prev = l->min;
		prev_at = (long long)i;
	}
	json_decref(index);
}

/* "HH:MM" (00:00-24:00) into seconds after midnight; -1 when malformed. */
static int clock_time(const char *s)
{
	if (strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 3600 + m * 60;
}

/* "+01:00" / "-05:30" / "Z" into seconds east of UTC; false when malformed. */
static bool utc_offset(const char *s, int *out)
{
	if (strcmp(s, "Z") == 0) {
		*out = 0;
		return true;
	}
	if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-'))
		return false;
	int t = clock_time(s + 1);
	if (t < 0 || t > 14 * 3600)
		return false;
	*out = s[0] == '-' ? -t : t;
	return true;
}

static void parse_hours(struct pj *p, struct policy_risk *r, json_t *obj)
{
	static const char *const keys[] = {"utc_offset", "days", "start", "end", NULL};
	static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	const char *path = "business_hours";
	char sub[64];
	bool ok = true;

	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	const char *off = policy_pj_str(p, obj, "utc_offset", path, true);
	if (off != NULL && !utc_offset(off, &r->utc_offset)) {
		policy_pj_diag(
			p, "business_hours.utc_offset", 0,
			"invalid utc offset '%.100s' (e.g. \"+01:00\", \"-05:00\", \"Z\"; at most "
			"14 "
			"hours)",
			off);
		ok = false;
	}
	ok = ok && off != NULL;
	json_t *days = policy_pj_array(p, obj, "days", path, true, 7);
	if (days != NULL && json_array_size(days) == 0) {
		policy_pj_diag(p, "business_hours.days", 0, "at least one day is required");
		ok = false;
	}
	ok = ok && days != NULL;
	size_t i;
	json_t *v;
	json_array_foreach(days, i, v) {
		const char *d = json_string_value(v);
		unsigned bit = 0;
		for (unsigned k = 0; d != NULL && k < 7; k++)
			if (strcmp(day_names[k], d) == 0)
				bit = 1u << k;
		policy_pj_path(sub, sizeof sub, "business_hours.days[%zu]", i);
		if (bit == 0) {
			policy_pj_diag(p, sub, 0,
				       "unknown day '%.100s' (mon, tue, wed, thu, fri, sat or sun)",
				       d != NULL ? d : "(not a string)");
			ok = false;
		} else if ((r->days & bit) != 0) {
			policy_pj_diag(p, sub, 0, "day '%s' listed twice", d);
			ok = false;
		}
		r->days |= bit;
	}
	const char *times[2] = {policy_pj_str(p, obj, "start", path, true),
				policy_pj_str(p, obj, "end", path, true)};
	int secs[2] = {-1, -1};
	for (int k = 0; k < 2; k++) {
		if (times[k] == NULL) {
			ok = false;
			continue;
		}
		secs[k] = clock_time(times[k]);
		if (secs[k] < 0) {
			policy_pj_path(sub, sizeof sub, "business_hours.%s",
				       k == 0 ? "start" : "end");
			policy_pj_diag(p, sub, 0, "invalid time '%.100s' (HH:MM, 00:00 to 24:00)",
				       times[k]);
			ok = false;
		}
	}
	if (secs[0] >= 0 && secs[1] >= 0 && secs[1] <= secs[0]) {
		policy_pj_diag(p, "business_hours.end", 0, "must be after start (%s)", times[0]);
		ok = false;
	}
	r->start = secs[0];
	r->end = secs[1];
	r->has_hours = ok;
}

static void parse_history(struct pj *p, struct policy_risk *r, json_t *obj)
{
	static const char *const keys[] = {"window", "prior", NULL};
	static const char *const prior_keys[] = {"failures", "successes", NULL};
	const char *path = "history";

	if (!json_is_object(obj)) {
		policy_pj_diag(p, path, 0, "expected an object");
		return;
	}
	policy_pj_keys(p, obj, path, keys);
	policy_pj_duration(p, obj, "window", path, false, &r->window);
	json_t *prior = json_object_get(obj, "prior");
	if (prior == NULL)
		return;
	if (!json_is_object(prior)) {
		policy_pj_diag(p, "history.prior", 0, "expected an object");
		return;
	}
	policy_pj_keys(p, prior, "history.prior", prior_keys);
	double *dst[2] = {&r->prior_failures, &r->prior_successes};
	bool ok = true;
	for (int k = 0; k < 2; k++) {
		json_t *v = json_object_get(prior, prior_keys[k]);
		char sub[64];
		policy_pj_path(sub, sizeof sub, "history.prior.%s", prior_keys[k]);
		if (v == NULL) {
			policy_pj_diag(p, "history.prior", 0, "missing key '%s'", prior_keys[k]);
			ok = false;
		} else if (!json_is_number(v) || json_number_value(v) < 0 ||
			   json_number_value(v) > PRIOR_MAX) {
			policy_pj_diag(p, sub, 0, "expected a number from 0 to %.0f", PRIOR_MAX);
			ok = false;
		} else {
			*dst[k] = json_number_value(v);
		}
	}
	if (ok && r->prior_failures + r->prior_successes <= 0)
		policy_pj_diag(p, "history.prior", 0, "failures + successes must be positive");
}

/* The distinct field paths the factors read, being collected. */
struct inputs {
	json_t *paths;
	bool oom;
};

/* Adds `path` to the inputs (once). */
static void add_input(void *cls, const char *path)
{
	struct inputs *in = cls;

	for (size_t i = 0; i < json_array_size(in->paths); i++)
		if (strcmp(json_string_value(json_array_get(in->paths, i)), path) == 0)
			return;
	if (json_array_append_new(in->paths, json_string(path)) != 0)
		in->oom = true;
}

struct policy_risk *policy_parse_risk(const char *file, const char *text, size_t len,
				      struct diags *diags)
{
	static const char *const keys[] = {"factors", "levels", "business_hours", "history", NULL};
	struct pj p = {.file = file, .d = diags, .before = diags->n};
	struct policy_risk *r = calloc(1, sizeof *r);
	json_t *index = NULL;

	if (r == NULL) {
		diags->oom = true;
		return NULL;
	}
	r->window = 90LL * 86400;
	r->prior_failures = 1;
	r->prior_successes = 9;
	r->root = policy_pj_load(&p, text, len);
	if (r->root == NULL)
		goto fail;
	policy_pj_keys(&p, r->root, "", keys);
	json_t *factors = policy_pj_array(&p, r->root, "factors", "", true, POLICY_MAX_ITEMS);
	json_t *levels = policy_pj_array(&p, r->root, "levels", "", true, POLICY_MAX_ITEMS);
	r->n_factors = json_array_size(factors);
	r->n_levels = json_array_size(levels);
	r->factors = calloc(r->n_factors + 1, sizeof *r->factors);
	r->levels = calloc(r->n_levels + 1, sizeof *r->levels);
	r->inputs = json_array();
	index = json_object();
	if (r->factors == NULL || r->levels == NULL || r->inputs == NULL || index == NULL) {
		diags->oom = true;
		goto fail;
	}
	for (size_t i = 0; i < r->n_factors; i++)
		parse_factor(&p, r, index, i, json_array_get(factors, i));
	parse_levels(&p, r, levels);
	json_t *hours = json_object_get(r->root, "business_hours");
	if (hours != NULL)
		parse_hours(&p, r, hours);
	json_t *history = json_object_get(r->root, "history");
	if (history != NULL)
		parse_history(&p, r, history);
	if (!policy_pj_ok(&p))
		goto fail;
	struct inputs in = {.paths = r->inputs};
	for (size_t i = 0; i < r->n_factors; i++) {
		expr_fields_foreach(r->factors[i].when, add_input, &in);
		if (r->factors[i].points_expr != NULL)
			expr_fields_foreach(r->factors[i].points_expr, add_input, &in);
	}
	if (in.oom) {
		diags->oom = true;
		goto fail;
	}
	json_decref(index);
	return r;
fail:
	json_decref(index);
	policy_risk_free(r);
	return NULL;
}

void policy_risk_free(struct policy_risk *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->factors != NULL && i < r->n_factors; i++) {
		expr_free(r->factors[i].when);
		expr_free(r->factors[i].points_expr);
	}
	free(r->factors);
	free(r->levels);
	json_decref(r->inputs);
	json_decref(r->root);
	free(r);
}

/* ---- assessment ----------------------------------------------------------------------- */

/* Rounds to the nearest integer, halves away from zero. */
static long long round_points(double v)
{
	return (long long)(v >= 0 ? floor(v + 0.5) : -floor(-v + 0.5));
}

/* The points of fired factor `f`: 0 with *out set, -1 on error (err set), -2 on OOM. */
static int factor_points(const struct policy_factor *f, struct policy_env *env, long long *out,
			 struct policy_error *err)
{
	struct expr_error xe = {0};
	json_t *v = NULL;

	if (f->points_expr == NULL) {
		*out = f->points;
		return 0;
	}
	if (!expr_eval(f->points_expr, policy_env_get, env, &v, &xe)) {
		if (strcmp(xe.message, "out of memory") == 0)
			return -2;
		policy_err(err, "risk factor '%s': points: column %d: %s", f->id, xe.column,
			   xe.message);
		return -1;
	}
	if (!json_is_number(v)) {
		policy_err(err, "risk factor '%s': points: expected a number, got %s", f->id,
			   json_is_null(v)     ? "null"
			   : json_is_string(v) ? "a string"
					       : "another value");
		json_decref(v);
		return -1;
	}
	double d = json_number_value(v);
	bool is_int = json_is_integer(v);
	json_decref(v);
	if (!(fabs(d) <= POLICY_POINTS_MAX)) {
		policy_err(err, "risk factor '%s': points out of range (at most %d either way)",
			   f->id, POLICY_POINTS_MAX);
		return -1;
	}
	*out = is_int ? (long long)d : round_points(d);
	return 0;
}

/* Appends {path: value} for every input; -1 on OOM. */
static int add_inputs(json_t *inputs, const struct policy_risk *r, struct policy_env *env)
{
	size_t i;
	json_t *p;

	json_array_foreach(r->inputs, i, p) {
		const char *path = json_string_value(p);
		json_t *v = policy_env_get(env, path);
		json_t *copy = v != NULL ? json_deep_copy(v) : json_null();
		if (copy == NULL || json_object_set_new(inputs, path, copy) != 0)
			return -1;
	}
	return 0;
}

json_t *policy_risk_assess(const struct policy_set *set, const struct policy_catalog *catalog,
			   json_t *change, json_t *history, struct policy_error *err)
{
	const struct policy_risk *r = set->risk;
	struct policy_env env;
	json_t *fired = NULL, *not_fired = NULL, *inputs = NULL, *out = NULL;
	long long score = 0;

	if (!json_is_object(change)) {
		policy_err(err, "the change is not a JSON object");
		return NULL;
	}
	if (policy_env_init(&env, set, catalog, change, NULL, history, NULL) != 0)
		goto nomem;
	fired = json_array();
	not_fired = json_array();
	inputs = json_object();
	if (fired == NULL || not_fired == NULL || inputs == NULL)
		goto nomem;
	for (size_t i = 0; i < r->n_factors; i++) {
		const struct policy_factor *f = &r->factors[i];
		struct expr_error xe = {0};
		bool yes = false;
		long long points = 0;
		if (!expr_eval_bool(f->when, policy_env_get, &env, &yes, &xe)) {
			if (strcmp(xe.message, "out of memory") == 0)
				goto nomem;
			policy_err(err, "risk factor '%s': when: column %d: %s", f->id, xe.column,
				   xe.message);
			goto fail;
		}
		if (!yes) {
			if (json_array_append_new(not_fired, json_string(f->id)) != 0)
				goto nomem;
			continue;
		}
		int rc = factor_points(f, &env, &points, err);
		if (rc == -2)
			goto nomem;
		if (rc != 0)
			goto fail;
		score += points;
		if (json_array_append_new(fired,
					  json_pack("{s:s, s:I, s:s}", "id", f->id, "points",
						    (json_int_t)points, "reason", f->reason)) != 0)
			goto nomem;
	}
	size_t level = 0;
	for (size_t i = 1; i < r->n_levels; i++)
		if (score >= r->levels[i].min)
			level = i;
	if (add_inputs(inputs, r, &env) != 0)
		goto nomem;
	out = json_pack("{s:I, s:s, s:o, s:o, s:s, s:o, s:O}", "score", (json_int_t)score, "level",
			r->levels[level].name, "factors", fired, "not_fired", not_fired,
			"policy_version", set->version, "inputs", inputs, "history", env.history);
	fired = not_fired = inputs = NULL; /* stolen, also on failure */
	if (out == NULL)
		goto nomem;
	policy_env_clear(&env);
	return out;
nomem:
	policy_err(err, "out of memory");
fail:
	json_decref(fired);
	json_decref(not_fired);
	json_decref(inputs);
	policy_env_clear(&env);
	return NULL;
}
