/*
 * audit_log.c -- SQL of the audit_head and audit_events tables.
 */
#include "store/audit_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static const struct store_stmt stmt_head = {"audit_head", "SELECT seq, hash FROM audit_head", 0};
/*
 * One event: lock the head, insert the event after it, move the head.  In READ COMMITTED
 * the locking read sees the newest head even after waiting for another appender.
 */
static const struct store_stmt stmt_append = {
	"audit_append",
	"WITH head AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),"
	" ins AS (INSERT INTO audit_events (seq, at, actor, record_id, action, request_id,"
	"  content, prev_hash, hash)"
	"  SELECT head.seq + 1, $1::timestamptz, $2, $3, $4, $5, $6, head.hash,"
	"   encode(sha256(convert_to(head.hash || $6, 'UTF8')), 'hex') FROM head"
	"  RETURNING seq, hash)"
	" UPDATE audit_head SET seq = ins.seq, hash = ins.hash FROM ins WHERE audit_head.id = 1",
	6};
static const struct store_stmt stmt_of_record = {
	"audit_of_record",
	"SELECT seq, content FROM audit_events WHERE record_id = $1 ORDER BY seq", 1};
static const struct store_stmt stmt_scan = {
	"audit_scan",
	"SELECT seq, actor, record_id, action, content, prev_hash, hash FROM audit_events"
	" WHERE seq > $1::bigint ORDER BY seq LIMIT 1000",
	1};
static const struct store_stmt stmt_batch = {
	"audit_batch",
	"SELECT seq, actor, record_id, action, content, prev_hash, hash FROM audit_events"
	" WHERE seq > $1::bigint ORDER BY seq LIMIT 2000",
	1};

enum db_status store_audit_append(struct store *st, const struct audit_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *content = audit_content(&ev[i]);
		if (content == NULL)
			return DB_HARD;
		const char *p[] = {ev[i].at,     ev[i].actor,      ev[i].record_id,
				   ev[i].action, ev[i].request_id, content};
		enum db_status s = store_queue(st, &stmt_append, p);
		free(content);
		if (s < 0)
			return s;
	}
	return DB_ONE;
}

enum db_status store_audit_of_record(struct store *st, const char *id, json_t **out)
{
	const char *p[] = {id};
	PGresult *res;
	*out = NULL;
	enum db_status s = store_exec(st, &stmt_of_record, p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		json_t *ev = json_loads(PQgetvalue(res, i, 1), 0, NULL);
		if (ev == NULL)
			continue;
		json_object_set_new(ev, "seq", json_integer(atoll(PQgetvalue(res, i, 0))));
		json_array_append_new(arr, ev);
	}
	PQclear(res);
	*out = arr;
	return arr != NULL ? s : DB_HARD;
}

enum db_status store_audit_head(struct store *st, long long *seq)
{
	PGresult *res;
	*seq = 0;
	enum db_status s = store_exec(st, &stmt_head, NULL, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	*seq = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_ONE;
}

static json_t *bad(long long checked, long long seq, const char *why)
{
	return json_pack("{s:b, s:I, s:{s:I, s:s}}", "ok", 0, "events", (json_int_t)checked,
			 "first_bad", "seq", (json_int_t)seq, "reason", why);
}

enum db_status store_audit_verify(struct store *st, json_t **out)
{
	char prev[CRYPTO_SHA256_HEX_LEN] = AUDIT_GENESIS, after[32], why[160];
	long long expect = 1, head_seq;
	PGresult *res;

	*out = NULL;
	/* Read the head first: events appended while we verify are beyond it. */
	enum db_status s = store_exec(st, &stmt_head, NULL, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	head_seq = atoll(PQgetvalue(res, 0, 0));
	char head_hash[CRYPTO_SHA256_HEX_LEN];
	snprintf(head_hash, sizeof head_hash, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);

	while (expect <= head_seq) {
		snprintf(after, sizeof after, "%lld", expect - 1);
		const char *p[] = {after};
		s = store_exec(st, &stmt_batch, p, &res);
		if (s < 0)
			return s;
		int rows = PQntuples(res);
		for (int i = 0; i < rows && expect <= head_seq; i++, expect++) {
			struct audit_row row = {
				atoll(PQgetvalue(res, i, 0)),
				PQgetvalue(res, i, 1),
				PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
				PQgetvalue(res, i, 3),
				PQgetvalue(res, i, 4),
				PQgetvalue(res, i, 5),
				PQgetvalue(res, i, 6),
			};
			if (!audit_verify_step(&row, expect, prev, why, sizeof why)) {
				PQclear(res);
				*out = bad(expect - 1, expect, why);
				return *out ? DB_ONE : DB_HARD;
			}
			snprintf(prev, sizeof prev, "%s", row.hash);
		}
		PQclear(res);
		if (rows == 0)
			break;
	}
	if (expect <= head_seq)
		*out = bad(expect - 1, expect, "event missing: the chain ends before its head");
	else if (strcmp(prev, head_hash) != 0)
		*out = bad(expect - 1, head_seq, "the chain head does not match the last event");
	else
		*out = json_pack("{s:b, s:I, s:s}", "ok", 1, "events", (json_int_t)head_seq, "head",
				 prev);
	return *out ? DB_ONE : DB_HARD;
}

enum db_status store_audit_head_hash(struct store *st, long long *seq,
				     char hash[CRYPTO_SHA256_HEX_LEN])
{
	PGresult *res;
	*seq = 0;
	snprintf(hash, CRYPTO_SHA256_HEX_LEN, "%s", AUDIT_GENESIS);
	enum db_status s = store_exec(st, &stmt_head, NULL, &res);
	if (s != DB_ONE) {
		if (s >= 0)
			PQclear(res);
		return s < 0 ? s : DB_HARD;
	}
	*seq = atoll(PQgetvalue(res, 0, 0));
	snprintf(hash, CRYPTO_SHA256_HEX_LEN, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return DB_ONE;
}

enum db_status store_audit_scan(struct store *st, long long after, long long upto,
				bool (*fn)(const struct audit_row *row, void *cls), void *cls)
{
	char from[32];
	PGresult *res;
	for (;;) {
		snprintf(from, sizeof from, "%lld", after);
		const char *p[] = {from};
		enum db_status s = store_exec(st, &stmt_scan, p, &res);
		if (s < 0)
			return s;
		int rows = PQntuples(res);
		for (int i = 0; i < rows; i++) {
			struct audit_row row = {
				atoll(PQgetvalue(res, i, 0)),
				PQgetvalue(res, i, 1),
				PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
				PQgetvalue(res, i, 3),
				PQgetvalue(res, i, 4),
				PQgetvalue(res, i, 5),
				PQgetvalue(res, i, 6),
			};
			if ((upto > 0 && row.seq > upto) || !fn(&row, cls)) {
				PQclear(res);
				return DB_NONE;
			}
			after = row.seq;
		}
		PQclear(res);
		if (rows == 0)
			return DB_NONE;
	}
}
