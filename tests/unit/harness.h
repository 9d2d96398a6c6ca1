/*
 * harness.h -- a tiny test harness for Transom's unit and HTTP tests.
 *
 * A test file defines `static void test_xxx(void)` functions and lists them in
 * `TESTS(test_a, test_b, ...)`, which expands to main().  CHECK() records a
 * failure with file:line and the expression (or a formatted message) and goes
 * on; the process ends with the line "N passed, N failed" and exits non-zero
 * when anything failed.  A test counts as failed when any of its CHECKs failed.
 */
#ifndef TRANSOM_TEST_HARNESS_H
#define TRANSOM_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int harness_failures_in_test; /* CHECK failures in the running test */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			harness_failures_in_test++;                                                \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                  \
	} while (0)

#define CHECKF(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			harness_failures_in_test++;                                                \
			fprintf(stderr, "  %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

#define CHECK_INT(got, want)                                                                       \
	do {                                                                                       \
		long long got_ = (long long)(got), want_ = (long long)(want);                      \
		CHECKF(got_ == want_, "got %lld, want %lld", got_, want_);                         \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *got_ = (got), *want_ = (want);                                         \
		CHECKF(got_ != NULL && want_ != NULL && strcmp(got_, want_) == 0,                  \
		       "got \"%s\", want \"%s\"", got_ ? got_ : "(null)",                          \
		       want_ ? want_ : "(null)");                                                  \
	} while (0)

struct harness_test {
	const char *name;
	void (*fn)(void);
};

/*
 * A suite's main may check more once its tests ran (a server's exit status: a sanitizer's
 * report makes it non-zero).  Those checks fail the run: the process then exits 1.
 */
static void harness_after_tests(void)
{
	if (harness_failures_in_test != 0) {
		fprintf(stderr, "FAIL: %d check(s) after the tests failed\n",
			harness_failures_in_test);
		fflush(NULL);
		_exit(1);
	}
}

static inline int harness_run(const char *suite, const struct harness_test *tests, size_t n)
{
	const char *only = getenv("TEST_ONLY");
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (only != NULL && strstr(tests[i].name, only) == NULL)
			continue;
		harness_failures_in_test = 0;
		tests[i].fn();
		if (harness_failures_in_test == 0) {
			passed++;
			fprintf(stderr, "ok   %s/%s\n", suite, tests[i].name);
		} else {
			failed++;
			fprintf(stderr, "FAIL %s/%s\n", suite, tests[i].name);
		}
	}
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	harness_failures_in_test = 0;
	atexit(harness_after_tests);
	return failed == 0 ? 0 : 1;
}

/* Up to 64 tests per file; the expansion trick keeps each file's list in one place. */
#define TESTS(...)                                                                                 \
	int main(void)                                                                             \
	{                                                                                          \
		void (*fns_[])(void) = {__VA_ARGS__};                                              \
		static const char names_[] = #__VA_ARGS__;                                         \
		return harness_main_(__FILE__, fns_, sizeof fns_ / sizeof fns_[0], names_);        \
	}

/* Splits the stringified list "test_a, test_b" into names and runs them. */
static inline int harness_main_(const char *file, void (*const *fns)(void), size_t n,
				const char *names)
{
	struct harness_test tests[256];
	static char buf[8192];
	const char *base = strrchr(file, '/');
	char suite[128];
	size_t i = 0;
	char *save = NULL;

	snprintf(suite, sizeof suite, "%s", base ? base + 1 : file);
	char *dot = strrchr(suite, '.');
	if (dot != NULL)
		*dot = '\0';
	snprintf(buf, sizeof buf, "%s", names);
	for (char *tok = strtok_r(buf, ", \t\n", &save); tok != NULL && i < n && i < 256;
	     tok = strtok_r(NULL, ", \t\n", &save), i++)
		tests[i] = (struct harness_test){tok, fns[i]};
	return harness_run(suite, tests, i);
}

#endif /* TRANSOM_TEST_HARNESS_H */
