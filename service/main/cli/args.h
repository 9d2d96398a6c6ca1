/*
 * args.h -- the transom CLI's command line: options declared as data and parsed once per
 * command, and human durations ("30m", "1h30m") with their ISO 8601 and display forms.
 *
 * Pure: no I/O, no clock, no allocation.
 */
#ifndef TRANSOM_CLI_ARGS_H
#define TRANSOM_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_MAX_OPTS 24 /* options one command accepts, the common ones included */
#define CLI_MAX_POS  4  /* positional arguments one command accepts */

struct cli_opt {
	const char *name;    /* "service" for --service */
	const char *metavar; /* "S" when the option takes a value; NULL for a flag */
	const char *help;    /* one line for --help */
};

struct cli_args {
	const struct cli_opt *opts;    /* the table parsed against (borrowed) */
	size_t n_opts;                 /* entries in opts, at most CLI_MAX_OPTS */
	const char *val[CLI_MAX_OPTS]; /* by option index: the value (borrowed from argv), ""
					  for a flag that is present, NULL when absent */
	const char *pos[CLI_MAX_POS];  /* positional arguments, in order */
	size_t n_pos;
};

/*
 * Parses argv[0..argc) against `opts` (n_opts <= CLI_MAX_OPTS) into `a`, which the caller
 * zeroes or fills with defaults first (values already in a->val stay unless the option is
 * given again; the last occurrence wins).  Options are "--name value" or "--name=value";
 * "--" ends them.  With `stop_at_word` parsing stops at the first positional argument
 * and *used says how many arguments were consumed; otherwise at most max_pos (<=
 * CLI_MAX_POS) positionals are collected and *used is argc.
 *
 * Returns 0, or -1 with a one-line reason in `err` ("unknown option --colour", "--state
 * needs a value", "unexpected argument 'x'").
 */
int cli_args_parse(struct cli_args *a, const struct cli_opt *opts, size_t n_opts, int argc,
		   char **argv, bool stop_at_word, size_t max_pos, int *used, char *err,
		   size_t errlen);

/* The value of option `name` ("" for a present flag), or NULL when absent or unknown. */
const char *cli_args_get(const struct cli_args *a, const char *name);

/*
 * Parses a human duration into seconds: one or more <digits><unit> with units d, h, m, s
 * in that order, each at most once ("30m", "1h30m", "45s", "2d"); "0" is zero.  An ISO
 * 8601 duration ("PT30M") is accepted too.  Returns false when malformed or longer than
 * 366 days.
 */
bool cli_duration_parse(const char *s, long long *seconds);

/* Writes `seconds` (> 0) as an ISO 8601 duration: 1800 -> "PT30M", 90000 -> "P1DT1H". */
void cli_duration_iso(long long seconds, char *out, size_t len);

/*
 * Writes `seconds` for people, the two largest units: "2d3h", "1h12m", "3m05s", "45s";
 * negative values count as zero.
 */
void cli_duration_human(long long seconds, char *out, size_t len);

#endif /* TRANSOM_CLI_ARGS_H */
