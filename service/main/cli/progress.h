/*
 * progress.h -- the live progress line of `transom deploy request --wait`, on stderr.
 *
 * A thread redraws one line ("\r" and erase) every second when stderr is a terminal,
 * while the main thread blocks in a long poll; otherwise it prints a plain line every
 * `interval_s` seconds and when the subject changes, which suits CI logs.  All writes to stderr
 * while it runs go through cli_progress_say(), so that the lines do not tangle.
 */
#ifndef TRANSOM_CLI_PROGRESS_H
#define TRANSOM_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

struct cli_progress_state {
	char subject[160];          /* what is waited for: "CHG-12, DEP-1" */
	long long window_start_ms;  /* wall clock, ms since the epoch; 0: no window known */
	long long window_end_ms;    /* 0: unknown */
	long long started_mono_ms;  /* clock_mono_ms() when waiting began */
	long long deadline_mono_ms; /* clock_mono_ms() when --timeout passes */
	char note[256];             /* "" or the latest trouble ("server unreachable...") */
};

struct cli_progress;

/*
 * Starts the progress thread with state `s` (copied).  `tty`: redraw one line every
 * second; else a plain line now and every `interval_s` seconds.  Returns NULL when no
 * thread could be started: the functions below accept NULL and then print plain lines
 * only from cli_progress_say().
 */
struct cli_progress *cli_progress_start(bool tty, unsigned interval_s,
					const struct cli_progress_state *s);

/* Replaces the state shown (copied); without a terminal, a new subject prints a line. */
void cli_progress_update(struct cli_progress *p, const struct cli_progress_state *s);

/* Prints one whole line on stderr ("transom: ..."), above the live line. */
void cli_progress_say(struct cli_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Stops the thread, erases the live line, frees `p`.  NULL is a no-op. */
void cli_progress_stop(struct cli_progress *p);

/* Writes the line the thread shows for `s` at monotonic `mono_ms` and wall `wall_ms`. */
void cli_progress_text(const struct cli_progress_state *s, long long mono_ms, long long wall_ms,
		       char *out, size_t len);

#endif /* TRANSOM_CLI_PROGRESS_H */
