/*
 * imip.c -- SQL of imip_events, imip_invitations, imip_vote_links and mail_messages
 * (imip.h).
 */
#include "store/imip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define EV_COLS                                                                                    \
	"e.change_id, e.uid, e.sequence, " MS("e.sequence_at") ", " MS("e.start_at") ", " MS(      \
		"e.end_at") ", e.status"

static const struct store_stmt stmt_event_lock = {
	"imip_event_lock",
	"SELECT " EV_COLS " FROM imip_events e WHERE e.change_id = $1 FOR UPDATE", 1};

static const struct store_stmt stmt_event_insert = {
	"imip_event_insert",
	"INSERT INTO imip_events (change_id, uid, start_at, end_at)"
	" VALUES ($1, $2, " TS("$3") ", " TS("$4") ")",
	4};

static const struct store_stmt stmt_event_bump = {
	"imip_event_bump",
	"WITH e AS (UPDATE imip_events SET sequence = sequence + 1, sequence_at = now(),"
	"  start_at = " TS("$2") ", end_at = " TS(
		"$3") ", status = 'active', updated_at = now()"
		      "  WHERE change_id = $1 RETURNING sequence)"
		      " UPDATE imip_invitations SET status = 'superseded'"
		      " WHERE change_id = $1 AND status = 'pending' AND sequence < (SELECT "
		      "sequence FROM e)",
	3};

static const struct store_stmt stmt_event_get = {
	"imip_event_get", "SELECT " EV_COLS " FROM imip_events e WHERE e.change_id = $1", 1};

static const struct store_stmt stmt_address_insert = {
	"imip_address_insert",
	"INSERT INTO imip_reply_addresses (token_hash, change_id, member, sequence)"
	" VALUES ($1, $2, $3, $4::int)",
	4};

static const struct store_stmt stmt_address_get = {
	"imip_address_get",
	"SELECT a.member IS NULL, coalesce(a.member, ''), a.sequence, " EV_COLS
	" FROM imip_reply_addresses a JOIN imip_events e USING (change_id)"
	" WHERE a.token_hash = $1",
	1};

static const struct store_stmt stmt_invite = {
	"imip_invite",
	"INSERT INTO imip_invitations (change_id, member, email, sequence, method)"
	" SELECT $1, $2, $3, $4::int, $5 WHERE NOT EXISTS (SELECT 1 FROM imip_invitations"
	"  WHERE change_id = $1 AND member = $2 AND sequence = $4::int AND method = $5)"
	" ON CONFLICT DO NOTHING",
	5};

static const struct store_stmt stmt_closing = {
	"imip_events_closing",
	"SELECT e.change_id, r.state, r.workflow,"
	" coalesce((r.data->'approvals'->>'satisfied')::boolean, false),"
	" jsonb_typeof(r.data->'approvals') = 'object'"
	"  AND (r.data->'approvals'->>'satisfied')::boolean IS NOT TRUE"
	"  AND (r.data->'approvals'->>'rejected')::boolean IS NOT TRUE"
	" FROM imip_events e JOIN records r ON r.id = e.change_id WHERE e.status = 'active'"
	" ORDER BY e.change_id LIMIT 1000",
	0};

static const struct store_stmt stmt_close = {
	"imip_event_close",
	"WITH e AS (UPDATE imip_events SET"
	"  sequence = sequence + CASE WHEN $2::bool THEN 1 ELSE 0 END, sequence_at = now(),"
	"  status = CASE WHEN $2::bool THEN 'cancelled' ELSE 'decided' END, updated_at = now()"
	"  WHERE change_id = $1 AND status = 'active' RETURNING sequence),"
	" s AS (UPDATE imip_invitations SET status = 'superseded'"
	"  WHERE change_id = $1 AND status = 'pending' AND EXISTS (SELECT 1 FROM e) RETURNING 1),"
	" ins AS (INSERT INTO imip_invitations (change_id, member, email, sequence, method)"
	"  SELECT DISTINCT ON (i.member) $1, i.member, i.email, (SELECT sequence FROM e), 'CANCEL'"
	"  FROM imip_invitations i WHERE i.change_id = $1 AND i.status = 'sent'"
	"  AND i.method = 'REQUEST' AND $2::bool AND EXISTS (SELECT 1 FROM e)"
	"  ORDER BY i.member, i.sequence DESC ON CONFLICT DO NOTHING RETURNING 1)"
	" SELECT sequence, (SELECT count(*) FROM ins), (SELECT count(*) FROM s) FROM e",
	2};

