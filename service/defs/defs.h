/*
 * defs.h -- the loaded definitions (workflows/ and policies/) and their atomic reload.
 *
 * A `struct defs` is an immutable snapshot, reference-counted.  The holder keeps the
 * current snapshot; SIGHUP builds a new one off to the side and swaps it in only when
 * every file is valid, so a broken edit never replaces working definitions.
 *
 * The request path takes no lock in the steady state: each worker thread caches a
 * reference together with the holder's generation number, and only when the
 * generation moved does it take the holder's lock to trade its reference for the new
 * snapshot.
 */
#ifndef TRANSOM_DEFS_H
#define TRANSOM_DEFS_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "calendar/calendar.h"

struct wf_set;
struct policy_catalog;
struct policy_set;
struct cal_set;
struct planner_config;
struct policy_incidents;

/* One iCalendar source of windows, freezes and CAB meetings. */
struct defs_calendar {
	char *name;          /* "policies/windows.ics", or "remote:<name>" */
	struct cal_set *set; /* owned */
	/* When the content last changed (ms): the file's mtime, or the previous snapshot's
	   time when a reload finds the same bytes under the same name.  Feeds stamp the
	   calendar's events with it (DTSTAMP, LAST-MODIFIED), so an unchanged file gives
	   byte-identical feeds across reloads and restarts. */
	long long changed_ms;
	unsigned char digest[32]; /* SHA-256 of the file's bytes */
};

struct defs {
	atomic_uint refs;
	struct wf_set *workflows;       /* owned */
	struct policy_catalog *catalog; /* owned; from policies/services.json, NULL if absent */
	struct policy_set *policies; /* owned; people, risk, approvals, templates; NULL if none */
	struct planner_config *plan; /* owned; policies/calendars.json or the defaults */
	struct defs_calendar *calendars; /* owned: policies/ *.ics files, then remote copies */
	size_t n_calendars;
	json_t *remote_status; /* owned: [{"name", "cached": bool}] per remote calendar */
	json_t *warnings;      /* owned: strings, what the calendars read but left out */
	json_t *github;        /* owned: policies/github.json {"repositories": {...}}, or NULL */
	json_t *identity;      /* owned: policies/identity.json {"rules": [...]}, or NULL */
	json_t *alerts;        /* owned: policies/alerts.json (validated), or NULL: defaults */
	/* owned: policies/incidents.json (suspects, incident freezes, unauthorized changes),
	 * the defaults when absent; read it through defs_incidents() */
	struct policy_incidents *incidents;
	char version[17];             /* hex hash of every file loaded: changes when any does */
	char loaded_at[32];           /* RFC 3339, UTC */
	long long changed_ms;         /* the newest calendars[].changed_ms; the load time if none */
	unsigned files;               /* number of definition files read */
	struct defs_memo *memo;       /* owned: the shared instance span (defs_span_get) */
	struct defs_plan_memo *plans; /* owned: the shared planners (defs_planner_lend) */
};

/* d->incidents, or the defaults when `d` has none (never NULL). */
const struct policy_incidents *defs_incidents(const struct defs *d);

/*
 * Loads and validates both directories.  `cache_dir` (may be NULL) holds the last good
 * copies of remote calendars, as <cache_dir>/calendars/<name>.ics; a missing copy is not
 * an error (the fetcher has not succeeded yet), a broken one is.  Returns an owned
 * snapshot (refs = 1), or NULL with every problem, one per line, in *errors (owned;
 * free()).  `now_rfc3339` is recorded as the load time.
 */
struct defs *defs_load(const char *workflows_dir, const char *policies_dir, const char *cache_dir,
		       const char *now_rfc3339, char **errors);

/*
 * Every window, freeze and CAB-meeting instance of the snapshot's calendars overlapping
 * [from_ms, to_ms), as cal_expand() gives them, sorted by start.  Owned; NULL on OOM.
 */
json_t *defs_instances(const struct defs *d, long long from_ms, long long to_ms);

/* As defs_instances(), each instance with "changed_ms": its calendar's changed_ms. */
json_t *defs_instances_stamped(const struct defs *d, long long from_ms, long long to_ms);

/*
 * defs_instances() as structs (cal_expand_list()), appended to `out`: what the planner
 * reads.  Strings borrow from the snapshot, which must outlive them.  Returns 0, or -1 on
 * out of memory.
 */
int defs_instance_list(const struct defs *d, long long from_ms, long long to_ms,
		       struct cal_instances *out);

/*
 * The instances of every calendar of a snapshot over [from_ms, to_ms) and a little past
 * it (span.c), expanded once and shared by the requests of the next hours.  Read-only;
 * `l`'s strings borrow from the snapshot, which must outlive the reference.
 */
struct defs_span {
	atomic_uint refs;
	long long from_ms, to_ms; /* what `l` covers: every instance overlapping it */
	struct cal_instances l;
};

