/*
 * timeutil.h -- RFC 3339 timestamps and ISO 8601 durations.  Pure: no clock.
 */
#ifndef TRANSOM_TIMEUTIL_H
#define TRANSOM_TIMEUTIL_H

#include <stdbool.h>

#define TIME_RFC3339_LEN 32

/* Formats `ms` (since the epoch) as "2026-11-27T04:05:06.789Z" into `out`. */
void time_format_ms(long long ms, char out[TIME_RFC3339_LEN]);

/*
 * Parses an RFC 3339 date-time ("2026-12-05T02:00:00Z", "...+01:00", fractional
 * seconds allowed) into milliseconds since the epoch.  Returns false when malformed or
 * out of range (years 1970-9999).
 */
bool time_parse_rfc3339(const char *s, long long *ms);

/*
 * Parses an ISO 8601 duration ("PT2H", "P1DT30M", "PT45S", "P2W") into seconds.  Years and
 * months are refused (their length varies).  Returns false when malformed, zero-length
 * or longer than 366 days.
 */
bool time_parse_duration(const char *s, long long *seconds);

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), and
 * back.  Pure. */
long long time_days_from_civil(int y, int m, int d);
void time_civil_from_days(long long days, int *y, int *m, int *d);

#endif /* TRANSOM_TIMEUTIL_H */
