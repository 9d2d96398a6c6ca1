/*
 * suspects.h -- which changes may have caused an incident (policies/incidents.json,
 * policy/incidents.h), and confirming one as its cause.
 */
#ifndef TRANSOM_APP_SUSPECTS_H
#define TRANSOM_APP_SUSPECTS_H

#include "app/records.h"

/*
 * The ranked suspects of incident `id`: REC_DONE with
 *   {"incident", "service", "at" (when it was opened), "window": {"from", "to"},
 *    "caused_by": id|null, "suspects": [{"rank", "change", "title", "score", "service",
 *    "relation", "distance", "started_at", "minutes_before", "risk", "outcome", "factors",
 *    "reason", "confirmed"}]}
 * -- the changes begun in the policy's window before the incident was opened, on its
 * service or one related to it in the catalog.  An incident naming no service has none.
 * 404 when there is no such incident.  Reads only.
 */
enum tr_code records_suspects(struct rec_ctx *c, const char *id, struct rec_reply *out,
			      struct tr_error *err);

/*
 * Confirms change `change` as the cause of incident `id`: sets its caused_by (an edit of
 * the incident, audited, in the workflow's editable rules; what the risk history learns
 * from), at a version `expect` holds (NULL: any).  The reply is the incident.  404 unknown
 * incident, 422 (rule "reference") an unknown change, 409 when caused_by is not editable
 * in the incident's state, 412 at another version.
 */
enum tr_code records_suspect_confirm(struct rec_ctx *c, const char *id, const char *change,
				     const struct rec_versions *expect, struct rec_reply *out,
				     struct tr_error *err);

#endif /* TRANSOM_APP_SUSPECTS_H */
