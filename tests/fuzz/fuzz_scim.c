/*
 * fuzz_scim.c -- libFuzzer target for the SCIM decoders (service/api/scim_decode.c): the
 * first byte picks what the rest is, as the API gets it -- a `filter` query value (text),
 * a User resource for POST or PUT, or a PatchOp body (JSON, read as the dispatcher reads
 * bodies: duplicates refused, objects only).
 *
 * Besides crashes and sanitizer reports, it traps when an answer breaks the contract: a
 * refusal that is not 400 with a registered SCIM rule and a field, or an acceptance whose
 * strings are not NUL-terminated text of at most what the body held.
 *
 * `make fuzz` builds and runs it on tests/fuzz/corpus/scim/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/scim_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal as the contract says: 400 with one of the SCIM rules, naming a field. */
static void check_refusal(enum tr_code rc, const struct tr_error *err)
{
	bool rule = err->rule_code == TR_R_SCIM_INVALID_FILTER ||
		    err->rule_code == TR_R_SCIM_INVALID_VALUE ||
		    err->rule_code == TR_R_SCIM_INVALID_SYNTAX ||
		    err->rule_code == TR_R_SCIM_INVALID_PATH ||
		    err->rule_code == TR_R_SCIM_NO_TARGET || err->rule_code == TR_R_SCIM_MUTABILITY;
	if (rc != TR_E_BAD_REQUEST || err->code != rc || !rule || err->field[0] == '\0')
		__builtin_trap();
}

/* Every string `w` carries is readable text, no longer than the input. */
static void check_write(const struct app_scim_user_write *w, size_t size)
{
	const char *s[] = {w->user_name, w->display_name, w->email};
	for (size_t i = 0; i < 3; i++)
		if (s[i] != NULL && strlen(s[i]) > size + 600)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = data[0] % 4;
	data++;
	size--;
	struct tr_error err = {0};
	struct app_scim_user_write w;
	struct scim_name_buf buf;
	enum tr_code rc;
	if (mode == 0) {
		char *text = malloc(size + 1), value[256];
		if (text == NULL)
			return 0;
		memcpy(text, data, size);
		text[size] = '\0';
		rc = scim_filter_parse(text, "userName", value, sizeof value, &err);
		if (rc != TR_OK)
			check_refusal(rc, &err);
		else if (strlen(value) >= sizeof value)
			__builtin_trap();
		free(text);
		return 0;
	}
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(body)) {
		json_decref(body);
		return 0;
	}
	if (mode == 3)
		rc = scim_patch_decode(body, "scim-user", &w, &buf, &err);
	else
		rc = scim_user_decode(body, mode == 2, &w, &buf, &err);
	if (rc != TR_OK)
		check_refusal(rc, &err);
	else
		check_write(&w, size);
	json_decref(body);
	return 0;
}
