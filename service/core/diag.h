/*
 * diag.h -- validation diagnostics shared by every definition loader (workflows,
 * policies, calendars, planner configuration): a list of errors, each naming the file, the
 * JSON path and the column at fault, so all loaders report alike (pure).
 */
#ifndef TRANSOM_CORE_DIAG_H
#define TRANSOM_CORE_DIAG_H

#include <stdbool.h>
#include <stddef.h>

/* One validation error. */
struct diag {
	char *file;    /* as given to the loader, e.g. "workflows/change-normal.json" */
	char *path;    /* JSON path, e.g. "transitions[3].when"; "" for the whole file */
	int column;    /* 1-based column in the expression (or JSON text); 0 when none */
	char *message; /* short, lowercase, e.g. "unknown field 'risk.lvl'" */
};

/* A list of diagnostics.  Zero-initialise; release with diags_clear(). */
struct diags {
	struct diag *v;
	size_t n, cap;
	bool oom; /* out of memory: at least one diagnostic could not be recorded */
};

/*
 * Appends one diagnostic (message printf-formatted, cut at 1023 bytes); out of memory sets
 * d->oom.  Used by every definition loader, so all report alike.
 */
void diags_add(struct diags *d, const char *file, const char *path, int column, const char *fmt,
	       ...) __attribute__((format(printf, 5, 6)));

/* Releases every diagnostic and resets `d` to empty; NULL is a no-op. */
void diags_clear(struct diags *d);

/*
 * Formats `d` as one line without newline,
 *   "workflows/change-normal.json: transitions[3].when: column 12: unknown field 'x'"
 * ("column N: " omitted when 0, "path: " omitted when empty).  snprintf semantics:
 * returns the length the full line needs; writes at most `size` bytes, NUL-terminated.
 */
int diag_format(const struct diag *d, char *buf, size_t size);

/* Every diagnostic of `d`, one formatted line each, '\n'-terminated.  Owned; NULL on OOM. */
char *diags_join(const struct diags *d);

#endif
