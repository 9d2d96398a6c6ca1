/*
 * listen.c -- the LISTEN connection: asynchronous connect, LISTEN, draining NOTIFYs,
 * reconnecting with backoff.
 */
#include "store/listen.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define BACKOFF_MIN_MS      100
#define BACKOFF_MAX_MS      2000
#define CONNECT_DEADLINE_MS 5000 /* for connecting and for the LISTEN reply */

enum lstate {
	LS_DOWN,       /* no connection; the next attempt is at next_attempt_ms */
	LS_CONNECTING, /* PQconnectPoll in progress */
	LS_LISTENING,  /* connected, LISTEN sent, waiting for its reply */
	LS_UP,         /* LISTEN in force */
};

struct store_listener {
	char *conninfo;
	char channel[64];
	PGconn *conn;
	enum lstate state;
	PostgresPollingStatusType polling; /* what PQconnectPoll last asked for */
	bool flush_pending;                /* the LISTEN query is not fully sent yet */
	bool listen_ok;                    /* its reply said COMMAND_OK */
	bool ever_up;
	long long next_attempt_ms;
	long long deadline_ms;
	unsigned backoff_ms;
	char last_error[256];
};

static bool channel_ok(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		bool ok = (c >= 'a' && c <= 'z') || c == '_' || (n > 0 && c >= '0' && c <= '9');
		if (!ok || n >= 63)
			return false;
	}
	return n > 0;
}

struct store_listener *store_listener_new(const char *conninfo, const char *channel)
{
	if (!channel_ok(channel))
		return NULL;
	struct store_listener *l = calloc(1, sizeof *l);
	if (l == NULL)
		return NULL;
	l->conninfo = strdup(conninfo);
	if (l->conninfo == NULL) {
		free(l);
		return NULL;
	}
	snprintf(l->channel, sizeof l->channel, "%s", channel);
	l->backoff_ms = BACKOFF_MIN_MS;
	return l;
}

static void disconnect(struct store_listener *l)
{
	if (l->conn != NULL)
		PQfinish(l->conn);
	l->conn = NULL;
}

void store_listener_free(struct store_listener *l)
{
	if (l == NULL)
		return;
	disconnect(l);
	free(l->conninfo);
	free(l);
}

static void set_error(struct store_listener *l, const char *msg)
{
	snprintf(l->last_error, sizeof l->last_error, "%s", msg ? msg : "");
	for (char *p = l->last_error; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '"')
			*p = *p == '"' ? '\'' : ' ';
	size_t n = strlen(l->last_error);
	while (n > 0 && l->last_error[n - 1] == ' ')
		l->last_error[--n] = '\0';
}

/* Drops the connection; the next attempt is after the current backoff, which grows. */
static enum store_listen_event fail(struct store_listener *l, long long now_ms, const char *why)
{
	bool was_up = l->state == LS_UP;
	set_error(l, why != NULL ? why : l->conn ? PQerrorMessage(l->conn) : "out of memory");
	disconnect(l);
	l->state = LS_DOWN;
	if (was_up)
		l->backoff_ms = BACKOFF_MIN_MS; /* a fresh loss: try again soon */
	l->next_attempt_ms = now_ms + l->backoff_ms;
	if (!was_up)
		l->backoff_ms =
			l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
	return was_up ? STORE_LISTEN_LOST : STORE_LISTEN_FAILED;
}

static enum store_listen_event start_connect(struct store_listener *l, long long now_ms)
{
	/* Keywords before dbname are defaults the connection string may override.  TCP
	 * keepalives notice a silently vanished server on an otherwise idle connection. */
	const char *const keys[] = {"application_name",
				    "keepalives",
				    "keepalives_idle",
				    "keepalives_interval",
				    "keepalives_count",
				    "dbname",
				    NULL};
	const char *const vals[] = {"transomd-events", "1", "10", "5", "3", l->conninfo, NULL};
	l->conn = PQconnectStartParams(keys, vals, 1);
	if (l->conn == NULL || PQstatus(l->conn) == CONNECTION_BAD)
		return fail(l, now_ms, NULL);
	l->state = LS_CONNECTING;
	l->polling = PGRES_POLLING_WRITING; /* as libpq asks for the first round */
	l->deadline_ms = now_ms + CONNECT_DEADLINE_MS;
	return STORE_LISTEN_IDLE;
}

/* Notices (and the FATAL of a server shutting down) go to the log, not to stderr. */
static void on_notice(void *cls, const char *msg)
{
	(void)cls;
	LOG_DEBUG("event=events_listen_notice msg=\"%.*s\"", (int)strcspn(msg, "\n\""), msg);
}

/* Connected: send LISTEN without waiting for the reply. */
static enum store_listen_event send_listen(struct store_listener *l, long long now_ms)
{
	char sql[160];
	PQsetNoticeProcessor(l->conn, on_notice, NULL);
	if (PQsetnonblocking(l->conn, 1) != 0)
		return fail(l, now_ms, NULL);
	/* LISTEN takes an identifier, not a parameter: quote it (the name is also checked). */
	char *ident = PQescapeIdentifier(l->conn, l->channel, strlen(l->channel));
	if (ident == NULL)
		return fail(l, now_ms, NULL);
	snprintf(sql, sizeof sql, "LISTEN %s", ident);
	PQfreemem(ident);
	if (!PQsendQuery(l->conn, sql))
		return fail(l, now_ms, NULL);
	int f = PQflush(l->conn);
	if (f < 0)
		return fail(l, now_ms, NULL);
	l->flush_pending = f == 1;
	l->listen_ok = false;
	l->state = LS_LISTENING;
	l->deadline_ms = now_ms + CONNECT_DEADLINE_MS;
	return STORE_LISTEN_IDLE;
}

