/*
 * timeutil.c -- the date-time and duration parsers behind timeutil.h.
 */
#include "core/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void time_format_ms(long long ms, char out[TIME_RFC3339_LEN])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(out, TIME_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, TIME_RFC3339_LEN - n, ".%03lldZ", ms % 1000);
}

/* Reads exactly `n` digits at *p into *v. */
static bool digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

long long time_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void time_civil_from_days(long long z, int *y, int *m, int *d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

bool time_parse_rfc3339(const char *s, long long *ms)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
	if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
	    !digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return false;
	p++;
	if (!digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') ||
	    !digits(&p, 2, &sec))
		return false;
	if (*p == '.') {
		p++;
		int n = 0;
		for (; isdigit((unsigned char)*p); p++, n++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		if (n == 0)
			return false;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om) || oh > 23 ||
		    om > 59)
			return false;
	} else {
		return false;
	}
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return false;
	long long t = time_days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + sec;
	t -= sign * (oh * 3600LL + om * 60LL);
	*ms = t * 1000 + frac;
	return true;
}

bool time_parse_duration(const char *s, long long *seconds)
{
	const char *p = s;
	long long total = 0;
	bool in_time = false, any = false;
	/* Units in the order they may appear, each at most once. */
	static const char date_units[] = "WD", time_units[] = "HMS";
	const char *next_date = date_units, *next_time = time_units;

	if (*p++ != 'P' || *p == '\0')
		return false;
	while (*p != '\0') {
		if (*p == 'T') {
			if (in_time || p[1] == '\0')
				return false;
			in_time = true;
			p++;
			continue;
		}
		if (!isdigit((unsigned char)*p))
			return false;
		long long n = 0;
		for (; isdigit((unsigned char)*p); p++) {
			n = n * 10 + (*p - '0');
			if (n > 1000000)
				return false;
		}
		const char **next = in_time ? &next_time : &next_date;
		const char *u = strchr(*next, *p);
		if (*p == '\0' || u == NULL)
			return false;
		*next = u + 1;
		static const long long mult[] = {
			['W'] = 604800, ['D'] = 86400, ['H'] = 3600, ['M'] = 60, ['S'] = 1};
		total += n * mult[(unsigned char)*p];
		any = true;
		p++;
	}
	if (!any || total <= 0 || total > 366LL * 86400)
		return false;
	*seconds = total;
	return true;
}
