/*
 * test_security_mail.c -- issue 11 item 3: mail votes that cannot be forged.  The real
 * transomd sends invitations to an SMTP sink (tests/http/imip/smtp_sink.py); replies come
 * back through POST /v1/imip (a mail gateway: whole messages and bare REPLYs), the same
 * intake as IMAP.  The server requires a DMARC pass from the trusted MTA
 * (TRANSOM_MAIL_TRUSTED_AUTHSERV_ID=mx.transom.test), so every reply that should count
 * carries "Authentication-Results: mx.transom.test; dmarc=pass".
 *
 * Regressions, each counted as a vote before the fix:
 *   - every member got the same reply address, so one member could answer for another
 *     (ATTENDEE and From of the other member, sent to their own address);
 *   - a reply to a member's address from an earlier SEQUENCE still counted;
 *   - a gateway's bare REPLY needed no received-on address;
 *   - nothing checked Authentication-Results (absent, dmarc=fail, or another authserv-id).
 * The tests share state and run in order.
 */
#include <dirent.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"

static char dir[256], sink_dir[300], policies[300];
static char hsato[128], manager[128], pipeline[128];
static pid_t sink_pid;
static int smtp_port, msg_seq;
static bool ready;
static long long meeting1, meeting2;

#define GOOD_AR                                                                                    \
	"Authentication-Results: mx.transom.test; spf=pass; dmarc=pass header.from=example.com"

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* policies/cab.ics with one CAB meeting at `start` (UTC seconds), one hour. */
static void write_cab(long long start)
{
	char path[700], ics[1024], dt[32], de[32];
	time_t s = (time_t)start, e = (time_t)(start + 3600);
	strftime(dt, sizeof dt, "%Y%m%dT%H%M%SZ", gmtime(&s));
	strftime(de, sizeof de, "%Y%m%dT%H%M%SZ", gmtime(&e));
	snprintf(ics, sizeof ics,
		 "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//test//EN\r\n"
		 "BEGIN:VEVENT\r\nUID:cab-sec@transom.test\r\nDTSTAMP:20260101T000000Z\r\n"
		 "DTSTART:%s\r\nDTEND:%s\r\nSUMMARY:CAB\r\nCATEGORIES:CAB-MEETING\r\n"
		 "END:VEVENT\r\nEND:VCALENDAR\r\n",
		 dt, de);
	snprintf(path, sizeof path, "%s/cab.ics", policies);
	write_file(path, ics);
}

static bool start_sink(void)
{
	char portfile[700], script[1100];
	snprintf(portfile, sizeof portfile, "%s/smtp.port", dir);
	snprintf(script, sizeof script, "%s/tests/http/imip/smtp_sink.py",
		 getenv("TRANSOM_TEST_ROOT") ?: ".");
	fflush(NULL);
	sink_pid = fork();
	if (sink_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl("/usr/bin/python3", "python3", script, portfile, sink_dir, (char *)NULL);
		_exit(127);
	}
	for (long long end = mono_ms() + 10000; mono_ms() < end; usleep(20000)) {
		FILE *f = fopen(portfile, "r");
		if (f != NULL) {
			if (fscanf(f, "%d", &smtp_port) != 1)
				smtp_port = 0;
			fclose(f);
			if (smtp_port > 0)
				return true;
		}
	}
	fprintf(stderr, "cannot start the SMTP sink\n");
	return false;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The invitations captured, as check_invite.py sees them (owned array). */
static json_t *invitations(void)
{
	json_t *all = json_array();
	DIR *d = opendir(sink_dir);
	char *names[512];
	size_t n = 0;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL && n < 512) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0)
			names[n++] = strdup(e->d_name);
	}
	if (d != NULL)
		closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		char cmd[2000], line[65536];
		snprintf(cmd, sizeof cmd,
			 "/usr/bin/python3 %s/tests/http/imip/check_invite.py %s/%s",
			 getenv("TRANSOM_TEST_ROOT") ?: ".", sink_dir, names[i]);
		FILE *p = popen(cmd, "r");
		if (p != NULL && fgets(line, sizeof line, p) != NULL) {
			json_t *j = json_loads(line, 0, NULL);
			if (j != NULL)
				json_array_append_new(all, j);
		}
		if (p != NULL)
			pclose(p);
		free(names[i]);
	}
	return all;
}

