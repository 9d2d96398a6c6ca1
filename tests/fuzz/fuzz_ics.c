/*
 * fuzz_ics.c -- libFuzzer target for the calendar parser and expander (service/calendar/).
 *
 * Parses the input as an iCalendar text and, when it parses, expands it over two bounded
 * ranges (one near its events, one long after) with a small cap.  Besides crashes, leaks,
 * sanitizer reports and timeouts (runaway recurrence rules), it traps when a rejected
 * input has no diagnostic, an expansion fails, or instances are unsorted or end before
 * they start.
 *
 * `make fuzz` builds and runs it on tests/fuzz/corpus/ics/; by hand:
 *   clang -fsanitize=fuzzer,address,undefined -Iservice tests/fuzz/fuzz_ics.c \
 *     service/calendar/ *.c service/wf/ *.c service/expr/ *.c service/policy/ *.c \
 *     service/core/ *.c $(pkg-config --cflags --libs libical jansson) -lm -o fuzz_ics
 * (no spaces before the stars).
 */
#include <stdint.h>
#include <stdlib.h>

#include "calendar/calendar.h"

static void check(json_t *arr)
{
	if (arr == NULL)
		__builtin_trap();
	long long prev = -(1LL << 62);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		long long s = json_integer_value(json_object_get(v, "start_ms"));
		long long e = json_integer_value(json_object_get(v, "end_ms"));
		if (s < prev || e < s || json_object_get(v, "uid") == NULL)
			__builtin_trap();
		prev = s;
	}
	json_decref(arr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		cal_init();
		inited = 1;
	}
	struct diags d = {0};
	struct cal_set *set = cal_parse("fuzz.ics", (const char *)data, size, &d);
	if (set == NULL && d.n == 0 && !d.oom)
		__builtin_trap();
	if (set != NULL) {
		const long long day = 86400LL * 1000;
		const long long y2026 = 1767225600000LL; /* 2026-01-01T00:00:00Z */
		check(cal_expand(set, y2026, y2026 + 400 * day, 500));
		check(cal_expand(set, y2026 + 3650 * day, y2026 + 3700 * day, 50));
	}
	cal_free(set);
	diags_clear(&d);
	return 0;
}
