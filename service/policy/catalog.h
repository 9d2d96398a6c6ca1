/*
 * catalog.h -- the service catalog: policies/services.json, the first declarative policy.
 *
 * Each service has a name, a criticality, an owning team, the services it depends on and,
 * optionally, the maintenance calendar it uses.  This module parses and validates the
 * file (every error at once, each naming file and JSON path, in the `struct diags`
 * format of the workflow loader) and answers the questions the engine, the API and the
 * scheduler ask: who owns a service, which names are unknown, whether two services are
 * related through dependencies, the highest criticality among a set of services.
 *
 * The format is described in policies/README.md.  The core is pure: no I/O but
 * catalog_load_file() reading one file, no clock.
 *
 * Thread-safety: a loaded `struct policy_catalog` is immutable; any number of threads may
 * query it at once.  It must outlive every borrowed pointer and JSON value taken from it.
 */
#ifndef TRANSOM_POLICY_CATALOG_H
#define TRANSOM_POLICY_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "wf/wf.h"

struct policy_catalog;

/* Most services one catalog may hold. */
#define CATALOG_MAX_SERVICES 4096

/* Largest file catalog_load_file() reads. */
#define CATALOG_FILE_MAX (1024 * 1024)

/* How much an outage of the service hurts; ordered, so values compare. */
enum catalog_criticality {
	CATALOG_CRIT_NONE = 0, /* no service known: only returned by catalog_max_criticality */
	CATALOG_CRIT_LOW,      /* "low": internal convenience, no customer impact */
	CATALOG_CRIT_MEDIUM,   /* "medium": degraded internal work */
	CATALOG_CRIT_HIGH,     /* "high": customer-facing, degraded service */
	CATALOG_CRIT_CRITICAL  /* "critical": money, identity or the whole product */
};

/*
 * The name of `c` ("low", "medium", "high", "critical"; "none" for CATALOG_CRIT_NONE),
 * or NULL for a value outside the enum.  Static storage.  Thread-safe.
 */
const char *catalog_criticality_name(enum catalog_criticality c);

/* The criticality named `name` (not "none"), or CATALOG_CRIT_NONE when unknown or NULL. */
enum catalog_criticality catalog_criticality_parse(const char *name);

/* One service.  Every pointer is borrowed from the catalog and lives as long as it. */
struct catalog_service {
	const char *name;                     /* unique, ^[a-z0-9][a-z0-9-]{0,62}$ */
	const char *description;              /* NULL when absent */
	enum catalog_criticality criticality; /* never CATALOG_CRIT_NONE */
	const char *criticality_name;         /* "low", "medium", "high" or "critical" */
	const char *team;                     /* owning team, non-empty */
	const char *const *depends_on;        /* direct dependencies, NULL-terminated */
	size_t n_depends_on;                  /* entries of depends_on */
	const char *calendar;                 /* maintenance calendar, NULL when absent */
};

/* ---- loading -------------------------------------------------------------------------- */

/*
 * Parses and validates a catalog.  `file` names it in diagnostics (e.g.
 * "policies/services.json"); `text` need not be NUL-terminated.  Returns an owned catalog,
 * or NULL with every error appended to `diags` (which must not be NULL), e.g.
 *   policies/services.json: services[3].depends_on[1]: unknown service 'ledgr'
 *   policies/services.json: services[4].depends_on: dependency cycle: web -> api -> web
 *   policies/services.json: line 7: column 3: invalid json: '}' expected near ']'
 * Out of memory returns NULL and sets diags->oom.  Never aborts on bad input.  The work is
 * linear in `len` but for the dependency closure, at most CATALOG_MAX_SERVICES^2 bits.
 * Thread-safe (for distinct `diags`).
 */
struct policy_catalog *catalog_parse(const char *file, const char *text, size_t len,
				     struct diags *diags);

/*
 * Reads the file at `path` (at most CATALOG_FILE_MAX bytes) and parses it as
 * catalog_parse() does, naming it `path` in diagnostics.  Returns an owned catalog, or
 * NULL with the errors appended to `diags` (a file that cannot be read is one error with
 * an empty JSON path).  Thread-safe.
 */
struct policy_catalog *catalog_load_file(const char *path, struct diags *diags);

/* Frees `cat`; NULL is a no-op.  Not while any thread uses it. */
void catalog_free(struct policy_catalog *cat);

/* ---- lookups (all borrowed, valid as long as the catalog) ------------------------------ */

/* Number of services, and the i-th in file order (NULL when i is out of range). */
size_t catalog_count(const struct policy_catalog *cat);
const struct catalog_service *catalog_at(const struct policy_catalog *cat, size_t i);

/* The service named `name`, or NULL (also for a NULL name). */
const struct catalog_service *catalog_find(const struct policy_catalog *cat, const char *name);

/*
 * A JSON object, service name -> owning team, for every service: what the workflow
 * engine's route_to_team action reads as `ctx.teams`.  Borrowed and immutable: never
 * modify it; json_incref() it to keep it beyond the catalog.
 */
json_t *catalog_teams(const struct policy_catalog *cat);

/*
 * The names in `names` (borrowed: an array of strings, or a single string) that are not
 * services of the catalog, each once, in order of first appearance: for replies such as
 * "unknown services: x, y".  Non-string entries are skipped.  Returns an owned array,
 * empty when every name is known or `names` is neither an array nor a string; NULL on
 * out of memory.
 */
json_t *catalog_unknown(const struct policy_catalog *cat, json_t *names);

/* ---- dependencies and risk ------------------------------------------------------------ */

/*
 * Whether services `a` and `b` are related: the same name, or one depends on the other
 * directly or transitively (either direction).  False when either is NULL, or unknown
 * and the names differ.  Constant time; no allocation.
 */
bool catalog_related(const struct policy_catalog *cat, const char *a, const char *b);

/*
 * Whether service `a` depends on service `b`, directly or transitively (a service does
 * not depend on itself).  False when either is unknown or NULL.  Constant time.
 */
bool catalog_depends(const struct policy_catalog *cat, const char *a, const char *b);

/*
 * The highest criticality among the known services in `names` (borrowed: an array of
 * strings, or a single string); unknown names and non-strings are ignored.
 * CATALOG_CRIT_NONE when no name is known.  No allocation.
 */
enum catalog_criticality catalog_max_criticality(const struct policy_catalog *cat, json_t *names);

#endif /* TRANSOM_POLICY_CATALOG_H */
