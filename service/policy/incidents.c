/*
 * incidents.c -- policies/incidents.json (incidents.h): parsing, the catalog relation of
 * two services, suspect ranking with its reasons, and which services an incident freezes.
 * Pure.
 */
#include "policy/incidents.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

#define HOUR_MS (3600LL * 1000)

void policy_incidents_defaults(struct policy_incidents *p)
{
	*p = (struct policy_incidents){
		.window_ms = 72 * HOUR_MS,
		.time_half_life = false,
		.delay_median_ms = HOUR_MS,
		.delay_spread = 1.5,
		.half_life_ms = 2 * HOUR_MS,
		.combine_sum = false,
		.max_distance = 2,
		.limit = 10,
		.w_time = 0.25,
		.w_distance = 0.25,
		.w_risk = 0.25,
		.w_outcome = 0.25,
		.f_same = 1.0,
		.f_dependency = 0.3,
		.f_dependent = 0.1,
		.f_hop = 0.5,
		.f_low = 0.25,
		.f_medium = 0.5,
		.f_high = 0.8,
		.f_critical = 1.0,
		.f_unassessed = 0.4,
		.f_failed = 1.0,
		.f_rolled_back = 0.9,
		.f_in_progress = 0.8,
		.f_succeeded = 0.3,
		.f_unknown = 0.5,
		.freeze_enabled = true,
		.freeze_prio = (1u << 1) | (1u << 2),
		.freeze_dependents = true,
		.freeze_hold_ms = 4 * HOUR_MS,
		.freeze_all_emergencies = false,
		.unauth_incident = false,
		.unauth_priority = "P3",
	};
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct parse {
	const char *file;
	struct diags *diags;
	bool ok;
};

static void bad(struct parse *ps, const char *path, const char *msg)
{
	diags_add(ps->diags, ps->file, path, 0, "%s", msg);
	ps->ok = false;
}

/* Refuses members of `obj` not in `known` (NULL-terminated). */
static void only(struct parse *ps, json_t *obj, const char *where, const char *const *known)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		bool ok = false;
		for (size_t i = 0; known[i] && !ok; i++)
			ok = strcmp(known[i], k) == 0;
		if (!ok) {
			char path[256];
			snprintf(path, sizeof path, "%s%s%.200s", where, *where ? "." : "", k);
			bad(ps, path, "unknown member");
		}
	}
}

static void number(struct parse *ps, json_t *obj, const char *where, const char *key, double lo,
		   double hi, double *out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return;
	char path[256];
	snprintf(path, sizeof path, "%s.%s", where, key);
	double x = json_number_value(v);
	if (!json_is_number(v) || !(x >= lo && x <= hi)) {
		char msg[128];
		snprintf(msg, sizeof msg, "must be a number from %g to %g", lo, hi);
		bad(ps, path, msg);
		return;
	}
	*out = x;
}

static void integer(struct parse *ps, json_t *obj, const char *where, const char *key, int lo,
		    int hi, int *out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return;
	char path[256];
	snprintf(path, sizeof path, "%s.%s", where, key);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		char msg[128];
		snprintf(msg, sizeof msg, "must be an integer from %d to %d", lo, hi);
		bad(ps, path, msg);
		return;
	}
	*out = (int)json_integer_value(v);
}

static void duration(struct parse *ps, json_t *obj, const char *where, const char *key,
		     int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return;
	char path[256];
	snprintf(path, sizeof path, "%s.%s", where, key);
	long long secs = 0;
	if (!json_is_string(v) || !time_parse_duration(json_string_value(v), &secs) || secs <= 0 ||
	    secs > 400LL * 86400) {
		bad(ps, path, "must be an ISO 8601 duration from PT1S to P400D, such as PT72H");
		return;
	}
	*out = secs * 1000;
}

static void boolean(struct parse *ps, json_t *obj, const char *where, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return;
	char path[256];
	snprintf(path, sizeof path, "%s.%s", where, key);
	if (!json_is_boolean(v)) {
		bad(ps, path, "must be true or false");
		return;
	}
	*out = json_is_true(v);
}

/* Bit n set for "Pn" (1..4); -1 when not a priority. */
static int prio_bit(const char *s)
{
	if (s != NULL && s[0] == 'P' && s[1] >= '1' && s[1] <= '4' && s[2] == '\0')
		return s[1] - '0';
	return -1;
}

