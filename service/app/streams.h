/*
 * streams.h -- the record event streams' use of the database: resuming a stream from the
 * events table when the hub's ring no longer holds the client's Last-Event-ID.
 */
#ifndef TRANSOM_APP_STREAMS_H
#define TRANSOM_APP_STREAMS_H

#include "app/session.h"

struct events_sub;

/*
 * Feeds `sub` the events after `last` from the events table (store/effects.h) when it
 * still holds that event and at most a ring's worth after it; otherwise (or when the
 * database fails) the stream starts with a resync block.
 */
void app_stream_resume(struct app_session *s, struct events_sub *sub, long long last);

#endif /* TRANSOM_APP_STREAMS_H */
