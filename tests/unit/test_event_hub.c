/*
 * test_event_hub.c -- record events without a database: payload parsing, SSE frames,
 * filters, and the hub's ring (resume, lagging subscribers, keep-alives, resync).
 */
#include <stdatomic.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "core/log.h"
#include "events/events.h"

static void test_payload_becomes_one_sse_block(void)
{
	struct events_event ev;
	const char *p = "{\"seq\": 42, \"type\": \"record.created\", \"kind\": \"change\", "
			"\"id\": \"CHG-12\", \"services\": [\"payments\", \"web\"]}";
	CHECK_INT(events_event_parse(p, &ev, NULL), TR_OK);
	CHECK(ev.has_seq && ev.seq == 42);
	CHECK_STR(ev.type, "record.created");
	CHECK_INT(ev.kind, EVENTS_KIND_CHANGE);
	CHECK_INT(ev.nservices, 2);
	CHECK(ev.services != NULL && strcmp(ev.services, "payments") == 0 &&
	      strcmp(ev.services + 9, "web") == 0);
	char want[512];
	snprintf(want, sizeof want, "id: 42\nevent: record.created\ndata: %s\n\n", p);
	CHECK_STR(ev.frame, want);
	CHECK_INT(ev.frame_len, strlen(want));
	events_event_clear(&ev);

	/* Line breaks in the payload would split the data line: it is re-encoded. */
	CHECK_INT(events_event_parse("{\"type\": \"x.y\",\n \"service\": \"db\"}", &ev, NULL),
		  TR_OK);
	CHECK_STR(ev.frame, "event: x.y\ndata: {\"type\":\"x.y\",\"service\":\"db\"}\n\n");
	CHECK(!ev.has_seq && ev.kind == 0 && ev.nservices == 1 && strcmp(ev.services, "db") == 0);
	events_event_clear(&ev);
}

static void test_bad_payloads_are_refused(void)
{
	static const char *const bad[] = {
		"not json",
		"[1]",
		"{\"seq\": 1}",
		"{\"type\": \"two words\"}",
		"{\"type\": \"a\\nb\"}",
		"{\"type\": \"x\", \"seq\": \"7\"}",
		"{\"type\": \"x\", \"seq\": -1}",
		"{\"type\": \"x\", \"services\": \"web\"}",
		"{\"type\": \"x\", \"services\": [\"web\", 3]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct events_event ev;
		struct tr_error err = {0};
		CHECKF(events_event_parse(bad[i], &ev, &err) == TR_E_BAD_REQUEST, "%s", bad[i]);
		CHECK(ev.frame == NULL && err.detail[0] != '\0');
	}
}

