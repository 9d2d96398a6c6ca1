/*
 * expand_main.c -- prints the instances of one calendar file as JSON lines, for oracle.py.
 *
 *   expand_main FILE FROM_MS TO_MS     (exit 1 and the diagnostics on stderr when invalid)
 *
 * Not built by the Makefile yet; by hand:
 *   cc -std=c17 -D_GNU_SOURCE -Iservice tests/calendar/expand_main.c build/libtransom.a \
 *      $(pkg-config --cflags --libs libical jansson libmicrohttpd libpq libcurl libcrypto) \
 *      -pthread -lm -o build/tests/calendar/expand_main
 */
#include <stdio.h>
#include <stdlib.h>

#include "calendar/calendar.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: expand_main FILE FROM_MS TO_MS\n");
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
	struct wf_diags diags = {0};
	struct cal_set *set = cal_parse(argv[1], buf, len, &diags);
	if (set == NULL) {
		char *s = wf_diags_join(&diags);
		fputs(s != NULL ? s : "out of memory\n", stderr);
		free(s);
		wf_diags_clear(&diags);
		return 1;
	}
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
	wf_diags_clear(&diags);
	return 0;
}
