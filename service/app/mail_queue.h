/*
 * mail_queue.h -- the queue of calendar invitations as the mail worker works it: claim
 * the next one due, record how its sending went.  Composing it is imip_compose
 * (app/imip.h).
 */
#ifndef TRANSOM_APP_MAIL_QUEUE_H
#define TRANSOM_APP_MAIL_QUEUE_H

#include <stdbool.h>

#include "app/imip.h"
#include "app/session.h"

/*
 * Claims the most overdue invitation due (held for `lease_ms`): true with *job filled;
 * false when none is due or the database failed (logged unless it is down).
 */
bool app_imip_claim(struct app_session *s, long long lease_ms, struct store_imip_job *job);

/*
 * Records an attempt at invitation `id`: sent (`error` NULL), or failed with `error`,
 * due again in `retry_ms`.  A failure to record is logged.
 */
void app_imip_attempt(struct app_session *s, long long id, const char *error, long long retry_ms);

#endif /* TRANSOM_APP_MAIL_QUEUE_H */