static void test_filters_parse_and_match(void)
{
	struct events_filter f;
	struct tr_error err = {0};
	CHECK_INT(events_filter_parse(&f, "change, incident", "payments,web", &err), TR_OK);
	CHECK_INT(f.kinds, EVENTS_KIND_CHANGE | EVENTS_KIND_INCIDENT);
	CHECK_INT(f.nservices, 2);
	CHECK_INT(events_filter_parse(&f, "change,wizard", NULL, &err), TR_E_BAD_PARAMETER);
	CHECK_STR(err.field, "kind");
	CHECK(strstr(err.detail, "wizard") != NULL);
	CHECK_INT(events_filter_parse(&f, "", NULL, &err), TR_E_BAD_PARAMETER);
	CHECK_STR(err.field, "kind");
	CHECK_INT(events_filter_parse(&f, NULL, "web,,db", &err), TR_E_BAD_PARAMETER);
	CHECK_STR(err.field, "service");
	CHECK_INT(events_filter_parse(&f, NULL, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", &err),
		  TR_E_BAD_PARAMETER);
	char longname[100];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK_INT(events_filter_parse(&f, NULL, longname, &err), TR_E_BAD_PARAMETER);

	struct events_event ev;
	CHECK_INT(events_event_parse("{\"type\": \"t\", \"kind\": \"incident\", \"services\": "
				     "[\"db\", \"web\"]}",
				     &ev, NULL),
		  TR_OK);
	CHECK_INT(events_filter_parse(&f, NULL, NULL, &err), TR_OK);
	CHECK(events_filter_match(&f, &ev));
	CHECK_INT(events_filter_parse(&f, "incident", "web", &err), TR_OK);
	CHECK(events_filter_match(&f, &ev));
	CHECK_INT(events_filter_parse(&f, "change,problem", NULL, &err), TR_OK);
	CHECK(!events_filter_match(&f, &ev));
	CHECK_INT(events_filter_parse(&f, NULL, "payments", &err), TR_OK);
	CHECK(!events_filter_match(&f, &ev));
	events_event_clear(&ev);
}

/* ---- the hub, fed by events_hub_publish ------------------------------------------------- */

static atomic_int wakes;

static void count_wake(void *cls)
{
	(void)cls;
	atomic_fetch_add(&wakes, 1);
}

/* Reads what is ready into `out`; returns false when the stream ended. */
static bool drain(struct events_sub *s, char *out, size_t outlen)
{
	size_t n = 0;
	long k;
	char small[7]; /* small reads: frames are handed out in pieces */
	while ((k = events_sub_read(s, small, sizeof small)) > 0) {
		if (n + (size_t)k < outlen) {
			memcpy(out + n, small, (size_t)k);
			n += (size_t)k;
		}
	}
	out[n] = '\0';
	return k != EVENTS_SUB_END;
}

static void publish_seq(struct events_hub *hub, int seq, const char *kind)
{
	char p[128];
	snprintf(p, sizeof p, "{\"seq\": %d, \"type\": \"record.updated\", \"kind\": \"%s\"}", seq,
		 kind);
	CHECK_INT(events_hub_publish(hub, p), TR_OK);
}

static void test_hub_delivers_resumes_and_resyncs(void)
{
	log_level_set(LOG_LEVEL_ERROR); /* the refused payload and the dropped subscriber */
	struct events_hub_opts opts = {.ring_size = 4, .keepalive_ms = 60000};
	struct tr_error err = {0};
	struct events_hub *hub = events_hub_start(&opts, &err);
	CHECK(hub != NULL);
	if (hub == NULL)
		return;
	struct events_filter all = {0}, problems = {.kinds = EVENTS_KIND_PROBLEM};
	struct events_sub *a, *p;
	char buf[4096];
	CHECK_INT(events_sub_new(hub, &all, false, 0, &a, &err), TR_OK);
	CHECK_INT(events_sub_new(hub, &problems, false, 0, &p, &err), TR_OK);
	events_sub_start(a, count_wake, NULL);
	events_sub_start(p, count_wake, NULL);
	CHECK(drain(a, buf, sizeof buf));
	CHECK_STR(buf, "retry: 3000\n\n");

	atomic_store(&wakes, 0);
	publish_seq(hub, 1, "change");
	CHECK_INT(atomic_load(&wakes), 1); /* only the subscriber that wants it */
	CHECK(events_hub_publish(hub, "{\"no\": \"type\"}") == TR_E_BAD_REQUEST);
	CHECK(drain(a, buf, sizeof buf));
	CHECK_STR(buf, "id: 1\nevent: record.updated\ndata: {\"seq\": 1, \"type\": "
		       "\"record.updated\", \"kind\": \"change\"}\n\n");
	CHECK(drain(a, buf, sizeof buf));
	CHECK_STR(buf, ""); /* nothing more: wait for a wake */

	/* Many events it does not want never push the problems subscriber out of the ring. */
	for (int i = 2; i <= 9; i++)
		publish_seq(hub, i, "change");
	CHECK(drain(p, buf, sizeof buf));
	CHECK_STR(buf, "retry: 3000\n\n");
	/* ...but falling behind on events it wants ends the stream. */
	for (int i = 10; i <= 15; i++)
		publish_seq(hub, i, "problem");
	CHECK(!drain(p, buf, sizeof buf));
	events_sub_free(p);

	/* Resuming: after seq 13 (still held) only the newer ones; after seq 3 a resync. */
	struct events_sub *r;
	CHECK_INT(events_sub_new(hub, &all, true, 13, &r, &err), TR_OK);
	CHECK(drain(r, buf, sizeof buf));
	CHECK(strstr(buf, "id: 14\n") != NULL && strstr(buf, "id: 15\n") != NULL);
	CHECK(strstr(buf, "id: 13\n") == NULL && strstr(buf, "resync") == NULL);
	events_sub_free(r);
	CHECK_INT(events_sub_new(hub, &problems, true, 3, &r, &err), TR_OK);
	CHECK(drain(r, buf, sizeof buf));
	CHECK_STR(buf, "retry: 3000\n\nevent: resync\ndata: {\"reason\":\"history-unavailable\"}"
		       "\n\n");
	/* A resync passes every filter. */
	events_hub_resync(hub, "listener-reconnected");
	CHECK(drain(r, buf, sizeof buf));
	CHECK_STR(buf, "event: resync\ndata: {\"reason\":\"listener-reconnected\"}\n\n");
	events_sub_free(r);
	events_sub_free(a);
	events_hub_stop(hub);
}

static void test_hub_keepalives_and_limits(void)
{
	struct events_hub_opts opts = {.keepalive_ms = 30, .max_subscribers = 2};
	struct tr_error err = {0};
	struct events_hub *hub = events_hub_start(&opts, &err);
	CHECK(hub != NULL);
	if (hub == NULL)
		return;
	struct events_filter all = {0};
	struct events_sub *a, *b, *c = NULL;
	char buf[256];
	CHECK_INT(events_sub_new(hub, &all, false, 0, &a, &err), TR_OK);
	CHECK_INT(events_sub_new(hub, &all, false, 0, &b, &err), TR_OK);
	CHECK_INT(events_sub_new(hub, &all, false, 0, &c, &err), TR_E_NOT_READY);
	CHECK(c == NULL);
	events_sub_start(a, count_wake, NULL);
	CHECK(drain(a, buf, sizeof buf));
	atomic_store(&wakes, 0);
	for (int i = 0; i < 100 && atomic_load(&wakes) == 0; i++)
		usleep(10 * 1000);
	CHECK(atomic_load(&wakes) > 0);
	CHECK(drain(a, buf, sizeof buf));
	CHECK_STR(buf, ": keep-alive\n\n");
	events_sub_free(b);
	CHECK_INT(events_sub_new(hub, &all, false, 0, &c, &err), TR_OK); /* room again */
	events_sub_free(c);
	events_sub_free(a);
	events_hub_stop(hub);
}

TESTS(test_payload_becomes_one_sse_block, test_bad_payloads_are_refused,
      test_filters_parse_and_match, test_hub_delivers_resumes_and_resyncs,
      test_hub_keepalives_and_limits)
