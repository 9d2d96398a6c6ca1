/*
 * backtest.h -- the risk backtest use case: replays the carried-out changes of a period
 * against the risk recorded on them and reports how well the policy foretold failures
 * and change-caused incidents (policy_backtest does the arithmetic).
 */
#ifndef TRANSOM_APP_BACKTEST_H
#define TRANSOM_APP_BACKTEST_H

#include <jansson.h>

#include "app/session.h"
#include "core/err.h"

struct store;
struct policy_set;

/* The period and bands of a backtest. */
struct app_backtest_q {
	long long from_ms; /* inclusive; 0 when not given (all history) */
	long long to_ms;   /* exclusive; year 10000 when not given */
	long long band;    /* score band width, 1..1000, default 10 */
};

/*
 * Checks the arguments (each may be NULL = not given): `from` and `to` are RFC 3339
 * times or dates (2026-12-05, midnight UTC), `to` later than `from`; `band` a whole
 * number 1..1000.  TR_OK with *q filled, or TR_E_BAD_PARAMETER naming the field.
 */
enum tr_code app_backtest_args(const char *from, const char *to, const char *band,
			       struct app_backtest_q *q, struct tr_error *err);

/*
 * Runs the backtest of `q` on `st` with the levels of `set` (may be NULL): *out owned,
 * policy_backtest's report plus "from", "to" (RFC 3339, null when open) and
 * "unassessed" (changes carried out with no recorded risk, left out).  A failed
 * enum db_status of `st`, or DB_HARD when out of memory.
 */
int app_backtest_compute(struct store *st, const struct policy_set *set,
			 const struct app_backtest_q *q, json_t **out);

/*
 * GET /v1/risk/backtest: app_backtest_args then app_backtest_compute on session `s`
 * with its policies.  TR_E_BAD_PARAMETER as above; 503 when the database fails.
 */
enum tr_code app_risk_backtest(struct app_session *s, const struct app_actor *who, const char *from,
			       const char *to, const char *band, json_t **out,
			       struct tr_error *err);

#endif /* TRANSOM_APP_BACKTEST_H */
