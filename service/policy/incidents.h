/*
 * incidents.h -- policies/incidents.json, what Transom does around an incident: which
 * changes it suspects (and how it ranks them), which incidents freeze a service, and what
 * it does with a deployment nobody authorized.  Pure: no I/O, no clock (`now` and the
 * incident's time are parameters), no database.
 *
 * Suspect scoring: every candidate change started in the `window` before the incident on
 * the incident's service, on a service it depends on or on one depending on it (within
 * `max_distance` hops of the catalog) gets four factors in [0, 1]:
 *   time      the delay dt since it started: with `time` "delay" (the default) the density
 *             of a log-normal delay of `delay.median` and `delay.spread` at dt, divided
 *             by its value at the mode (a heavy tail: an incident often surfaces hours
 *             after its change); with "half_life", 0.5^(dt / half_life);
 *   distance  the relation factor (same, dependency, dependent) x per_hop^(hops - 1);
 *   risk      the factor of its recorded risk level;   outcome  the factor of its outcome;
 * combined, weights normalized to sum 1, by `combine`:
 *   "product" (default)  time^w.time x distance^w.distance x risk^w.risk x outcome^w.outcome
 *                        (a weighted geometric mean: with equal weights it ranks as the
 *                        product of the factors, the naive-Bayes odds of each change);
 *   "sum"                w.time x time + w.distance x distance + w.risk x risk + ...;
 * so the score is in [0, 1]; and a sentence saying why:
 *   "deployed 40 min before on payments (same service); risk high; failed".
 *
 * Thread-safety: a parsed `struct policy_incidents` is immutable.
 */
#ifndef TRANSOM_POLICY_INCIDENTS_H
#define TRANSOM_POLICY_INCIDENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/diag.h"
#include "policy/catalog.h"

/* How a candidate change's service relates to the incident's service. */
enum suspect_relation {
	SUSPECT_SAME = 0,       /* the incident's own service */
	SUSPECT_DEPENDENCY = 1, /* a service the incident's service depends on */
	SUSPECT_DEPENDENT = 2,  /* a service depending on the incident's service */
	SUSPECT_UNRELATED = 3   /* none of these within max_distance */
};

struct policy_incidents {
	/* "suspects" */
	int64_t window_ms;       /* "window", default PT72H: how far back changes are suspects */
	bool time_half_life;     /* "time": "delay" (default, false) or "half_life" (true) */
	int64_t delay_median_ms; /* "delay.median", default PT1H: half the incidents sooner */
	double delay_spread;     /* "delay.spread", default 1.5 (0.1..5): sigma of ln(delay) */
	int64_t half_life_ms; /* "half_life", default PT2H: with "time": "half_life", it halves */
	bool combine_sum;     /* "combine": "product" (default, false) or "sum" (true) */
	int max_distance;     /* "max_distance", default 2 (1..10): catalog hops considered */
	int limit;            /* "limit", default 10 (1..100): suspects listed */
	double w_time, w_distance, w_risk, w_outcome;             /* "weights", normalized */
	double f_same, f_dependency, f_dependent, f_hop;          /* "relation" factors */
	double f_low, f_medium, f_high, f_critical, f_unassessed; /* "risk" factors */
	double f_failed, f_rolled_back, f_in_progress, f_succeeded, f_unknown; /* "outcome" */
	/* "freeze" */
	bool freeze_enabled;    /* "enabled", default true */
	unsigned freeze_prio;   /* "priorities", bit n = P(n); default P1, P2 */
	bool freeze_dependents; /* "dependents", default true: services depending on it too */
	int64_t freeze_hold_ms; /* "hold", default PT4H: how far beyond now the planner sees it */
	bool freeze_all_emergencies; /* "emergency": "linked" (default) or "all" exempt */
	/* "unauthorized" */
	bool unauth_incident;    /* "open_incident", default false */
	char unauth_priority[4]; /* "priority" of that incident, default "P3" */
};

/* The defaults (what an absent file means). */
void policy_incidents_defaults(struct policy_incidents *p);

/*
 * Parses policies/incidents.json (`file` names it in diagnostics).  Returns an owned
 * policy, or NULL with every error appended to `diags` ("file: suspects.weights.time:
 * must be a number from 0 to 100").  Unknown members are errors.  Never aborts.
 */
struct policy_incidents *policy_incidents_parse(const char *file, const char *text, size_t len,
						struct diags *diags);
void policy_incidents_free(struct policy_incidents *p);

/*
 * How service `other` relates to service `of` in `cat` (may be NULL: only the same name
 * relates), and in how many hops (*hops, 0 for the same service).  Dependencies win over
 * dependents when both paths exist.  SUSPECT_UNRELATED beyond `max_hops`.
 */
enum suspect_relation policy_suspect_relation(const struct policy_catalog *cat, const char *of,
					      const char *other, int max_hops, int *hops);

/*
 * The services whose changes are suspects for an incident on `service`: it, and those
 * related within p->max_distance (owned array of names; NULL on OOM).
 */
json_t *policy_suspect_services(const struct policy_incidents *p, const struct policy_catalog *cat,
				const char *service);

/*
 * Ranks the candidate changes of an incident on `service` that began at `incident_ms`.
 * `candidates` (borrowed): [{"id", "title"?, "services": [...], "started_ms",
 * "risk_level"?: "low"|...|null, "outcome": "failed"|"rolled_back"|"in_progress"|
 * "succeeded"|"unknown"}].  A candidate started after the incident, before the window, or
 * on no related service is left out.  Returns an owned array, best first, at most p->limit:
 *   [{"rank", "change", "title", "score", "service", "relation", "distance",
 *     "started_at", "minutes_before", "risk", "outcome", "factors": {...}, "reason"}]
 * Ranked by the unrounded score ("score" shows it to 3 decimals); ties break by the
 * later start, then the id.  NULL on OOM.
 */
json_t *policy_suspects_rank(const struct policy_incidents *p, const struct policy_catalog *cat,
			     const char *service, long long incident_ms, json_t *candidates);

/*
 * Whether an incident of `priority` ("P1".."P4"; NULL none) freezes its service under `p`.
 */
bool policy_incident_freezes(const struct policy_incidents *p, const char *priority);

/*
 * The services an incident freeze on `service` covers: it, and (with p->freeze_dependents)
 * every service depending on it, directly or transitively.  Owned array; NULL on OOM.
 */
json_t *policy_freeze_services(const struct policy_incidents *p, const struct policy_catalog *cat,
			       const char *service);

#endif /* TRANSOM_POLICY_INCIDENTS_H */