/* The REQUEST of `change`'s SEQUENCE `seq` sent to `addr` (owned), waiting up to `ms`. */
static json_t *invitation(const char *change, const char *addr, int seq, long long ms)
{
	char want[64];
	snprintf(want, sizeof want, "transom-vote-%s@", change);
	for (long long end = mono_ms() + ms;; usleep(150000)) {
		json_t *all = invitations(), *v, *found = NULL;
		size_t i;
		json_array_foreach(all, i, v) {
			if (strncmp(json_string_value(json_object_get(v, "uid")) ?: "", want,
				    strlen(want)) == 0 &&
			    strcmp(json_string_value(json_object_get(v, "method")) ?: "",
				   "REQUEST") == 0 &&
			    json_integer_value(json_object_get(v, "sequence")) == seq &&
			    strstr(json_string_value(json_object_get(v, "to")) ?: "", addr))
				found = json_incref(v);
		}
		json_decref(all);
		if (found != NULL || mono_ms() > end)
			return found;
	}
}

/* "mailto:cab+tok@transom.test" -> "cab+tok@transom.test" (into `out`). */
static const char *organizer_of(json_t *inv, char *out, size_t size)
{
	const char *o = json_string_value(json_object_get(inv, "organizer")) ?: "";
	snprintf(out, size, "%s", strncasecmp(o, "mailto:", 7) == 0 ? o + 7 : o);
	return out;
}

/* A bare REPLY of `att` to `org` for the change's event. */
static void bare_reply(char *out, size_t size, const char *uid, int seq, const char *org,
		       const char *att, const char *partstat)
{
	snprintf(out, size,
		 "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sec//EN\r\nMETHOD:REPLY\r\n"
		 "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20300101T000000Z\r\nSEQUENCE:%d\r\n"
		 "ORGANIZER:mailto:%s\r\nATTENDEE;PARTSTAT=%s:mailto:%s\r\nEND:VEVENT\r\n"
		 "END:VCALENDAR\r\n",
		 uid, seq, org, partstat, att);
}

/* A whole reply message (text/calendar) from `from` to `org`, with header `ar` (may be NULL). */
static char *message(const char *ar, const char *from, const char *org, const char *ics)
{
	char *m = NULL;
	if (asprintf(&m,
		     "%s%sFrom: <%s>\r\nTo: <%s>\r\nSubject: Reply\r\n"
		     "Message-ID: <sec-%d-%ld@example.com>\r\nDate: Mon, 7 Dec 2026 00:00:00 "
		     "+0000\r\n"
		     "MIME-Version: 1.0\r\nContent-Type: text/calendar; method=REPLY; "
		     "charset=utf-8\r\n\r\n%s",
		     ar ? ar : "", ar ? "\r\n" : "", from, org, ++msg_seq, (long)getpid(), ics) < 0)
		return NULL;
	return m;
}

/* POSTs a whole message to /v1/imip; returns the reply. */
static struct reply *post_message(const char *msg)
{
	const char *h[] = {"Content-Type: message/rfc822", NULL};
	return request(&srv, "POST", "/v1/imip", pipeline, msg, h);
}

/* The decision of `user`'s vote on `change` ("" when none); static buffer. */
static const char *vote_of(const char *change, const char *user)
{
	static char decision[32];
	char path[96];
	snprintf(path, sizeof path, "/v1/changes/%s/approvals", change);
	struct reply *r = request(&srv, "GET", path, manager, NULL, NULL);
	json_t *v;
	size_t i;
	decision[0] = '\0';
	json_array_foreach(json_object_get(r->json, "votes"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "user")) ?: "", user) == 0)
			snprintf(decision, sizeof decision, "%s",
				 json_string_value(json_object_get(v, "decision")) ?: "");
	reply_free(r);
	return decision;
}

static bool quarantined_as(struct reply *r, const char *reason_part)
{
	bool ok = r->status == 200 && strcmp(reply_str(r, "outcome"), "quarantined") == 0 &&
		  strstr(reply_str(r, "reason"), reason_part) != NULL;
	CHECKF(ok, "want quarantined '%s': %ld %s", reason_part, r->status, body_of(r));
	return ok;
}

static const char *medium_web =
	"{\"title\": \"Rework the checkout page\", \"type\": \"normal\","
	" \"services\": [\"web-frontend\"], \"duration\": \"PT6H\","
	" \"description\": \"new layout\", \"implementation_plan\": \"blue/green deploy\","
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\"}";