static const struct store_stmt stmt_claim = {
	"imip_claim",
	"WITH j AS (SELECT i.id FROM imip_invitations i JOIN imip_events e USING (change_id)"
	"  WHERE i.status = 'pending' AND i.next_attempt_at <= now() AND i.sequence = e.sequence"
	"  ORDER BY i.next_attempt_at, i.id LIMIT 1 FOR UPDATE OF i SKIP LOCKED)"
	" UPDATE imip_invitations i SET attempts = i.attempts + 1,"
	"  next_attempt_at = now() + $1::bigint * interval '1 millisecond'"
	" FROM j, imip_events e WHERE i.id = j.id AND e.change_id = i.change_id"
	" RETURNING i.id, i.member, i.email, i.sequence, i.method, i.attempts, " EV_COLS,
	1};

static const struct store_stmt stmt_attempt = {
	"imip_attempt",
	"UPDATE imip_invitations SET"
	" status = CASE WHEN $2::text IS NULL THEN 'sent' ELSE status END,"
	" sent_at = CASE WHEN $2::text IS NULL THEN now() END,"
	" last_error = $2,"
	" next_attempt_at = CASE WHEN $2::text IS NULL THEN next_attempt_at"
	"  ELSE now() + $3::bigint * interval '1 millisecond' END"
	" WHERE id = $1::bigint AND status = 'pending'",
	3};

static const struct store_stmt stmt_counts = {
	"imip_counts",
	"SELECT json_build_object('pending', count(*) FILTER (WHERE status = 'pending'),"
	" 'sent', count(*) FILTER (WHERE status = 'sent'),"
	" 'superseded', count(*) FILTER (WHERE status = 'superseded'))::text"
	" FROM imip_invitations WHERE $1::text IS NULL OR change_id = $1",
	1};

static const struct store_stmt stmt_link_insert = {
	"imip_link_insert",
	"INSERT INTO imip_vote_links (token_hash, change_id, member, sequence, decision, "
	"expires_at)"
	" VALUES ($1, $2, $3, $4::int, $5, " TS("$6") ")",
	6};

static const struct store_stmt stmt_link_get = {
	"imip_link_get",
	"SELECT l.change_id, l.member, l.sequence, l.decision, " MS(
		"l.expires_at") ","
				" l.used_at IS NOT NULL, e.sequence, e.status"
				" FROM imip_vote_links l JOIN imip_events e USING (change_id) "
				"WHERE l.token_hash = $1",
	1};

static const struct store_stmt stmt_link_use = {
	"imip_link_use",
	"UPDATE imip_vote_links SET used_at = now()"
	" WHERE token_hash = $1 AND used_at IS NULL AND expires_at > " TS("$2") " RETURNING 1",
	2};

static const struct store_stmt stmt_link_release = {
	"imip_link_release", "UPDATE imip_vote_links SET used_at = NULL WHERE token_hash = $1", 1};

static const struct store_stmt stmt_msg_insert = {
	"mail_message_insert",
	"INSERT INTO mail_messages (source, outcome, reason, message_id, from_addr, subject,"
	" change_id, member, sequence, partstat, raw)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::int, $10, decode($11, 'hex')) RETURNING id",
	11};

