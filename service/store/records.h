/*
 * records.h -- the records aggregate: changes, incidents and problems, and their links.
 */
#ifndef TRANSOM_STORE_RECORDS_H
#define TRANSOM_STORE_RECORDS_H

#include <jansson.h>
#include <stdbool.h>

#include "store/store.h"

struct store_record {
	char id[32];
	char kind[16];
	char workflow[128];
	char workflow_version[32];
	char state[128];
	int version;
	long long created_ms, updated_ms, entered_ms; /* milliseconds since the epoch */
	json_t *data;                                 /* the whole record (owned) */
	json_t *links; /* read: every link touching it, [{"from","rel","to"}] (owned) */
};

/* Releases r->data. */
void store_record_clear(struct store_record *r);

/*
 * What a read of one record shows beside the record, as the database wrote it (JSON
 * texts, owned): the stored data, whose members the caller adds to; the timers armed in
 * its state, [{"event", "due_at"}]; the alert tables' members (store_record_view);
 * whether the data holds a member the representation adds itself.
 */
struct store_record_text {
	char *data;   /* {...}, jsonb's output */
	char *timers; /* [...] */
	char *alerts; /* a change's {"alerts", "silences"}, an incident's {"alert_group"},
		       * else {} */
	bool shadows; /* data has version, links, available_events, blocked_events, timers,
		       * alerts, silences or alert_group */
};

/* Releases the texts of `t`. */
void store_record_text_clear(struct store_record_text *t);

/*
 * One record for a read, in one round trip: `r` as store_record_get fills it (unlocked)
 * but for r->data, left NULL (the caller parses what it needs of t->data), and `t` the
 * texts above.  For a change {"alerts": [{group_key, service, alertname,
 * status, fingerprints, first_at, last_at}], "silences": [{service, state, silence_id,
 * matchers, starts_at, ends_at, attempts, last_error}]}; for an incident {"alert_group":
 * {group_key, receiver, service, priority, status, alertname, fingerprints,
 * notifications, episode, previous_incidents, first_at, last_at} | null}.  DB_ONE,
 * DB_NONE (no such record) or an error.
 */
enum db_status store_record_view(struct store *st, const char *id, struct store_record *r,
				 struct store_record_text *t);

/* Draws the next id of `kind` ("CHG-12") into `id` (32 bytes).  DB_ONE on success. */
enum db_status store_record_next_id(struct store *st, const char *kind, char id[32]);

/*
 * Queues the insert of `r` (version 1; created = updated = entered = r->created_ms); it
 * is sent with the transaction's next round trip.  `text` is r->data as compact JSON
 * text when the caller has it, else NULL (written here).
 */
enum db_status store_record_insert(struct store *st, const struct store_record *r,
				   const char *text);

/*
 * Reads record `id` and its links into `r` (owned by the caller: store_record_clear),
 * locking it until the end of the transaction when `lock`.  DB_ONE, DB_NONE when there
 * is no such record, or an error.
 */
enum db_status store_record_get(struct store *st, const char *id, bool lock,
				struct store_record *r);

/*
 * Queues the write of r->state and r->data, raising the version (r->version follows).
 * The caller holds the row lock (store_record_get with `lock`), so the version cannot
 * move meanwhile.  `state_changed` resets the state-entry time to r->updated_ms.  `text`
 * is r->data as compact JSON text when the caller has it, else NULL (written here).
 */
enum db_status store_record_update(struct store *st, struct store_record *r, const char *text,
				   bool state_changed);

/* Filters of store_record_list; NULL members do not filter. */
struct store_record_filter {
	const char *kind;
	const char *state, *type, *service, *requester;
	const char *environment; /* changes deployed to it (production: also those naming none) */
	const char *risk;        /* changes whose assessed risk level (data.risk.level) is this */
	const char *priority;    /* fields.priority equal to it (incidents, problems) */
	const char *assignment_group; /* the team it is assigned to */
	bool newest_first;         /* (updated_at, id) descending; the cursor follows the order */
	const char *updated_since; /* RFC 3339 */
	const char *after_ts;      /* cursor: (updated_at, id) strictly after these */
	const char *after_id;
	int limit;
};

