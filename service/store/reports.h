/*
 * reports.h -- the SQL of the reports (GET /v1/reports/{name}): counts and durations of
 * changes and incidents per time bucket, one statement per report.
 */
#ifndef TRANSOM_STORE_REPORTS_H
#define TRANSOM_STORE_REPORTS_H

#include <jansson.h>

#include "store/store.h"

/* The reports this file answers, in the order of store_report's `which`. */
enum store_report_kind {
	STORE_REPORT_CHANGE_SUCCESS,   /* carried-out changes: succeeded, failed */
	STORE_REPORT_LEAD_TIME,        /* created -> carried out: mean and median hours */
	STORE_REPORT_RISK_LEVELS,      /* changes created, by recorded risk level */
	STORE_REPORT_CHANGE_INCIDENTS, /* incidents opened, and those a change caused */
	STORE_REPORT_APPROVAL_LATENCY, /* entering authorize -> approved: mean, median hours */
	STORE_REPORT_GATE_DECISIONS,   /* deployments asked for, by what became of them */
	STORE_REPORT_COUNT
};

/*
 * One row per bucket of [from_ms, to_ms): `bucket` is "day", "week" (ISO, Monday) or
 * "month", buckets start at UTC midnight, the first is the one holding from_ms.  *rows
 * (owned) is an array of arrays: the bucket's first day ("2026-12-07") then the report's
 * figures (integers, or reals for hours; null for a mean of nothing).  A carried-out
 * change is one closed, failed or in review, counted in the bucket of its last update; it
 * failed when it closed as failed (state or result).  An approval is a change leaving
 * `authorize` for a state other than rejected or cancelled (the audit trail's
 * transitions; a timer's step from `authorize` to itself is neither), counted in the
 * bucket it happened in, its latency measured from when the change last entered
 * `authorize` (within 180 days before the period).  A deployment counts in the bucket it was asked
 * for in: denied at the gate, succeeded, failed, expired or still open.  Returns a db_status
 * (DB_HARD when out of memory).
 */
enum db_status store_report(struct store *st, enum store_report_kind which, const char *bucket,
			    long long from_ms, long long to_ms, json_t **rows);

#endif /* TRANSOM_STORE_REPORTS_H */
