/*
 * effects.h -- what follows a record change, written in the same transaction: outbox
 * events, live notifications, armed timers, and idempotent-request replays.  The
 * writes are queued (store_queue): they go out with the transaction's COMMIT.
 */
#ifndef TRANSOM_STORE_EFFECTS_H
#define TRANSOM_STORE_EFFECTS_H

#include <jansson.h>
#include <stdbool.h>

#include "store/store.h"

/* Queues `payload` (borrowed) on the outbox under `topic`. */
enum db_status store_outbox_add(struct store *st, const char *topic, const char *record_id,
				json_t *payload);

/*
 * NOTIFY transom_events with `payload` plus "seq", the position of the transaction's last
 * audit event (delivered to listeners on commit).
 */
enum db_status store_notify(struct store *st, json_t *payload);

/*
 * The payloads NOTIFYed with an audit "seq" above `after_seq`, oldest first, at most
 * `max` (a JSON array of strings, owned, in *out).  The newest 10,000 events are kept;
 * *found (may be NULL) says whether an event with seq `after_seq` itself still is.
 */
enum db_status store_events_since(struct store *st, long long after_seq, unsigned max, json_t **out,
				  bool *found);

/* The highest "seq" of the kept events in *seq (0 when none). */
enum db_status store_events_last_seq(struct store *st, long long *seq);

/* Arms (or re-arms) the timer (record, state, event) to fire at `due_ms`. */
enum db_status store_timer_arm(struct store *st, const char *record_id, const char *state,
			       const char *event, long long due_ms);

/* Drops the timer (record, state, event) if armed. */
enum db_status store_timer_cancel(struct store *st, const char *record_id, const char *state,
				  const char *event);

/*
 * Claims one due timer (due_at <= now_ms) that no other transaction holds, deleting it
 * in the caller's transaction.  DB_ONE with the fields filled, DB_NONE when none is due.
 */
enum db_status store_timer_claim(struct store *st, long long now_ms, char record_id[32],
				 char state[128], char event[128]);

/* A stored reply to replay for an Idempotency-Key. */
struct store_idem {
	char method[16];
	char path[512];
	char body_hash[65];
	int status;
	char location[256];
	char etag[64];
	char *body; /* owned */
};

/*
 * Claims Idempotency-Key `key` of `user` for this request (new, or expired after 24 h):
 * DB_ONE.  When the key is held by an earlier request, waits for it to commit, then
 * returns DB_NONE with the stored reply in *prev (prev->body owned by the caller).
 */
enum db_status store_idem_claim(struct store *st, const char *user, const char *key,
				const char *method, const char *path, const char *body_hash,
				struct store_idem *prev);

/* Records the reply for a claimed key (same transaction as the work it answers). */
enum db_status store_idem_finish(struct store *st, const char *user, const char *key, int status,
				 const char *location, const char *etag, const char *body);

#endif /* TRANSOM_STORE_EFFECTS_H */