/* Reads the LISTEN reply; when complete, LISTEN is in force. */
static enum store_listen_event read_listen_reply(struct store_listener *l, long long now_ms,
						 short revents)
{
	if (l->flush_pending && (revents & POLLOUT)) {
		int f = PQflush(l->conn);
		if (f < 0)
			return fail(l, now_ms, NULL);
		l->flush_pending = f == 1;
	}
	if ((revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(l->conn))
		return fail(l, now_ms, NULL);
	while (!PQisBusy(l->conn)) {
		PGresult *res = PQgetResult(l->conn);
		if (res == NULL) {
			if (!l->listen_ok)
				return fail(l, now_ms, "LISTEN failed");
			bool again = l->ever_up;
			l->state = LS_UP;
			l->ever_up = true;
			l->backoff_ms = BACKOFF_MIN_MS;
			l->last_error[0] = '\0';
			return again ? STORE_LISTEN_UP_AGAIN : STORE_LISTEN_UP;
		}
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			l->listen_ok = true;
		} else {
			char why[256];
			snprintf(why, sizeof why, "%s", PQresultErrorMessage(res));
			PQclear(res);
			return fail(l, now_ms, why);
		}
		PQclear(res);
	}
	if (PQstatus(l->conn) == CONNECTION_BAD)
		return fail(l, now_ms, NULL);
	return STORE_LISTEN_IDLE;
}

/* Listening: read what arrived and hand out the notifications. */
static enum store_listen_event read_notifications(struct store_listener *l, long long now_ms,
						  short revents, store_notify_fn fn, void *cls)
{
	if ((revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(l->conn))
		return fail(l, now_ms, NULL);
	PGnotify *n;
	/* Also without input: the LISTEN reply may have brought some along. */
	while ((n = PQnotifies(l->conn)) != NULL) {
		if (strcmp(n->relname, l->channel) == 0 && fn != NULL)
			fn(cls, n->extra != NULL ? n->extra : "");
		PQfreemem(n);
	}
	while (!PQisBusy(l->conn)) { /* nothing is expected; keep libpq's queue empty */
		PGresult *res = PQgetResult(l->conn);
		if (res == NULL)
			break;
		PQclear(res);
	}
	if (PQstatus(l->conn) == CONNECTION_BAD)
		return fail(l, now_ms, NULL);
	return STORE_LISTEN_IDLE;
}

enum store_listen_event store_listener_run(struct store_listener *l, long long now_ms,
					   short revents, store_notify_fn fn, void *cls)
{
	switch (l->state) {
	case LS_DOWN:
		if (now_ms < l->next_attempt_ms)
			return STORE_LISTEN_IDLE;
		return start_connect(l, now_ms);
	case LS_CONNECTING:
		if (revents != 0) {
			l->polling = PQconnectPoll(l->conn);
			if (l->polling == PGRES_POLLING_FAILED)
				return fail(l, now_ms, NULL);
			if (l->polling == PGRES_POLLING_OK)
				return send_listen(l, now_ms);
		}
		if (now_ms >= l->deadline_ms)
			return fail(l, now_ms, "timed out connecting");
		return STORE_LISTEN_IDLE;
	case LS_LISTENING: {
		enum store_listen_event ev = read_listen_reply(l, now_ms, revents);
		if (ev == STORE_LISTEN_IDLE && l->state == LS_LISTENING && now_ms >= l->deadline_ms)
			return fail(l, now_ms, "timed out waiting for the LISTEN reply");
		return ev;
	}
	case LS_UP:
		return read_notifications(l, now_ms, revents, fn, cls);
	}
	return STORE_LISTEN_IDLE;
}

int store_listener_pollfd(const struct store_listener *l, short *events)
{
	*events = 0;
	if (l->conn == NULL || l->state == LS_DOWN)
		return -1;
	switch (l->state) {
	case LS_CONNECTING:
		*events = l->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		break;
	case LS_LISTENING:
		*events = (short)(POLLIN | (l->flush_pending ? POLLOUT : 0));
		break;
	default:
		*events = POLLIN;
		break;
	}
	return PQsocket(l->conn);
}

int store_listener_timeout_ms(const struct store_listener *l, long long now_ms)
{
	long long at;
	if (l->state == LS_UP)
		return -1;
	at = l->state == LS_DOWN ? l->next_attempt_ms : l->deadline_ms;
	if (at <= now_ms)
		return 0;
	return at - now_ms > 60000 ? 60000 : (int)(at - now_ms);
}

bool store_listener_up(const struct store_listener *l)
{
	return l->state == LS_UP;
}

const char *store_listener_error(const struct store_listener *l)
{
	return l->last_error;
}