/*
 * A reference to the shared span of `d` covering [from_ms, to_ms) (expanding it when
 * there is none, or `now` has moved past it); release it with defs_span_release().  Its
 * instances overlapping [from_ms, to_ms) are exactly what defs_instance_list() would
 * append.  NULL when it cannot be shared (out of memory, a span wider than the
 * calendars' horizon, a calendar near the per-event cap): expand with
 * defs_instance_list() then.
 */
const struct defs_span *defs_span_get(const struct defs *d, long long from_ms, long long to_ms);

/* Drops a reference taken by defs_span_get(); NULL is a no-op. */
void defs_span_release(const struct defs_span *sp);

/* span.c's memo, created and freed with each snapshot. */
struct defs_memo *defs_memo_new(void);
void defs_memo_free(struct defs_memo *m);

/*
 * What a shared planner was made from (plan_memo.c), beyond the snapshot itself: the
 * bookings' version it read, the shared span its instances came from (the planner
 * borrows its strings), and the instants
 * between which a planner made now from the same inputs would be the same one (app/
 * schedule.c computes them).  A caller looks up with made_ms = its `now`.
 */
struct defs_plan_key {
	long long version;            /* store_schedule_version, read before the bookings */
	const struct defs_span *span; /* its instances' (the memo keeps a reference) */
	long long made_ms, until_ms;  /* valid for made_ms <= now < until_ms */
};

struct planner;

/*
 * The planner of `d` for `environment` made from the inputs `k` names (k->made_ms: the
 * caller's now), or NULL when there is none.  A planner returned is lent under the memo's
 * lock: use it briefly (no I/O), leave it as it was (a booking taken out is put back),
 * then call defs_planner_give_back().
 */
struct planner *defs_planner_lend(const struct defs *d, const char *environment,
				  const struct defs_plan_key *k);

/*
 * Keeps planner `p` (stolen) made from `k` as `environment`'s, replacing an older one,
 * and lends it as defs_planner_lend() does.  NULL (`p` freed) when it cannot be kept:
 * no memo, or a planner of newer bookings is already there; then make another.
 */
struct planner *defs_planner_keep(const struct defs *d, const char *environment,
				  const struct defs_plan_key *k, struct planner *p);

/*
 * While lending `p`: it now holds the bookings of version `version` (the lender changed
 * them as a committed write planned at `made_ms` did: a caller planning at an earlier
 * now would not have read them all), and one of them ends at `end_ms` (0: none new), so
 * it stays valid no longer than that.
 */
void defs_planner_rekey(const struct defs *d, struct planner *p, long long version,
			long long made_ms, long long end_ms);

/*
 * Ends the loan of `p` by defs_planner_lend() or defs_planner_keep().  `spoiled`: the
 * caller could not leave it as it was (out of memory): it is dropped.
 */
void defs_planner_give_back(const struct defs *d, struct planner *p, bool spoiled);

/* plan_memo.c's memo, created and freed with each snapshot. */
struct defs_plan_memo *defs_plan_memo_new(void);
void defs_plan_memo_free(struct defs_plan_memo *m);

/* Takes another reference to `d`. */
struct defs *defs_ref(struct defs *d);

/* Drops a reference; frees the snapshot when it was the last.  NULL is a no-op. */
void defs_release(struct defs *d);

struct defs_holder {
	pthread_mutex_t lock;
	struct defs *current;    /* guarded by lock */
	atomic_ulong generation; /* bumped on every swap */
	char *last_error;        /* guarded by lock; NULL when the last (re)load was valid */
	char last_attempt[32];   /* guarded by lock; RFC 3339 */
};

/* Initialises `h` with `initial` (stolen, may be NULL when nothing is loaded yet). */
void defs_holder_init(struct defs_holder *h, struct defs *initial);

/* Releases the current snapshot and the error text. */
void defs_holder_destroy(struct defs_holder *h);

/*
 * Loads the directories again; on success swaps the new snapshot in and returns true.
 * On failure keeps the old one, records the errors (see defs_holder_status) and returns
 * false.
 */
bool defs_holder_reload(struct defs_holder *h, const char *workflows_dir, const char *policies_dir,
			const char *cache_dir, const char *now_rfc3339);

/*
 * Brings a per-thread cache up to date: when `*gen` differs from the holder's
 * generation, releases `*cached` and takes a reference to the current snapshot.
 * Returns `*cached` (borrowed; NULL when nothing is loaded).
 */
struct defs *defs_holder_get(struct defs_holder *h, struct defs **cached, unsigned long *gen);

/*
 * Describes the holder as an owned JSON object: {loaded, version, loaded_at, workflows,
 * warnings (the calendars' warnings, strings), last_reload_ok, last_error?}.  *ok receives whether
 * a snapshot is loaded.
 */
json_t *defs_holder_status(struct defs_holder *h, bool *loaded, bool *last_ok);

#endif /* TRANSOM_DEFS_H */
