/*
 * scim_decode.h -- SCIM 2.0 requests (RFC 7644) decoded for app/scim.h: a `filter`, a User
 * resource (POST, PUT) and a PatchOp body, each into typed values; pure (no I/O), so
 * fuzzed (tests/fuzz/fuzz_scim.c).
 *
 * Every refusal is 400 with a registered TR_R_SCIM_* rule (its SCIM scimType) and the
 * field at fault.  Attribute names are case-insensitive and may carry the core User
 * schema's URN prefix, as SCIM allows.
 */
#ifndef TRANSOM_API_SCIM_DECODE_H
#define TRANSOM_API_SCIM_DECODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app/scim.h"
#include "core/err.h"

/* Room for a display name composed of givenName and familyName, kept with the write. */
struct scim_name_buf {
	char text[600];
	bool display_given; /* displayName was set: a name object does not override it */
};

/*
 * Sets a SCIM refusal in `err`: 400 (409 for TR_R_SCIM_UNIQUENESS) by `rule`, naming
 * `field`, with `detail`.  Returns the HTTP class code.
 */
enum tr_code scim_refuse(struct tr_error *err, enum tr_code rule, const char *field,
			 const char *detail);

/*
 * A filter `attr eq "value"` on attribute `attr` (the only form Transom filters on) into
 * `value` (valuelen bytes).  TR_OK, or 400 scim_invalid_filter naming `filter`.
 */
enum tr_code scim_filter_parse(const char *filter, const char *attr, char *value, size_t valuelen,
			       struct tr_error *err);

/*
 * A User resource `body` (a JSON object) into `w`, its strings borrowed from `body` or
 * `buf`.  `replace` (PUT): the display name and e-mail left out are cleared, userName is
 * optional; otherwise (POST) userName is required.  `active` may be a boolean or
 * "True"/"False".  Members Transom does not keep are ignored.  TR_OK, or 400
 * scim_invalid_value naming the field.
 */
enum tr_code scim_user_decode(json_t *body, bool replace, struct app_scim_user_write *w,
			      struct scim_name_buf *buf, struct tr_error *err);

/*
 * A PatchOp `body` for user `id` into `w` (strings borrowed from `body` or `buf`): ops
 * add, replace, remove on active, displayName, name, name.formatted, emails,
 * emails[...].value; userName only to `id`; externalId, name.givenName, name.familyName
 * accepted and not kept.  TR_OK, or 400 with scim_invalid_syntax (not a PatchOp, bad
 * op), scim_invalid_path (another attribute), scim_no_target (remove without path),
 * scim_mutability (userName changed) or scim_invalid_value.
 */
enum tr_code scim_patch_decode(json_t *body, const char *id, struct app_scim_user_write *w,
			       struct scim_name_buf *buf, struct tr_error *err);

#endif /* TRANSOM_API_SCIM_DECODE_H */