/* The number `sql` (one text parameter) counts in the test database; -1 on error. */
static long long sql_count(const char *sql, const char *param)
{
	PGconn *c = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	long long v = -1;
	if (PQstatus(c) == CONNECTION_OK) {
		const char *p[] = {param};
		PGresult *r = PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			v = atoll(PQgetvalue(r, 0, 0));
		else
			fprintf(stderr, "  sql: %s", PQerrorMessage(c));
		PQclear(r);
	}
	PQfinish(c);
	return v;
}

/* ---- the tests ------------------------------------------------------------------------------ */

/* One change per test, so that one hole does not hide the next. */
static char ch_forge[32], ch_bare[32], ch_dmarc[32], ch_stale[32];
static json_t *inv_alice, *inv_bola, *inv_bola_d, *inv_chi, *inv_chi_s;

static bool open_change(char *id, size_t len)
{
	char path[128];
	if (!create("/v1/changes", hsato, medium_web, path, sizeof path))
		return false;
	snprintf(id, len, "%s", strrchr(path, '/') + 1);
	return step(path, hsato, "submit", "authorize");
}

static void test_invitations_per_member(void)
{
	char a[320], b[320], c[320];
	CHECK(ready);
	if (!ready)
		return;
	CHECK(open_change(ch_forge, sizeof ch_forge));
	CHECK(open_change(ch_bare, sizeof ch_bare));
	CHECK(open_change(ch_dmarc, sizeof ch_dmarc));
	CHECK(open_change(ch_stale, sizeof ch_stale));
	inv_alice = invitation(ch_forge, "alice.martin@example.com", 0, 20000);
	inv_bola = invitation(ch_bare, "bola.okafor@example.com", 0, 10000);
	inv_chi = invitation(ch_bare, "chi.nguyen@example.com", 0, 5000);
	inv_bola_d = invitation(ch_dmarc, "bola.okafor@example.com", 0, 5000);
	inv_chi_s = invitation(ch_stale, "chi.nguyen@example.com", 0, 5000);
	CHECK(inv_alice && inv_bola && inv_chi && inv_bola_d && inv_chi_s);
	if (!(inv_alice && inv_bola && inv_chi && inv_bola_d && inv_chi_s))
		return;
	organizer_of(inv_alice, a, sizeof a);
	organizer_of(inv_bola, b, sizeof b);
	organizer_of(inv_chi, c, sizeof c);
	CHECK(strncmp(a, "cab+", 4) == 0 && strstr(a, "@transom.test") != NULL);
	/* Each member has their own reply address. */
	CHECKF(strcasecmp(a, b) != 0 && strcasecmp(a, c) != 0 && strcasecmp(b, c) != 0,
	       "one address for all: %s %s %s", a, b, c);
	/* Only what verification needs is stored: the token's hash, never the token. */
	char token[128];
	snprintf(token, sizeof token, "%.*s", (int)(strchr(a, '@') - (a + 4)), a + 4);
	CHECK_INT(sql_count("SELECT count(*) FROM imip_reply_addresses"
			    " WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')",
			    token),
		  1);
	CHECK_INT(sql_count("SELECT (SELECT count(*) FROM imip_events e"
			    "  WHERE to_jsonb(e)::text ILIKE '%' || $1 || '%')"
			    " + (SELECT count(*) FROM imip_reply_addresses r"
			    "  WHERE to_jsonb(r)::text ILIKE '%' || $1 || '%')"
			    " + (SELECT count(*) FROM imip_invitations i"
			    "  WHERE to_jsonb(i)::text ILIKE '%' || $1 || '%')",
			    token),
		  0);
}

