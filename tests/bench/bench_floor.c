/*
 * bench_floor.c -- the floor of a GET by id through HTTP on this machine, for the reads
 * row of `make bench` (tests/bench/reads.sh).
 *
 *   bench_floor DATABASE_URL SQL_FILE THREADS
 *
 * A libmicrohttpd server on 127.0.0.1 (an ephemeral port, printed as "listening on
 * http://127.0.0.1:PORT") with THREADS threads, as transomd's transport, each with its
 * own PostgreSQL connection.  It answers GET /.../{id} by running the one statement of
 * SQL_FILE (prepared once per connection, $1 = the path's last segment) and sending the
 * columns of its row, a line each, as the body: 200, or 404 when there is none.  Nothing else: no
 * authentication, no routing, no JSON, no hand-off to another thread.  So the bench
 * client against it, beside transomd against the same SQL, shows what any server of
 * this shape (libmicrohttpd and libpq on the same two cores) reaches against pgbench.
 * Runs until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *database_url;
static char *sql;
static pthread_key_t conn_key; /* each thread's connection, the statement prepared */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void conn_free(void *conn)
{
	PQfinish(conn);
}

/* This thread's connection, made and the statement prepared on first use; or NULL. */
static PGconn *thread_conn(void)
{
	PGconn *conn = pthread_getspecific(conn_key);
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return conn;
	PQfinish(conn);
	conn = PQconnectdb(database_url);
	PGresult *r =
		PQstatus(conn) == CONNECTION_OK ? PQprepare(conn, "floor", sql, 1, NULL) : NULL;
	bool ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "bench_floor: %s", PQerrorMessage(conn));
	PQclear(r);
	if (!ok) {
		PQfinish(conn);
		conn = NULL;
	}
	pthread_setspecific(conn_key, conn);
	return conn;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *body,
			      size_t len)
{
	struct MHD_Response *rep =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (rep == NULL)
		return MHD_NO;
	MHD_add_response_header(rep, "Content-Type", "application/json");
	enum MHD_Result ok = MHD_queue_response(c, status, rep);
	MHD_destroy_response(rep);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	static int seen;
	(void)cls;
	(void)version;
	(void)upload;
	if (*con_cls == NULL) { /* the head: the body, if any, comes next */
		*con_cls = &seen;
		return MHD_YES;
	}
	*upload_size = 0;
	if (strcmp(method, "GET") != 0)
		return answer(c, 405, "", 0);
	const char *id = strrchr(url, '/');
	PGconn *pg = thread_conn();
	if (id == NULL || pg == NULL)
		return answer(c, pg == NULL ? 503 : 404, "", 0);
	id++;
	PGresult *r = PQexecPrepared(pg, "floor", 1, &id, NULL, NULL, 0);
	enum MHD_Result ok;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		ok = answer(c, 500, PQresultErrorMessage(r), strlen(PQresultErrorMessage(r)));
	else if (PQntuples(r) == 0)
		ok = answer(c, 404, "", 0);
	else {
		size_t len = 0;
		for (int k = 0; k < PQnfields(r); k++)
			len += (size_t)PQgetlength(r, 0, k) + 1;
		char *body = malloc(len + 1), *at = body;
		for (int k = 0; body != NULL && k < PQnfields(r); k++) {
			memcpy(at, PQgetvalue(r, 0, k), (size_t)PQgetlength(r, 0, k));
			at += PQgetlength(r, 0, k);
			*at++ = '\n';
		}
		ok = body != NULL ? answer(c, 200, body, len) : MHD_NO;
		free(body);
	}
	PQclear(r);
	return ok;
}

/* The whole of file `path` (owned), or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	size_t n = 0, cap = 4096;
	char *s = malloc(cap);
	for (size_t k; s != NULL && (k = fread(s + n, 1, cap - n - 1, f)) > 0;) {
		n += k;
		if (cap - n - 1 == 0) {
			char *t = realloc(s, cap *= 2);
			if (t == NULL)
				free(s);
			s = t;
		}
	}
	fclose(f);
	if (s != NULL)
		s[n] = '\0';
	return s;
}

int main(int argc, char **argv)
{
	if (argc != 4 || atoi(argv[3]) < 1) {
		fprintf(stderr, "usage: %s DATABASE_URL SQL_FILE THREADS\n", argv[0]);
		return 2;
	}
	database_url = argv[1];
	if ((sql = slurp(argv[2])) == NULL) {
		perror(argv[2]);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	pthread_key_create(&conn_key, conn_free);
	/* transomd's transport: the same flags but for suspend/resume (nothing is handed off) */
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(argv[3]), MHD_OPTION_END);
	const union MHD_DaemonInfo *info =
		d != NULL ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (info == NULL) {
		fprintf(stderr, "bench_floor: cannot listen\n");
		return 1;
	}
	printf("listening on http://127.0.0.1:%u\n", (unsigned)info->port);
	fflush(stdout);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	free(sql);
	return 0;
}
