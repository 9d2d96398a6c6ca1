/*
 * system.h -- the state of the process as /readyz reports it: whether the database
 * answers and accepts writes, asked on a thread and a connection of its own so that the
 * answer comes within about a second even when the database stalls.
 */
#ifndef TRANSOM_APP_SYSTEM_H
#define TRANSOM_APP_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* The check's statement timeout: /readyz answers within about a second. */
#define READY_CHECK_MS 800
/* How long app_database_ready waits for a check. */
#define READY_WAIT_MS 1000

struct app;
struct app_db_check;

/*
 * The check's state and its connection (made on first use), for app_init.  NULL when
 * out of memory.  app_db_check_free (by app_destroy; NULL is a no-op) waits a little for
 * a check still out, else leaves the state to it.
 */
struct app_db_check *app_db_check_new(const struct config *cfg);
void app_db_check_free(struct app_db_check *c);

/*
 * Does the database answer and accept writes?  Starts a check (unless one is out: a
 * stalled database holds at most one thread) and waits for a result at most
 * READY_WAIT_MS.  True when it does; otherwise `why` (len bytes) says what is wrong.
 * Thread-safe.
 */
bool app_database_ready(struct app *app, char *why, size_t len);

#endif /* TRANSOM_APP_SYSTEM_H */
