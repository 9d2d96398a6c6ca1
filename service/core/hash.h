/*
 * hash.h -- the string hash of the in-memory tables (FNV-1a, 64 bits): fast on the short
 * keys they hold (change ids, service names, object names), not for untrusted keys that
 * could be chosen to collide (none of those tables is keyed by a client's input alone).
 */
#ifndef TRANSOM_CORE_HASH_H
#define TRANSOM_CORE_HASH_H

#include <stdint.h>

/* FNV-1a 64 of the NUL-terminated string `s`. */
static inline uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

#endif /* TRANSOM_CORE_HASH_H */