static const struct store_stmt stmt_seen = {
	"mail_seen", "SELECT 1 FROM mail_messages WHERE message_id = $1 LIMIT 1", 1};

static const struct store_stmt stmt_quarantine = {
	"mail_quarantine",
	"SELECT coalesce(json_agg(x ORDER BY x.id DESC), '[]')::text FROM ("
	" SELECT id, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
	"  AS received_at, source, reason, message_id, from_addr AS \"from\", subject, change_id,"
	"  member, sequence, partstat, octet_length(raw) AS size,"
	"  translate(encode(raw, 'base64'), E'\\n', '') AS raw_base64"
	" FROM mail_messages WHERE outcome = 'quarantined'"
	"  AND ($1::bigint = 0 OR id < $1::bigint) ORDER BY id DESC LIMIT $2::int) x",
	2};

/* ---- events ------------------------------------------------------------------------------ */

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* Reads the event columns starting at column `c` of row `i`. */
static void event_from(PGresult *res, int i, int c, struct store_imip_event *ev)
{
	memset(ev, 0, sizeof *ev);
	copy(ev->change_id, sizeof ev->change_id, PQgetvalue(res, i, c));
	copy(ev->uid, sizeof ev->uid, PQgetvalue(res, i, c + 1));
	ev->sequence = atoi(PQgetvalue(res, i, c + 2));
	ev->sequence_ms = atoll(PQgetvalue(res, i, c + 3));
	ev->start_ms = atoll(PQgetvalue(res, i, c + 4));
	ev->end_ms = atoll(PQgetvalue(res, i, c + 5));
	copy(ev->status, sizeof ev->status, PQgetvalue(res, i, c + 6));
}

struct sync {
	const char *change_id, *uid;
	long long start_ms, end_ms;
	struct store_imip_event *ev;
};

static enum db_status sync_tx(struct store *st, void *cls)
{
	struct sync *y = cls;
	char a[24], b[24];
	snprintf(a, sizeof a, "%lld", y->start_ms);
	snprintf(b, sizeof b, "%lld", y->end_ms);
	const char *p1[] = {y->change_id};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_event_lock, p1, &res), out = DB_NONE;
	if (s < 0)
		return s;
	if (s == DB_NONE) {
		PQclear(res);
		const char *p[] = {y->change_id, y->uid, a, b};
		if ((s = store_exec(st, &stmt_event_insert, p, NULL)) < 0)
			return s;
		out = DB_ONE;
	} else {
		event_from(res, 0, 0, y->ev);
		PQclear(res);
		if (y->ev->start_ms != y->start_ms || y->ev->end_ms != y->end_ms ||
		    strcmp(y->ev->status, "active") != 0) {
			const char *p[] = {y->change_id, a, b};
			if ((s = store_exec(st, &stmt_event_bump, p, NULL)) < 0)
				return s;
			out = DB_ONE;
		}
	}
	if ((s = store_exec(st, &stmt_event_lock, p1, &res)) < 0)
		return s;
	if (s == DB_ONE)
		event_from(res, 0, 0, y->ev);
	PQclear(res);
	return s == DB_ONE ? out : DB_HARD;
}

enum db_status store_imip_event_sync(struct store *st, unsigned retries, const char *change_id,
				     const char *uid, long long start_ms, long long end_ms,
				     struct store_imip_event *ev)
{
	struct sync y = {change_id, uid, start_ms, end_ms, ev};
	return store_tx(st, STORE_READ_COMMITTED, retries, sync_tx, &y);
}

enum db_status store_imip_event_get(struct store *st, const char *change_id,
				    struct store_imip_event *ev)
{
	const char *p[] = {change_id};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_event_get, p, &res);
	if (s < 0)
		return s;
	if (s >= DB_ONE)
		event_from(res, 0, 0, ev);
	PQclear(res);
	return s >= DB_ONE ? DB_ONE : DB_NONE;
}