/* One record of a list, as the database wrote it. */
struct store_record_row {
	char *data;   /* the stored data, {...}, jsonb's output (owned) */
	char *timers; /* the timers armed in its state, [{"event", "due_at"}] (owned) */
	int version;
	bool shadows; /* data has a "version" or "timers" member */
	char id[32];
	char cursor_ts[40]; /* updated_at, exact, for the next page's filter */
};

/* A page of records. */
struct store_record_rows {
	size_t n;
	struct store_record_row *v; /* (owned) */
};

/* Releases the rows of `rows`. */
void store_record_rows_clear(struct store_record_rows *rows);

/*
 * Lists records into `out` in (updated_at, id) order (descending when f->newest_first).
 * DB_ONE or DB_NONE (nothing matched, out->n == 0), or an error (out empty).
 */
enum db_status store_record_list(struct store *st, const struct store_record_filter *f,
				 struct store_record_rows *out);

/*
 * The timers armed in record `id`'s current state, as an owned JSON array of {"event",
 * "due_at"} (RFC 3339 UTC), soonest first: DB_ONE, or DB_NONE when there is no such record.
 */
enum db_status store_record_timers(struct store *st, const char *id, json_t **out);

/*
 * store_record_timers queued with the transaction's next round trip (its COMMIT, at the
 * latest): the array as JSON text into *out once that round trip succeeded (see
 * store_queue_text; NULL until then, and when there is no such record).
 */
enum db_status store_record_timers_queue(struct store *st, const char *id, char **out);

/*
 * Returns in *missing (owned array) those ids of the JSON array `ids` that are not
 * records of `kind`.
 */
enum db_status store_records_missing(struct store *st, json_t *ids, const char *kind,
				     json_t **missing);

/* Queues replacing the links `from` -`rel`-> * with the ids of the JSON array `to`. */
enum db_status store_links_set(struct store *st, const char *from, const char *rel, json_t *to);

/*
 * The raw history that risk policies learn from, as {"services": {name: COUNTS},
 * "templates": {id: COUNTS}, "teams": {team: COUNTS}} with COUNTS = {"changes",
 * "failures", "incidents_caused"}: changes carried out (closed, failed or in review)
 * since `since_ms` on each of `services` (a JSON array of names), with `template` (may be
 * NULL), and requested by `team_members` (names, counted under `team`; NULL team = none).
 * A change failed when it closed as failed or an incident names it as caused_by.  A change
 * counts from when it was carried out (records.carried_out_at: the write that brought it
 * into those states from another; not moved by later writes).  Reads the counters of
 * migration 0023, kept by triggers, and the changes carried out in the window's partial
 * first day: the cost follows the window's days, not the size of the history.
 */
enum db_status store_change_history(struct store *st, json_t *services, const char *template,
				    const char *team, json_t *team_members, long long since_ms,
				    json_t **out);

/*
 * What the risk backtest replays: every change carried out (closed, failed or in review)
 * in [from_ms, to_ms) (when it entered those states, not its last write), oldest first,
 * as an owned array of {"id", "score", "level", "failed": bool (closed as failed),
 * "incidents": n (incidents naming it as caused_by)} with the risk recorded on the
 * change when it was assessed.  Changes with no recorded risk are only counted, in
 * *unassessed.
 */
enum db_status store_change_outcomes(struct store *st, long long from_ms, long long to_ms,
				     json_t **out, long long *unassessed);

/*
 * The changes whose approvals are requested and undecided (oldest change first, at most
 * 500), as an owned array of records (with "version").
 */
enum db_status store_records_awaiting_approval(struct store *st, json_t **out);

/*
 * The changes that may have caused an incident: those begun (data.started_at, else their
 * booked schedule.start) in [from_ms, to_ms] and since carried out or still implementing,
 * on any of `services` (a JSON array of names), latest first, at most 500, as an owned
 * array of {"id", "title", "services", "state", "result", "review_outcome", "risk_level",
 * "started_ms", "type"} (absent members are null).
 */
enum db_status store_change_suspects(struct store *st, json_t *services, long long from_ms,
				     long long to_ms, json_t **out);

/*
 * Incidents not yet resolved (nor closed) naming a service and a priority, oldest first,
 * at most 1000: an owned array of {"id", "title", "service", "priority", "created_ms"}.
 */
enum db_status store_open_incidents(struct store *st, json_t **out);

#endif /* TRANSOM_STORE_RECORDS_H */