/* Alice answers for Bola through her own address: ATTENDEE and From are Bola's. */
static void test_forged_reply_from_another_member(void)
{
	char org[320], ics[2048];
	if (inv_alice == NULL)
		return;
	const char *uid = json_string_value(json_object_get(inv_alice, "uid"));
	bare_reply(ics, sizeof ics, uid, 0, organizer_of(inv_alice, org, sizeof org),
		   "bola.okafor@example.com", "DECLINED");
	char *m = message(GOOD_AR, "bola.okafor@example.com", org, ics);
	struct reply *r = post_message(m);
	quarantined_as(r, "not the member this address was issued to");
	reply_free(r);
	free(m);
	CHECK_STR(vote_of(ch_forge, "bokafor"), "");
	/* A bare REPLY through the gateway, received on Alice's address, for Chi. */
	bare_reply(ics, sizeof ics, uid, 0, org, "chi.nguyen@example.com", "DECLINED");
	char to[400];
	snprintf(to, sizeof to, "X-Mail-To: %s", org);
	const char *h[] = {"Content-Type: text/calendar; method=REPLY", to, GOOD_AR, NULL};
	r = request(&srv, "POST", "/v1/imip", pipeline, ics, h);
	quarantined_as(r, "not the member this address was issued to");
	reply_free(r);
	CHECK_STR(vote_of(ch_forge, "cnguyen"), "");
	/* Someone never invited (an address Transom does not know) on Alice's address. */
	bare_reply(ics, sizeof ics, uid, 0, org, "mallory@evil.example", "ACCEPTED");
	r = request(&srv, "POST", "/v1/imip", pipeline, ics, h);
	quarantined_as(r, "not the member this address was issued to");
	reply_free(r);
	CHECK_STR(vote_of(ch_forge, "amartin"), "");
}

static void test_bare_reply_needs_received_on_address(void)
{
	char org[320], ics[2048];
	if (inv_bola == NULL)
		return;
	bare_reply(ics, sizeof ics, json_string_value(json_object_get(inv_bola, "uid")), 0,
		   organizer_of(inv_bola, org, sizeof org), "bola.okafor@example.com", "DECLINED");
	const char *h[] = {"Content-Type: text/calendar; method=REPLY", GOOD_AR, NULL};
	struct reply *r = request(&srv, "POST", "/v1/imip", pipeline, ics, h);
	CHECKF(problem_is(r, 400, "X-Mail-To"), "%ld %s", r->status, body_of(r));
	reply_free(r);
	CHECK_STR(vote_of(ch_bare, "bokafor"), "");
	/* Received on another address than the ORGANIZER it answers. */
	char to[400], other[320];
	snprintf(to, sizeof to, "X-Mail-To: %s", organizer_of(inv_chi, other, sizeof other));
	const char *h2[] = {"Content-Type: text/calendar; method=REPLY", to, GOOD_AR, NULL};
	r = request(&srv, "POST", "/v1/imip", pipeline, ics, h2);
	quarantined_as(r, "not the address the reply was received on");
	reply_free(r);
	CHECK_STR(vote_of(ch_bare, "bokafor"), "");
}

static void test_dmarc_required(void)
{
	char org[320], ics[2048];
	if (inv_bola_d == NULL)
		return;
	const char *uid = json_string_value(json_object_get(inv_bola_d, "uid"));
	organizer_of(inv_bola_d, org, sizeof org);
	bare_reply(ics, sizeof ics, uid, 0, org, "bola.okafor@example.com", "TENTATIVE");
	static const struct {
		const char *ar, *why;
	} bad[] = {
		{NULL, "no Authentication-Results"},
		{"Authentication-Results: mx.transom.test; spf=pass; dmarc=fail "
		 "header.from=example.com",
		 "dmarc=fail"},
		{"Authentication-Results: mx.evil.example; dmarc=pass header.from=example.com",
		 "no Authentication-Results"},
		{"Authentication-Results: mx.transom.test; dmarc=pass header.from=evil.example",
		 "header.from"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *m = message(bad[i].ar, "bola.okafor@example.com", org, ics);
		struct reply *r = post_message(m);
		quarantined_as(r, bad[i].why);
		reply_free(r);
		free(m);
		CHECKF(strcmp(vote_of(ch_dmarc, "bokafor"), "") == 0, "counted with %s",
		       bad[i].ar ? bad[i].ar : "no header");
	}
	/* The gateway's bare REPLY: the MTA's header forwarded, or refused the same way. */
	char to[400];
	snprintf(to, sizeof to, "X-Mail-To: %s", org);
	const char *h[] = {"Content-Type: text/calendar; method=REPLY", to, NULL};
	struct reply *r = request(&srv, "POST", "/v1/imip", pipeline, ics, h);
	quarantined_as(r, "no Authentication-Results");
	reply_free(r);
	/* The trusted MTA's pass: counted (an abstention, the change stays open). */
	char *m = message(GOOD_AR, "bola.okafor@example.com", org, ics);
	r = post_message(m);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "outcome"), "vote") == 0, "%ld %s",
	       r->status, body_of(r));
	reply_free(r);
	free(m);
	CHECK_STR(vote_of(ch_dmarc, "bokafor"), "abstain");
}