/* A section: NULL when absent, or an object (else an error). */
static json_t *section(struct parse *ps, json_t *root, const char *key)
{
	json_t *s = json_object_get(root, key);
	if (s != NULL && !json_is_object(s)) {
		bad(ps, key, "must be an object");
		return NULL;
	}
	return s;
}

/* Member `key` of `obj`, one of two words: *out = false for `no`, true for `yes`. */
static void either(struct parse *ps, json_t *obj, const char *where, const char *key,
		   const char *no, const char *yes, const char *msg, bool *out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return;
	char path[256];
	snprintf(path, sizeof path, "%s.%s", where, key);
	const char *w = json_string_value(v);
	if (w != NULL && strcmp(w, no) == 0)
		*out = false;
	else if (w != NULL && strcmp(w, yes) == 0)
		*out = true;
	else
		bad(ps, path, msg);
}

static void parse_suspects(struct parse *ps, json_t *s, struct policy_incidents *p)
{
	static const char *const known[] = {"window",       "time",  "delay",   "half_life",
					    "max_distance", "limit", "combine", "weights",
					    "relation",     "risk",  "outcome", NULL};
	only(ps, s, "suspects", known);
	duration(ps, s, "suspects", "window", &p->window_ms);
	either(ps, s, "suspects", "time", "delay", "half_life",
	       "must be \"delay\" (a log-normal delay, see delay) or \"half_life\" (halving each "
	       "half_life)",
	       &p->time_half_life);
	json_t *dl = json_object_get(s, "delay");
	if (dl != NULL && !json_is_object(dl))
		bad(ps, "suspects.delay", "must be an object {median, spread}");
	else if (dl != NULL) {
		static const char *const dk[] = {"median", "spread", NULL};
		only(ps, dl, "suspects.delay", dk);
		duration(ps, dl, "suspects.delay", "median", &p->delay_median_ms);
		number(ps, dl, "suspects.delay", "spread", 0.1, 5, &p->delay_spread);
	}
	duration(ps, s, "suspects", "half_life", &p->half_life_ms);
	either(ps, s, "suspects", "combine", "product", "sum",
	       "must be \"product\" (a weighted geometric mean of the factors) or \"sum\" (a "
	       "weighted sum)",
	       &p->combine_sum);
	integer(ps, s, "suspects", "max_distance", 1, 10, &p->max_distance);
	integer(ps, s, "suspects", "limit", 1, 100, &p->limit);
	json_t *w = json_object_get(s, "weights");
	if (w != NULL && !json_is_object(w))
		bad(ps, "suspects.weights", "must be an object {time, distance, risk, outcome}");
	else if (w != NULL) {
		static const char *const wk[] = {"time", "distance", "risk", "outcome", NULL};
		only(ps, w, "suspects.weights", wk);
		number(ps, w, "suspects.weights", "time", 0, 100, &p->w_time);
		number(ps, w, "suspects.weights", "distance", 0, 100, &p->w_distance);
		number(ps, w, "suspects.weights", "risk", 0, 100, &p->w_risk);
		number(ps, w, "suspects.weights", "outcome", 0, 100, &p->w_outcome);
		if (p->w_time + p->w_distance + p->w_risk + p->w_outcome <= 0)
			bad(ps, "suspects.weights", "at least one weight must be above 0");
	}
	json_t *r = json_object_get(s, "relation");
	if (r != NULL && !json_is_object(r))
		bad(ps, "suspects.relation",
		    "must be an object {same, dependency, dependent, per_hop}");
	else if (r != NULL) {
		static const char *const rk[] = {"same", "dependency", "dependent", "per_hop",
						 NULL};
		only(ps, r, "suspects.relation", rk);
		number(ps, r, "suspects.relation", "same", 0, 1, &p->f_same);
		number(ps, r, "suspects.relation", "dependency", 0, 1, &p->f_dependency);
		number(ps, r, "suspects.relation", "dependent", 0, 1, &p->f_dependent);
		number(ps, r, "suspects.relation", "per_hop", 0, 1, &p->f_hop);
	}
	json_t *k = json_object_get(s, "risk");
	if (k != NULL && !json_is_object(k))
		bad(ps, "suspects.risk",
		    "must be an object {low, medium, high, critical, unassessed}");
	else if (k != NULL) {
		static const char *const kk[] = {"low",      "medium",     "high",
						 "critical", "unassessed", NULL};
		only(ps, k, "suspects.risk", kk);
		number(ps, k, "suspects.risk", "low", 0, 1, &p->f_low);
		number(ps, k, "suspects.risk", "medium", 0, 1, &p->f_medium);
		number(ps, k, "suspects.risk", "high", 0, 1, &p->f_high);
		number(ps, k, "suspects.risk", "critical", 0, 1, &p->f_critical);
		number(ps, k, "suspects.risk", "unassessed", 0, 1, &p->f_unassessed);
	}
	json_t *o = json_object_get(s, "outcome");
	if (o != NULL && !json_is_object(o))
		bad(ps, "suspects.outcome",
		    "must be an object {failed, rolled_back, in_progress, succeeded, unknown}");
	else if (o != NULL) {
		static const char *const ok[] = {"failed",    "rolled_back", "in_progress",
						 "succeeded", "unknown",     NULL};
		only(ps, o, "suspects.outcome", ok);
		number(ps, o, "suspects.outcome", "failed", 0, 1, &p->f_failed);
		number(ps, o, "suspects.outcome", "rolled_back", 0, 1, &p->f_rolled_back);
		number(ps, o, "suspects.outcome", "in_progress", 0, 1, &p->f_in_progress);
		number(ps, o, "suspects.outcome", "succeeded", 0, 1, &p->f_succeeded);
		number(ps, o, "suspects.outcome", "unknown", 0, 1, &p->f_unknown);
	}
}