enum db_status store_imip_address_insert(struct store *st, const char *hash, const char *change_id,
					 const char *member, int sequence)
{
	char seq[16];
	snprintf(seq, sizeof seq, "%d", sequence);
	const char *p[] = {hash, change_id, member, seq};
	return store_exec(st, &stmt_address_insert, p, NULL);
}

enum db_status store_imip_address_get(struct store *st, const char *hash,
				      struct store_imip_address *out)
{
	const char *p[] = {hash};
	PGresult *res;
	memset(out, 0, sizeof *out);
	enum db_status s = store_exec(st, &stmt_address_get, p, &res);
	if (s < 0)
		return s;
	if (s >= DB_ONE) {
		out->shared = PQgetvalue(res, 0, 0)[0] == 't';
		copy(out->member, sizeof out->member, PQgetvalue(res, 0, 1));
		out->sequence = atoi(PQgetvalue(res, 0, 2));
		event_from(res, 0, 3, &out->event);
	}
	PQclear(res);
	return s >= DB_ONE ? DB_ONE : DB_NONE;
}

enum db_status store_imip_invite(struct store *st, const char *change_id, const char *member,
				 const char *email, int sequence, const char *method)
{
	char seq[16];
	snprintf(seq, sizeof seq, "%d", sequence);
	const char *p[] = {change_id, member, email, seq, method};
	return store_exec(st, &stmt_invite, p, NULL);
}

enum db_status store_imip_events_closing(struct store *st, json_t **out)
{
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_closing, NULL, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b, s:b}", "change_id",
						     PQgetvalue(res, i, 0), "state",
						     PQgetvalue(res, i, 1), "workflow",
						     PQgetvalue(res, i, 2), "satisfied",
						     PQgetvalue(res, i, 3)[0] == 't', "awaiting",
						     PQgetvalue(res, i, 4)[0] == 't'));
	PQclear(res);
	*out = arr;
	return arr ? DB_ONE : DB_HARD;
}

enum db_status store_imip_event_close(struct store *st, const char *change_id, bool cancel)
{
	const char *p[] = {change_id, cancel ? "true" : "false"};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_close, p, &res);
	if (s < 0)
		return s;
	PQclear(res);
	return s >= DB_ONE ? DB_ONE : DB_NONE;
}

/* ---- the sender ------------------------------------------------------------------------- */

enum db_status store_imip_claim(struct store *st, long long lease_ms, struct store_imip_job *job)
{
	char lease[24];
	snprintf(lease, sizeof lease, "%lld", lease_ms);
	const char *p[] = {lease};
	PGresult *res;
	memset(job, 0, sizeof *job);
	enum db_status s = store_exec(st, &stmt_claim, p, &res);
	if (s < 0)
		return s;
	if (s >= DB_ONE) {
		job->id = atoll(PQgetvalue(res, 0, 0));
		copy(job->member, sizeof job->member, PQgetvalue(res, 0, 1));
		copy(job->email, sizeof job->email, PQgetvalue(res, 0, 2));
		job->sequence = atoi(PQgetvalue(res, 0, 3));
		copy(job->method, sizeof job->method, PQgetvalue(res, 0, 4));
		job->attempt = atoi(PQgetvalue(res, 0, 5));
		event_from(res, 0, 6, &job->event);
		copy(job->change_id, sizeof job->change_id, job->event.change_id);
	}
	PQclear(res);
	return s >= DB_ONE ? DB_ONE : DB_NONE;
}

enum db_status store_imip_attempt(struct store *st, long long id, const char *error,
				  long long retry_ms)
{
	char ids[24], retry[24];
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(retry, sizeof retry, "%lld", retry_ms);
	const char *p[] = {ids, error, retry};
	return store_exec(st, &stmt_attempt, p, NULL);
}

enum db_status store_imip_counts(struct store *st, const char *change_id, json_t **out)
{
	const char *p[] = {change_id};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_counts, p, &res);
	if (s < 0)
		return s;
	*out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return *out ? DB_ONE : DB_HARD;
}

