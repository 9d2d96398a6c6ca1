/*
 * roles.h -- the five roles a token may hold, as a bit set.  Pure.
 */
#ifndef TRANSOM_ROLES_H
#define TRANSOM_ROLES_H

#include <stddef.h>

enum role {
	ROLE_REQUESTER = 1u << 0,      /* submits RFCs */
	ROLE_CAB = 1u << 1,            /* votes on changes */
	ROLE_CHANGE_MANAGER = 1u << 2, /* runs the process, reschedules, breaks glass */
	ROLE_PIPELINE = 1u << 3,       /* CI pipelines asking for deploy windows */
	ROLE_ADMIN = 1u << 4,          /* tokens, audit, everything */
};

#define ROLE_ALL   (ROLE_REQUESTER | ROLE_CAB | ROLE_CHANGE_MANAGER | ROLE_PIPELINE | ROLE_ADMIN)
#define ROLE_COUNT 5

/* Name of the single role bit `r` ("requester", ...), or NULL. */
const char *role_name(unsigned r);

/* Bit of the role called `name`, or 0 when there is none. */
unsigned role_from_name(const char *name);

/*
 * Parses a comma-separated list ("cab,requester") into *mask.  Returns 0, or -1 with
 * the first unknown name copied into `bad` (`badlen` bytes).
 */
int roles_parse(const char *list, unsigned *mask, char *bad, size_t badlen);

/* Writes the names in `mask` as "a,b" into `out`; returns `out`. */
char *roles_format(unsigned mask, char *out, size_t outlen);

#endif /* TRANSOM_ROLES_H */
