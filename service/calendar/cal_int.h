/*
 * cal_int.h -- internals shared by the files of service/calendar (not for other modules).
 *
 * libical keeps process-wide state (the builtin timezone cache, lazily expanded zone
 * transitions) and mutates components even when only reading them, so every libical
 * call of the module, in calendar.c and feed.c alike, runs under this one lock.
 */
#ifndef TRANSOM_CAL_INT_H
#define TRANSOM_CAL_INT_H

/* Takes the module lock.  Not recursive: never call a public cal_ function inside. */
void cal_lock_enter(void);

/* Releases the module lock taken by cal_lock_enter(). */
void cal_lock_leave(void);

#endif /* TRANSOM_CAL_INT_H */