/* ---- links -------------------------------------------------------------------------------- */

enum db_status store_imip_link_insert(struct store *st, const char *hash, const char *change_id,
				      const char *member, int sequence, const char *decision,
				      long long expires_ms)
{
	char seq[16], exp[24];
	snprintf(seq, sizeof seq, "%d", sequence);
	snprintf(exp, sizeof exp, "%lld", expires_ms);
	const char *p[] = {hash, change_id, member, seq, decision, exp};
	return store_exec(st, &stmt_link_insert, p, NULL);
}

enum db_status store_imip_link_get(struct store *st, const char *hash, struct store_imip_link *out)
{
	const char *p[] = {hash};
	PGresult *res;
	memset(out, 0, sizeof *out);
	enum db_status s = store_exec(st, &stmt_link_get, p, &res);
	if (s < 0)
		return s;
	if (s >= DB_ONE) {
		copy(out->change_id, sizeof out->change_id, PQgetvalue(res, 0, 0));
		copy(out->member, sizeof out->member, PQgetvalue(res, 0, 1));
		out->sequence = atoi(PQgetvalue(res, 0, 2));
		copy(out->decision, sizeof out->decision, PQgetvalue(res, 0, 3));
		out->expires_ms = atoll(PQgetvalue(res, 0, 4));
		out->used = PQgetvalue(res, 0, 5)[0] == 't';
		out->event_sequence = atoi(PQgetvalue(res, 0, 6));
		copy(out->event_status, sizeof out->event_status, PQgetvalue(res, 0, 7));
	}
	PQclear(res);
	return s >= DB_ONE ? DB_ONE : DB_NONE;
}

enum db_status store_imip_link_use(struct store *st, const char *hash, long long now_ms)
{
	char now[24];
	snprintf(now, sizeof now, "%lld", now_ms);
	const char *p[] = {hash, now};
	return store_exec(st, &stmt_link_use, p, NULL);
}

enum db_status store_imip_link_release(struct store *st, const char *hash)
{
	const char *p[] = {hash};
	return store_exec(st, &stmt_link_release, p, NULL);
}

/* ---- messages ---------------------------------------------------------------------------- */

enum db_status store_mail_message_insert(struct store *st, const struct store_mail_message *m,
					 long long *id)
{
	static const char hexd[] = "0123456789abcdef";
	char seq[16];
	char *hex = malloc(2 * m->raw_len + 1);
	if (hex == NULL)
		return DB_HARD;
	for (size_t i = 0; i < m->raw_len; i++) {
		unsigned char c = (unsigned char)m->raw[i];
		hex[2 * i] = hexd[c >> 4];
		hex[2 * i + 1] = hexd[c & 15];
	}
	hex[2 * m->raw_len] = '\0';
	snprintf(seq, sizeof seq, "%d", m->sequence);
	const char *p[] = {m->source,     m->outcome, m->reason,
			   m->message_id, m->from,    m->subject,
			   m->change_id,  m->member,  m->sequence >= 0 ? seq : NULL,
			   m->partstat,   hex};
	PGresult *res;
	enum db_status s = store_exec(st, &stmt_msg_insert, p, &res);
	free(hex);
	if (s < 0)
		return s;
	if (id != NULL)
		*id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_ONE;
}

enum db_status store_mail_seen(struct store *st, const char *message_id)
{
	const char *p[] = {message_id};
	return store_exec(st, &stmt_seen, p, NULL);
}

enum db_status store_mail_quarantine(struct store *st, long long before, unsigned limit,
				     json_t **out)
{
	char b[24], l[16];
	snprintf(b, sizeof b, "%lld", before);
	snprintf(l, sizeof l, "%u", limit);
	const char *p[] = {b, l};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_quarantine, p, &res);
	if (s < 0)
		return s;
	*out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return *out ? DB_ONE : DB_HARD;
}