/* The meeting moves: SEQUENCE 1; the SEQUENCE 0 address of a member no longer counts. */
static void test_old_sequence_address_is_stale(void)
{
	char org0[320], org1[320], ics[2048];
	if (inv_chi_s == NULL)
		return;
	write_cab(meeting2);
	server_signal(&srv, SIGHUP);
	json_t *chi1 = invitation(ch_stale, "chi.nguyen@example.com", 1, 20000);
	CHECK(chi1 != NULL);
	if (chi1 == NULL)
		return;
	const char *uid = json_string_value(json_object_get(chi1, "uid"));
	organizer_of(inv_chi_s, org0, sizeof org0);
	organizer_of(chi1, org1, sizeof org1);
	CHECKF(strcasecmp(org0, org1) != 0, "the same address for SEQUENCE 0 and 1: %s", org0);
	/* SEQUENCE 1 claimed, sent to the SEQUENCE 0 address. */
	bare_reply(ics, sizeof ics, uid, 1, org0, "chi.nguyen@example.com", "DECLINED");
	char *m = message(GOOD_AR, "chi.nguyen@example.com", org0, ics);
	struct reply *r = post_message(m);
	quarantined_as(r, "stale SEQUENCE 0");
	reply_free(r);
	free(m);
	CHECK_STR(vote_of(ch_stale, "cnguyen"), "");
	/* The SEQUENCE 1 address counts. */
	bare_reply(ics, sizeof ics, uid, 1, org1, "chi.nguyen@example.com", "DECLINED");
	m = message(GOOD_AR, "Chi.Nguyen@example.com", org1, ics);
	r = post_message(m);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "outcome"), "vote") == 0, "%ld %s",
	       r->status, body_of(r));
	reply_free(r);
	free(m);
	CHECK_STR(vote_of(ch_stale, "cnguyen"), "reject");
	json_decref(chi1);
}

static void setup(void)
{
	const char *tmp = getenv("TRANSOM_TEST_TMP");
	char cmd[2000];
	snprintf(dir, sizeof dir, "%s/secmail.%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
	mkdir(dir, 0755);
	snprintf(sink_dir, sizeof sink_dir, "%s/sink", dir);
	snprintf(policies, sizeof policies, "%s/policies", dir);
	snprintf(cmd, sizeof cmd, "cp -r %s/policies %s", getenv("TRANSOM_TEST_ROOT") ?: ".",
		 policies);
	if (system(cmd) != 0)
		return;
	long long now = time(NULL);
	meeting1 = (now / 3600 + 24) * 3600;
	meeting2 = meeting1 + 24 * 3600;
	write_cab(meeting1);
	if (!start_sink())
		return;
	static char env[1][200];
	snprintf(env[0], sizeof env[0], "TRANSOM_SMTP_URL=smtp://127.0.0.1:%d", smtp_port);
	const char *senv[] = {env[0],
			      "TRANSOM_SMTP_FROM=cab-bot@transom.test",
			      "TRANSOM_AGENT_DOMAIN=transom.test",
			      "TRANSOM_MAIL_TRUSTED_AUTHSERV_ID=mx.transom.test",
			      "TRANSOM_TIMER_INTERVAL=100",
			      "TRANSOM_MAIL_BACKOFF_MS=200",
			      NULL};
	if (!server_start(&srv, NULL, policies, senv))
		return;
	snprintf(hsato, sizeof hsato, "%s", token_for("hsato", "requester"));
	snprintf(manager, sizeof manager, "%s", token_for("ekowalski", "change_manager"));
	snprintf(pipeline, sizeof pipeline, "%s", token_for("mailgw", "pipeline"));
	ready = true;
}

static void test_setup(void)
{
	setup();
	CHECK(ready);
}

static void test_teardown(void)
{
	json_decref(inv_alice);
	json_decref(inv_bola);
	json_decref(inv_chi);
	json_decref(inv_bola_d);
	json_decref(inv_chi_s);
	if (srv.pid > 0)
		CHECK(server_stop(&srv, 10, NULL) == 0);
	if (sink_pid > 0) {
		kill(sink_pid, SIGTERM);
		waitpid(sink_pid, NULL, 0);
	}
}

TESTS(test_setup, test_invitations_per_member, test_forged_reply_from_another_member,
      test_bare_reply_needs_received_on_address, test_dmarc_required,
      test_old_sequence_address_is_stale, test_teardown)
