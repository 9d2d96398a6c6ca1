/*
 * expand_main.c -- prints the instances of one calendar file as JSON lines, for oracle.py.
 *
 *   expand_main FILE FROM_MS TO_MS [MODE [SITE_ZONE]]
 *
 * MODE "policy" (default: cal_parse_in, Transom's own files) or "freeze" (cal_parse_as a
 * foreign calendar read as hard freezes for every service, as a remote calendar is);
 * SITE_ZONE the site zone of floating times and dates.  Exit 1 and the diagnostics on
 * stderr when invalid; warnings go to stderr as "warning: ..." lines.
 *
 * Not built by the Makefile yet; by hand:
 *   cc -std=c17 -D_GNU_SOURCE -Iservice tests/calendar/expand_main.c build/libtransom.a \
 *      $(pkg-config --cflags --libs libical jansson libmicrohttpd libpq libcurl libcrypto) \
 *      -pthread -lm -o build/tests/calendar/expand_main
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar/calendar.h"

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: expand_main FILE FROM_MS TO_MS [policy|freeze [ZONE]]\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (f == NULL) {
		perror(argv[1]);
		return 2;
	}
	static char buf[1 << 20];
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);

	cal_init();
	struct diags diags = {0};
	struct cal_zones zones = {NULL, argc > 5 ? argv[5] : NULL};
	bool freeze = argc > 4 && strcmp(argv[4], "freeze") == 0;
	json_t *all = json_string("*");
	struct cal_set *set =
		freeze ? cal_parse_as(argv[1], buf, len, CAL_AS_FREEZE, true, all, &zones, &diags)
		       : cal_parse_in(argv[1], buf, len, &zones, &diags);
	if (set == NULL) {
		char *s = diags_join(&diags);
		fputs(s != NULL ? s : "out of memory\n", stderr);
		free(s);
		diags_clear(&diags);
		json_decref(all);
		return 1;
	}
	size_t wi;
	json_t *w;
	json_array_foreach(cal_warnings(set), wi, w)
		fprintf(stderr, "warning: %s\n", json_string_value(w));
	json_t *arr = cal_expand(set, atoll(argv[2]), atoll(argv[3]), 0);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (s != NULL)
			puts(s);
		free(s);
	}
	json_decref(arr);
	cal_free(set);
	json_decref(all);
	diags_clear(&diags);
	return 0;
}
