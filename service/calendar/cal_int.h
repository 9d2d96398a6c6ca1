/*
 * cal_int.h -- internals shared by the files of service/calendar (not for other modules).
 *
 * libical keeps process-wide state (the builtin timezone cache, lazily expanded zone
 * transitions) and mutates components even when only reading them, so every libical
 * call of the module, in calendar.c and feed.c alike, runs under this one lock.
 */
#ifndef TRANSOM_CAL_INT_H
#define TRANSOM_CAL_INT_H

#include <stdbool.h>
#include <stddef.h>

/* Takes the module lock.  Not recursive: never call a public cal_ function inside. */
void cal_lock_enter(void);

/* Releases the module lock taken by cal_lock_enter(). */
void cal_lock_leave(void);

/*
 * Whether `s` (`n` bytes) may be handed to libical as a zone name: letters, digits, '/',
 * '_', '+', '-', at most 64 bytes, no "..", no leading '/'.  libical 3.0.16 opens
 * /usr/share/zoneinfo/<TZID> as given, so a TZID from a file must pass this first.
 */
bool cal_tzid_safe(const char *s, size_t n);

#endif /* TRANSOM_CAL_INT_H */
