/*
 * fault_steps.h -- helpers of the fault tests: SQL on the test database as its owner,
 * restarting the test cluster, timing requests, running requests from threads.
 * Header-only, like record_steps.h, so that their CHECKs count in the including test.
 */
#ifndef TRANSOM_TEST_FAULT_STEPS_H
#define TRANSOM_TEST_FAULT_STEPS_H

#include <curl/curl.h>
#include <dirent.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../http/lib_http.h"
#include "../unit/harness.h"

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A connection to the test database (as its owner, a superuser); NULL after a CHECK. */
static inline PGconn *db_open(void)
{
	const char *url = getenv("TRANSOM_TEST_DATABASE_URL");
	PGconn *c = PQconnectdb(url ? url : "");
	CHECKF(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Runs `sql` (no result wanted); true when it succeeded. */
static inline bool db_run(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	CHECKF(ok, "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

/*
 * Restarts the test cluster with pg_ctl's shutdown `mode` ("fast" or "immediate"),
 * keeping its options; returns pg_ctl's exit status.
 */
static inline int pg_restart(const char *mode)
{
	char cmd[4096];
	const char *data = getenv("TRANSOM_TEST_PGDATA");
	snprintf(cmd, sizeof cmd,
		 "bin=$(ls -d /usr/lib/postgresql/*/bin | sort -t/ -k5 -n -r | head -n 1); "
		 "%s \"$bin/pg_ctl\" -D '%s' -m %s -w -t 60 -l '%s/server.log' restart "
		 ">/dev/null 2>&1",
		 getuid() == 0 ? "runuser -u postgres --" : "", data ? data : "", mode,
		 data ? data : "");
	return system(cmd);
}

/*
 * Sends `sig` (SIGSTOP or SIGCONT) to every process of the test cluster: the postmaster
 * named in postmaster.pid and its children.  SIGSTOP makes a database that accepts
 * connections and never answers.  Returns the number of processes signalled.
 */
static inline int pg_signal_all(int sig)
{
	char path[1024];
	const char *data = getenv("TRANSOM_TEST_PGDATA");
	snprintf(path, sizeof path, "%s/postmaster.pid", data ? data : "");
	FILE *f = fopen(path, "r");
	long pm = 0;
	if (f == NULL || fscanf(f, "%ld", &pm) != 1 || pm <= 0) {
		if (f != NULL)
			fclose(f);
		return 0;
	}
	fclose(f);
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		long pid = atol(e->d_name), ppid = 0;
		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		FILE *s = fopen(path, "r");
		if (s == NULL)
			continue;
		/* pid (comm) state ppid: comm may hold spaces, so read from the last ')' */
		char line[1024];
		if (fgets(line, sizeof line, s) != NULL && strrchr(line, ')') != NULL)
			sscanf(strrchr(line, ')') + 2, "%*c %ld", &ppid);
		fclose(s);
		if (ppid == pm && kill((pid_t)pid, sig) == 0)
			n++;
	}
	if (d != NULL)
		closedir(d);
	if (kill((pid_t)pm, sig) == 0)
		n++;
	return n;
}

/*
 * Copies header `name` of `r` into `out` (len bytes); false when absent.  Thread-safe,
 * unlike reply_header() and its static buffer: for requests made from threads.
 */
static inline bool header_copy(const struct reply *r, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	for (const char *p = r->headers; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			snprintf(out, len, "%.*s", (int)strcspn(v, "\r\n"), v);
			return true;
		}
	}
	return false;
}

/* Makes `method path` and returns the status; `*secs` the time it took. */
static inline long timed(const struct server *s, const char *method, const char *path,
			 const char *token, const char *body, double *secs, struct reply **keep)
{
	double t0 = now_s();
	struct reply *r = request(s, method, path, token, body, NULL);
	*secs = now_s() - t0;
	long st = r->status;
	if (keep != NULL)
		*keep = r;
	else
		reply_free(r);
	return st;
}

#endif /* TRANSOM_TEST_FAULT_STEPS_H */
