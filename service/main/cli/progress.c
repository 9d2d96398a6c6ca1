/*
 * progress.c -- the live progress line: a thread redrawing it while a long poll blocks.
 */
#include "main/cli/progress.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "main/cli/args.h"
#include "main/cli/client.h"

struct cli_progress {
	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below, and stderr while it runs */
	pthread_cond_t wake;
	bool tty;
	bool stopping;
	bool drawn; /* a live line is on the terminal */
	unsigned interval_s;
	struct cli_progress_state s;
};

void cli_progress_text(const struct cli_progress_state *s, long long mono_ms, long long wall_ms,
		       char *out, size_t len)
{
	char a[32], b[32], c[32];
	size_t n;

	cli_duration_human((mono_ms - s->started_mono_ms) / 1000, b, sizeof b);
	cli_duration_human((s->deadline_mono_ms - mono_ms + 999) / 1000, c, sizeof c);
	n = (size_t)snprintf(out, len, "waiting (%s): ", s->subject);
	if (n >= len)
		return;
	if (s->window_start_ms > 0 && wall_ms < s->window_start_ms) {
		cli_duration_human((s->window_start_ms - wall_ms + 999) / 1000, a, sizeof a);
		n += (size_t)snprintf(out + n, len - n, "window opens in %s", a);
	} else if (s->window_start_ms > 0 &&
		   (s->window_end_ms == 0 || wall_ms < s->window_end_ms)) {
		n += (size_t)snprintf(out + n, len - n, "window open, waiting for the decision");
	} else {
		n += (size_t)snprintf(out + n, len - n, "no window yet");
	}
	if (n < len)
		n += (size_t)snprintf(out + n, len - n, ", elapsed %s, timeout in %s", b, c);
	if (s->note[0] && n < len)
		snprintf(out + n, len - n, "; %s", s->note);
}

/* Columns of the terminal on stderr, or 80. */
static size_t columns(void)
{
	struct winsize w;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 10)
		return w.ws_col;
	return 80;
}

/* Draws the line (caller holds the lock). */
static void draw(struct cli_progress *p)
{
	char line[512];
	cli_progress_text(&p->s, clock_mono_ms(), clock_wall_ms(), line, sizeof line);
	if (p->tty) {
		size_t w = columns() - 1; /* a wrapped line cannot be redrawn with \r */
		if (strlen(line) > w)
			line[w] = '\0';
		fprintf(stderr, "\r\033[K%s", line);
		p->drawn = true;
	} else {
		fprintf(stderr, "transom: %s\n", line);
	}
	fflush(stderr);
}

static void *run(void *arg)
{
	struct cli_progress *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		draw(p);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += p->tty ? 1 : (time_t)p->interval_s;
		while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct cli_progress *cli_progress_start(bool tty, unsigned interval_s,
					const struct cli_progress_state *s)
{
	struct cli_progress *p = calloc(1, sizeof *p);
	pthread_condattr_t ca;
	if (p == NULL)
		return NULL;
	p->tty = tty;
	p->interval_s = interval_s > 0 ? interval_s : 30;
	p->s = *s;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	return p;
}

void cli_progress_update(struct cli_progress *p, const struct cli_progress_state *s)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	bool news = strcmp(p->s.subject, s->subject) != 0;
	p->s = *s;
	if (news && !p->tty)
		draw(p); /* a plain line when what is waited for becomes known */
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_say(struct cli_progress *p, const char *fmt, ...)
{
	va_list ap;
	if (p != NULL) {
		pthread_mutex_lock(&p->lock);
		if (p->drawn)
			fputs("\r\033[K", stderr);
	}
	va_start(ap, fmt);
	fputs("transom: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (p != NULL) {
		if (p->tty && p->drawn)
			draw(p);
		fflush(stderr);
		pthread_mutex_unlock(&p->lock);
	}
}

void cli_progress_stop(struct cli_progress *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
