/*
 * streams.c -- resuming a record event stream from the events table (see streams.h).
 */
#include "app/streams.h"

#include <stdlib.h>

#include "events/events.h"
#include "store/effects.h"

void app_stream_resume(struct app_session *s, struct events_sub *sub, long long last)
{
	enum { MAX = 1024 };
	json_t *rows = NULL;
	bool found = false;
	if (store_events_since(s->store, last, MAX + 1, &rows, &found) < 0 || !found ||
	    json_array_size(rows) > MAX) {
		json_decref(rows);
		return;
	}
	size_t n = json_array_size(rows);
	const char **p = calloc(n ? n : 1, sizeof *p);
	if (p != NULL) {
		for (size_t i = 0; i < n; i++)
			p[i] = json_string_value(json_array_get(rows, i));
		events_sub_history(sub, p, n);
	}
	free(p);
	json_decref(rows);
}
