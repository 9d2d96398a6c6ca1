/*
 * backtest.c -- the risk backtest use case (see backtest.h): the history from the store,
 * the figures from policy_backtest.
 */
#include "app/backtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "defs/defs.h"
#include "policy/policy.h"
#include "store/records.h"

#define OPEN_END_MS 253402300800000LL /* 10000-01-01T00:00:00Z */

enum tr_code app_backtest_args(const char *from, const char *to, const char *band,
			       struct app_backtest_q *q, struct tr_error *err)
{
	*q = (struct app_backtest_q){0, OPEN_END_MS, 10};
	if (!app_time_arg("from", from, &q->from_ms, err) ||
	    !app_time_arg("to", to, &q->to_ms, err))
		return err->code;
	if (q->to_ms <= q->from_ms)
		return tr_error_set(err, TR_E_BAD_PARAMETER, "to",
				    "'to' must be later than 'from'");
	if (band != NULL) {
		char *end;
		long long b = strtoll(band, &end, 10);
		if (band[0] < '0' || band[0] > '9' || *end != '\0' || b < 1 || b > 1000)
			return tr_error_set(err, TR_E_BAD_PARAMETER, "band",
					    "'band' must be a whole number of points, 1 to 1000");
		q->band = b;
	}
	return TR_OK;
}

int app_backtest_compute(struct store *st, const struct policy_set *set,
			 const struct app_backtest_q *q, json_t **out)
{
	json_t *rows;
	long long unassessed;
	*out = NULL;
	enum db_status s = store_change_outcomes(st, q->from_ms, q->to_ms, &rows, &unassessed);
	if (s < 0)
		return s;
	size_t n = json_array_size(rows);
	struct policy_bt_change *c = calloc(n + 1, sizeof *c);
	if (c == NULL) {
		json_decref(rows);
		return DB_HARD;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(rows, i);
		c[i] = (struct policy_bt_change){
			json_integer_value(json_object_get(r, "score")),
			json_string_value(json_object_get(r, "level")),
			json_is_true(json_object_get(r, "failed")),
			json_integer_value(json_object_get(r, "incidents")) > 0};
	}
	json_t *rep = policy_backtest(set, c, n, q->band);
	free(c);
	json_decref(rows);
	if (rep == NULL)
		return DB_HARD;
	char from[TIME_RFC3339_LEN], to[TIME_RFC3339_LEN];
	time_format_ms(q->from_ms, from);
	time_format_ms(q->to_ms, to);
	json_object_set_new(rep, "from", q->from_ms > 0 ? json_string(from) : json_null());
	json_object_set_new(rep, "to", q->to_ms < OPEN_END_MS ? json_string(to) : json_null());
	json_object_set_new(rep, "unassessed", json_integer(unassessed));
	*out = rep;
	return DB_ONE;
}

enum tr_code app_risk_backtest(struct app_session *s, const struct app_actor *who, const char *from,
			       const char *to, const char *band, json_t **out, struct tr_error *err)
{
	struct app_backtest_q q;
	*out = NULL;
	enum tr_code rc = app_backtest_args(from, to, band, &q, err);
	if (rc != TR_OK)
		return rc;
	struct defs *d = app_session_defs(s);
	int st = app_backtest_compute(s->store, d ? d->policies : NULL, &q, out);
	if (st < 0)
		return app_session_error(s, st, who->request_id, err);
	return TR_OK;
}
