/*
 * roles.c -- role names and bit sets.
 */
#include "auth/roles.h"

#include <stdio.h>
#include <string.h>

static const char *const role_names[ROLE_COUNT] = {"requester", "cab", "change_manager", "pipeline",
						   "admin"};

const char *role_name(unsigned r)
{
	for (unsigned i = 0; i < ROLE_COUNT; i++)
		if (r == 1u << i)
			return role_names[i];
	return NULL;
}

unsigned role_from_name(const char *name)
{
	for (unsigned i = 0; i < ROLE_COUNT; i++)
		if (strcmp(name, role_names[i]) == 0)
			return 1u << i;
	return 0;
}

int roles_parse(const char *list, unsigned *mask, char *bad, size_t badlen)
{
	char name[64];
	const char *p = list;
	*mask = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		unsigned r = 0;
		if (n < sizeof name) {
			memcpy(name, p, n);
			name[n] = '\0';
			r = role_from_name(name);
		}
		if (r == 0) {
			snprintf(bad, badlen, "%.*s", (int)n, p);
			return -1;
		}
		*mask |= r;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

char *roles_format(unsigned mask, char *out, size_t outlen)
{
	size_t pos = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < ROLE_COUNT; i++) {
		if (!(mask & (1u << i)))
			continue;
		int k = snprintf(out + pos, outlen - pos, "%s%s", pos ? "," : "", role_names[i]);
		if (k < 0 || (size_t)k >= outlen - pos)
			break;
		pos += (size_t)k;
	}
	return out;
}
