/*
 * log.h -- one line per event, `key=value`, on stderr.
 *
 * LOG_INFO("event=listening url=%s", url) prints
 *   ts=2026-11-27T03:40:00.123Z level=info event=listening url=...
 * The level is checked before anything is formatted.  Never log tokens or bodies at
 * info level.  Thread-safe: each line is written with one call.
 */
#ifndef TRANSOM_LOG_H
#define TRANSOM_LOG_H

enum log_level {
	LOG_LEVEL_DEBUG, /* request internals, SQL retries */
	LOG_LEVEL_INFO,  /* one line per request and per lifecycle event */
	LOG_LEVEL_WARN,  /* something recoverable went wrong */
	LOG_LEVEL_ERROR  /* something failed that an operator should look at */
};

/* Current threshold; set once at start-up by log_level_set(). */
extern enum log_level log_threshold;

/* Sets the threshold (call before threads start). */
void log_level_set(enum log_level level);

/* Parses "debug|info|warn|error"; returns 0 and sets *out, or -1. */
int log_level_parse(const char *s, enum log_level *out);

/* Writes one line; use the LOG_* macros instead. */
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_AT(level, ...)                                                                         \
	do {                                                                                       \
		if ((level) >= log_threshold)                                                      \
			log_write((level), __VA_ARGS__);                                           \
	} while (0)
#define LOG_DEBUG(...) LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define LOG_INFO(...)  LOG_AT(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_WARN(...)  LOG_AT(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_ERROR(...) LOG_AT(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif /* TRANSOM_LOG_H */
