/*
 * comments.h -- comments on a record (a change, incident or problem): written to its audit
 * trail as "commented" events, so they are hash-chained and append-only like the rest of
 * its history, and announced on the live event stream.
 */
#ifndef TRANSOM_APP_COMMENTS_H
#define TRANSOM_APP_COMMENTS_H

#include "app/records.h"

/* Longest comment, in bytes. */
#define COMMENT_MAX 4000

/*
 * Adds comment `text` (borrowed) by c->actor to record `id` of `kind`.  On success
 * out->outcome is REC_CREATED and out->body (owned) {"record", "user", "text", "at"}.
 * Refuses 422 (field "text") for an empty text or one longer than COMMENT_MAX bytes, 404
 * when there is no such record.  Any signed-in role may comment.
 */
enum tr_code records_comment_add(struct rec_ctx *c, const char *kind, const char *id,
				 const char *text, struct rec_reply *out, struct tr_error *err);

/*
 * The comments on record `id` of `kind`, oldest first: out->body (owned) {"id", "items":
 * [{"seq", "user", "text", "at"}]}.  404 when there is no such record.
 */
enum tr_code records_comments_list(struct rec_ctx *c, const char *kind, const char *id,
				   struct rec_reply *out, struct tr_error *err);

#endif