static void parse_freeze(struct parse *ps, json_t *s, struct policy_incidents *p)
{
	static const char *const known[] = {"enabled", "priorities", "dependents",
					    "hold",    "emergency",  NULL};
	only(ps, s, "freeze", known);
	boolean(ps, s, "freeze", "enabled", &p->freeze_enabled);
	boolean(ps, s, "freeze", "dependents", &p->freeze_dependents);
	duration(ps, s, "freeze", "hold", &p->freeze_hold_ms);
	json_t *pr = json_object_get(s, "priorities");
	if (pr != NULL) {
		unsigned bits = 0;
		size_t i;
		json_t *v;
		bool ok = json_is_array(pr);
		json_array_foreach(pr, i, v) {
			int b = prio_bit(json_string_value(v));
			ok = ok && b > 0;
			if (b > 0)
				bits |= 1u << b;
		}
		if (!ok)
			bad(ps, "freeze.priorities",
			    "must be an array of priorities \"P1\" to \"P4\"");
		else
			p->freeze_prio = bits;
	}
	json_t *e = json_object_get(s, "emergency");
	if (e != NULL) {
		const char *v = json_string_value(e);
		if (v != NULL && strcmp(v, "linked") == 0)
			p->freeze_all_emergencies = false;
		else if (v != NULL && strcmp(v, "all") == 0)
			p->freeze_all_emergencies = true;
		else
			bad(ps, "freeze.emergency",
			    "must be \"linked\" (emergency changes fixing the incident are exempt) "
			    "or "
			    "\"all\" (every emergency change is)");
	}
}

static void parse_unauthorized(struct parse *ps, json_t *s, struct policy_incidents *p)
{
	static const char *const known[] = {"open_incident", "priority", NULL};
	only(ps, s, "unauthorized", known);
	boolean(ps, s, "unauthorized", "open_incident", &p->unauth_incident);
	json_t *pr = json_object_get(s, "priority");
	if (pr != NULL) {
		if (prio_bit(json_string_value(pr)) < 0)
			bad(ps, "unauthorized.priority", "must be a priority \"P1\" to \"P4\"");
		else
			snprintf(p->unauth_priority, sizeof p->unauth_priority, "%s",
				 json_string_value(pr));
	}
}

struct policy_incidents *policy_incidents_parse(const char *file, const char *text, size_t len,
						struct diags *diags)
{
	struct parse ps = {file, diags, true};
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		diags_add(diags, file, NULL, je.column, "line %d: %s", je.line, je.text);
		return NULL;
	}
	struct policy_incidents *p = malloc(sizeof *p);
	if (p == NULL) {
		diags->oom = true;
		json_decref(root);
		return NULL;
	}
	policy_incidents_defaults(p);
	if (!json_is_object(root)) {
		bad(&ps, "", "must be an object {suspects?, freeze?, unauthorized?}");
	} else {
		static const char *const known[] = {"suspects", "freeze", "unauthorized",
						    "description", NULL};
		only(&ps, root, "", known);
		json_t *s;
		if ((s = section(&ps, root, "suspects")) != NULL)
			parse_suspects(&ps, s, p);
		if ((s = section(&ps, root, "freeze")) != NULL)
			parse_freeze(&ps, s, p);
		if ((s = section(&ps, root, "unauthorized")) != NULL)
			parse_unauthorized(&ps, s, p);
	}
	json_decref(root);
	if (!ps.ok) {
		free(p);
		return NULL;
	}
	double sum = p->w_time + p->w_distance + p->w_risk + p->w_outcome;
	p->w_time /= sum;
	p->w_distance /= sum;
	p->w_risk /= sum;
	p->w_outcome /= sum;
	return p;
}

