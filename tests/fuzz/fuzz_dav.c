/*
 * fuzz_dav.c -- libFuzzer target for the DAV XML request parser (service/dav/).
 *
 * The first byte picks PROPFIND (even) or REPORT (odd); the rest is the body.  Besides
 * crashes, leaks and sanitizer reports, it traps when a failed parse has no detail or
 * a successful one has members that must be set left NULL (property names, hrefs, the
 * sync token), and it writes a Multi-Status naming every parsed property and href, so
 * the writer's escaping runs on whatever names the parser lets through.
 *
 * `make fuzz` builds and runs it on tests/fuzz/corpus/dav/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dav/dav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool report = data[0] & 1;
	struct dav_body *b = NULL;
	struct tr_error err = {0};
	enum tr_code rc = dav_body_parse((const char *)data + 1, size - 1, report, &b, &err);
	if (rc != TR_OK) {
		if (b != NULL || err.detail[0] == '\0')
			__builtin_trap();
		return 0;
	}
	if (b == NULL)
		__builtin_trap();
	struct dav_buf out = {0};
	dav_ms_begin(&out);
	dav_ms_response_begin(&out, "/dav/x/");
	dav_ms_propstat_begin(&out);
	for (size_t i = 0; i < b->nprops; i++) {
		if (b->props[i].ns == NULL || b->props[i].name == NULL)
			__builtin_trap();
		dav_ms_prop_empty(&out, b->props[i].ns, b->props[i].name);
		(void)dav_body_wants(b, b->props[i].ns, b->props[i].name);
	}
	dav_ms_propstat_end(&out, 404);
	for (size_t i = 0; i < b->nhrefs; i++) {
		if (b->hrefs[i] == NULL)
			__builtin_trap();
		dav_ms_response_status(&out, b->hrefs[i], 404);
	}
	dav_ms_response_end(&out);
	dav_ms_end(&out, b->kind == DAV_REPORT_SYNC ? b->sync_token : NULL);
	if (b->kind == DAV_REPORT_SYNC && b->sync_token == NULL)
		__builtin_trap();
	free(out.p);
	dav_body_free(b);
	return 0;
}