void policy_incidents_free(struct policy_incidents *p)
{
	free(p);
}

/* ---- the catalog relation ----------------------------------------------------------------- */

/* The index of service `name` in `cat`, or -1. */
static int index_of(const struct policy_catalog *cat, const char *name)
{
	for (size_t i = 0; name != NULL && i < catalog_count(cat); i++)
		if (strcmp(catalog_at(cat, i)->name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Hops from service `from` to every service of `cat` within `max` following depends_on
 * edges (up: to what it depends on) and their reverse (down: to what depends on it):
 * up[i], down[i] (-1 when farther or unreachable; 0 for `from`).  Breadth first; the
 * arrays are owned (free()).  False on OOM or when `from` is not in the catalog.
 */
static bool distances(const struct policy_catalog *cat, const char *from, int max, int **up,
		      int **down)
{
	size_t n = catalog_count(cat);
	int self = index_of(cat, from);
	*up = *down = NULL;
	if (self < 0)
		return false;
	int *u = malloc(n * sizeof *u), *d = malloc(n * sizeof *d);
	if (u == NULL || d == NULL) {
		free(u);
		free(d);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		u[i] = d[i] = -1;
	u[self] = d[self] = 0;
	for (int h = 0; h < max; h++) {
		for (size_t i = 0; i < n; i++) {
			const struct catalog_service *s = catalog_at(cat, i);
			for (size_t k = 0; k < s->n_depends_on; k++) {
				int dep = index_of(cat, s->depends_on[k]);
				if (dep < 0)
					continue;
				if (u[i] == h && u[dep] < 0) /* i depends on dep: up */
					u[dep] = h + 1;
				if (d[dep] == h &&
				    d[i] < 0) /* i depends on dep: i is down of dep */
					d[i] = h + 1;
			}
		}
	}
	*up = u;
	*down = d;
	return true;
}

/* The relation of service `other` given the distances from the incident's service. */
static enum suspect_relation relation_at(const struct policy_catalog *cat, const char *of,
					 const int *up, const int *down, const char *other,
					 int *hops)
{
	*hops = 0;
	if (of != NULL && other != NULL && strcmp(of, other) == 0)
		return SUSPECT_SAME;
	int i = up != NULL ? index_of(cat, other) : -1;
	if (i < 0)
		return SUSPECT_UNRELATED;
	if (up[i] > 0) {
		*hops = up[i];
		return SUSPECT_DEPENDENCY;
	}
	if (down[i] > 0) {
		*hops = down[i];
		return SUSPECT_DEPENDENT;
	}
	return SUSPECT_UNRELATED;
}

enum suspect_relation policy_suspect_relation(const struct policy_catalog *cat, const char *of,
					      const char *other, int max_hops, int *hops)
{
	int *up = NULL, *down = NULL;
	if (cat != NULL && of != NULL)
		distances(cat, of, max_hops, &up, &down);
	enum suspect_relation r = relation_at(cat, of, up, down, other, hops);
	free(up);
	free(down);
	return r;
}

json_t *policy_suspect_services(const struct policy_incidents *p, const struct policy_catalog *cat,
				const char *service)
{
	json_t *out = json_array();
	if (out == NULL || service == NULL)
		return out;
	json_array_append_new(out, json_string(service));
	int *up = NULL, *down = NULL;
	if (cat != NULL && distances(cat, service, p->max_distance, &up, &down))
		for (size_t i = 0; i < catalog_count(cat); i++)
			if (up[i] > 0 || down[i] > 0)
				json_array_append_new(out, json_string(catalog_at(cat, i)->name));
	free(up);
	free(down);
	return out;
}

/* ---- ranking ------------------------------------------------------------------------------ */

static double risk_factor(const struct policy_incidents *p, const char *level)
{
	if (level == NULL)
		return p->f_unassessed;
	if (strcmp(level, "low") == 0)
		return p->f_low;
	if (strcmp(level, "medium") == 0)
		return p->f_medium;
	if (strcmp(level, "high") == 0)
		return p->f_high;
	if (strcmp(level, "critical") == 0)
		return p->f_critical;
	return p->f_unassessed;
}

static double outcome_factor(const struct policy_incidents *p, const char *outcome)
{
	if (outcome == NULL)
		return p->f_unknown;
	if (strcmp(outcome, "failed") == 0)
		return p->f_failed;
	if (strcmp(outcome, "rolled_back") == 0)
		return p->f_rolled_back;
	if (strcmp(outcome, "in_progress") == 0)
		return p->f_in_progress;
	if (strcmp(outcome, "succeeded") == 0)
		return p->f_succeeded;
	return p->f_unknown;
}

/* "40 min", "3 h 10 min", "2 days 4 h" */
static void span_text(long long ms, char *buf, size_t size)
{
	long long min = ms / 60000;
	if (min < 90)
		snprintf(buf, size, "%lld min", min);
	else if (min < 48 * 60)
		snprintf(buf, size, "%lld h %lld min", min / 60, min % 60);
	else
		snprintf(buf, size, "%lld days %lld h", min / 1440, (min % 1440) / 60);
}

static const char *const relation_names[] = {"same", "dependency", "dependent", "unrelated"};

/* "(same service)", "(payments depends on it)", "(depends on payments, 2 hops)" */
static void relation_text(enum suspect_relation rel, int hops, const char *incident_service,
			  char *buf, size_t size)
{
	char extra[32] = "";
	if (hops > 1)
		snprintf(extra, sizeof extra, ", %d hops", hops);
	if (rel == SUSPECT_SAME)
		snprintf(buf, size, "same service");
	else if (rel == SUSPECT_DEPENDENCY)
		snprintf(buf, size, "%s depends on it%s", incident_service, extra);
	else
		snprintf(buf, size, "depends on %s%s", incident_service, extra);
}

static const char *outcome_text(const char *outcome)
{
	if (outcome == NULL || strcmp(outcome, "unknown") == 0)
		return "outcome unknown";
	if (strcmp(outcome, "in_progress") == 0)
		return "still in progress";
	if (strcmp(outcome, "rolled_back") == 0)
		return "rolled back";
	return outcome; /* failed, succeeded */
}

/*
 * The time factor of a change started `dt` ms before the incident, in [0, 1].  "delay":
 * the log-normal density of the delay (median m, sigma s of ln) at dt over its value at
 * the mode m e^(-s^2); in logs, g(x) = -ln x - (ln x - ln m)^2 / (2 s^2).  A change started
 * at the incident's very instant counts as one second before.
 */
static double time_factor(const struct policy_incidents *p, long long dt)
{
	if (p->time_half_life)
		return pow(0.5, (double)dt / (double)p->half_life_ms);
	double m = (double)p->delay_median_ms, s2 = 2 * p->delay_spread * p->delay_spread;
	double x = dt < 1000 ? 1000.0 : (double)dt;
	double mode = m * exp(-p->delay_spread * p->delay_spread);
	double gx = -log(x) - (log(x / m) * log(x / m)) / s2;
	double gmode = -log(mode) - (log(mode / m) * log(mode / m)) / s2;
	double f = exp(gx - gmode);
	return f < 1 ? f : 1;
}

/* The score of the four factors (each in [0, 1]) under p->combine_sum, in [0, 1]. */
static double combine(const struct policy_incidents *p, double ft, double fd, double fr, double fo)
{
	double score;
	if (p->combine_sum)
		score = p->w_time * ft + p->w_distance * fd + p->w_risk * fr + p->w_outcome * fo;
	else
		score = pow(ft, p->w_time) * pow(fd, p->w_distance) * pow(fr, p->w_risk) *
			pow(fo, p->w_outcome);
	return score < 1 ? score : 1;
}

struct scored {
	json_t *item;
	double score;
	long long started_ms;
	const char *id;
};

static int by_score(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->started_ms != y->started_ms)
		return x->started_ms > y->started_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

json_t *policy_suspects_rank(const struct policy_incidents *p, const struct policy_catalog *cat,
			     const char *service, long long incident_ms, json_t *candidates)
{
	size_t n = json_array_size(candidates);
	struct scored *v = calloc(n ? n : 1, sizeof *v);
	json_t *out = json_array();
	if (v == NULL || out == NULL) {
		free(v);
		json_decref(out);
		return NULL;
	}
	size_t m = 0;
	size_t i;
	json_t *c;
	int *up = NULL, *down = NULL;
	if (cat != NULL)
		distances(cat, service, p->max_distance, &up, &down);
	json_array_foreach(candidates, i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		long long started = json_integer_value(json_object_get(c, "started_ms"));
		if (id == NULL || started > incident_ms || incident_ms - started > p->window_ms)
			continue;
		/* the change's service closest to the incident's */
		enum suspect_relation best = SUSPECT_UNRELATED;
		int best_hops = 0;
		double best_f = -1;
		const char *best_svc = NULL;
		size_t k;
		json_t *s;
		json_array_foreach(json_object_get(c, "services"), k, s) {
			int hops;
			enum suspect_relation rel =
				relation_at(cat, service, up, down, json_string_value(s), &hops);
			double f = rel == SUSPECT_SAME         ? p->f_same
				   : rel == SUSPECT_DEPENDENCY ? p->f_dependency
				   : rel == SUSPECT_DEPENDENT  ? p->f_dependent
							       : -1;
			if (rel != SUSPECT_UNRELATED && hops > 1)
				f *= pow(p->f_hop, hops - 1);
			if (f > best_f) {
				best_f = f, best = rel, best_hops = hops;
				best_svc = json_string_value(s);
			}
		}
		if (best == SUSPECT_UNRELATED)
			continue;
		const char *level = json_string_value(json_object_get(c, "risk_level"));
		const char *outcome = json_string_value(json_object_get(c, "outcome"));
		long long dt = incident_ms - started;
		double ft = time_factor(p, dt);
		double fr = risk_factor(p, level), fo = outcome_factor(p, outcome);
		double score = combine(p, ft, best_f, fr, fo);
		char span[64], rel[160], reason[512], at[TIME_RFC3339_LEN];
		span_text(dt, span, sizeof span);
		relation_text(best, best_hops, service, rel, sizeof rel);
		snprintf(reason, sizeof reason, "%s %s before on %s (%s); %s%s; %s",
			 outcome && strcmp(outcome, "in_progress") == 0 ? "started" : "deployed",
			 span, best_svc, rel, level ? "risk " : "risk not assessed",
			 level ? level : "", outcome_text(outcome));
		time_format_ms(started, at);
		json_t *item = json_pack(
			"{s:s, s:O?, s:f, s:s, s:s, s:i, s:s, s:I, s:s?, s:s, s:{s:f, s:f, s:f, "
			"s:f}, s:s}",
			"change", id, "title", json_object_get(c, "title"), "score",
			round(score * 1000) / 1000, "service", best_svc, "relation",
			relation_names[best], "distance", best_hops, "started_at", at,
			"minutes_before", (json_int_t)(dt / 60000), "risk", level, "outcome",
			outcome ? outcome : "unknown", "factors", "time", round(ft * 1000) / 1000,
			"distance", round(best_f * 1000) / 1000, "risk", fr, "outcome", fo,
			"reason", reason);
		if (item == NULL)
			continue;
		v[m++] = (struct scored){item, score, started, id};
	}
	free(up);
	free(down);
	qsort(v, m, sizeof *v, by_score);
	for (i = 0; i < m; i++) {
		if ((int)i < p->limit) {
			json_object_set_new(v[i].item, "rank", json_integer((json_int_t)i + 1));
			json_array_append(out, v[i].item);
		}
		json_decref(v[i].item);
	}
	free(v);
	return out;
}

/* ---- freezes ------------------------------------------------------------------------------ */

bool policy_incident_freezes(const struct policy_incidents *p, const char *priority)
{
	int b = prio_bit(priority);
	return p->freeze_enabled && b > 0 && (p->freeze_prio & (1u << b)) != 0;
}

json_t *policy_freeze_services(const struct policy_incidents *p, const struct policy_catalog *cat,
			       const char *service)
{
	json_t *out = json_array();
	if (out == NULL || service == NULL)
		return out;
	json_array_append_new(out, json_string(service));
	for (size_t i = 0; p->freeze_dependents && cat != NULL && i < catalog_count(cat); i++) {
		const char *name = catalog_at(cat, i)->name;
		if (catalog_depends(cat, name, service))
			json_array_append_new(out, json_string(name));
	}
	return out;
}
