/*
 * test_imip.c -- voting by e-mail against real components: the real transomd, an SMTP
 * sink (tests/http/imip/smtp_sink.py, aiosmtpd) that keeps every message, and a real IMAP
 * server (dovecot, started here with a private configuration) holding reply fixtures in
 * the styles of Outlook, Gmail and Thunderbird (tests/http/imip/make_reply.py).
 *
 * Invitations are checked with independent parsers (tests/http/imip/check_invite.py:
 * Python's email package and python3-icalendar).  The steps: one invitation per CAB
 * member; a moved CAB meeting sends SEQUENCE+1; replies through IMAP become votes (the
 * change moves on at quorum) or land in quarantine (stale, spoofed, unknown token,
 * garbage); signed links (confirm page, vote, single use, forged, superseded, expired);
 * POST /v1/imip with a bare REPLY and with message/rfc822; a withdrawal sends CANCEL; an
 * SMTP outage delays invitations without losing them.  The tests share state and run in
 * order.
 */
#include <dirent.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"

static char dir[256], sink_dir[300], mail_new[400], policies[300], clock_file[300];
static char hsato[128], manager[128], admin[128], pipeline[128], cab_member[128];
static pid_t sink_pid, dovecot_pid;
static int smtp_port, imap_port;
static char change_a[32], change_b[32], change_c[32];
static int mail_seq;
static bool ready;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t n = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &n) != 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static bool port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((unsigned short)port),
				.sin_addr.s_addr = htonl(0x7f000001)};
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static pid_t spawn(const char *const *argv, const char *log)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		FILE *f = log ? freopen(log, "w", stdout) : NULL;
		(void)f;
		dup2(1, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* Writes policies/cab.ics with one CAB meeting at `start` (UTC seconds), one hour. */
static void write_cab(long long start)
{
	char path[700], ics[1024], dt[32], de[32];
	time_t s = (time_t)start, e = (time_t)(start + 3600);
	strftime(dt, sizeof dt, "%Y%m%dT%H%M%SZ", gmtime(&s));
	strftime(de, sizeof de, "%Y%m%dT%H%M%SZ", gmtime(&e));
	snprintf(ics, sizeof ics,
		 "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//test//EN\r\n"
		 "BEGIN:VEVENT\r\nUID:cab-test@transom.test\r\nDTSTAMP:20260101T000000Z\r\n"
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
	const char *argv[] = {"/usr/bin/python3", script, portfile, sink_dir, NULL};
	sink_pid = spawn(argv, NULL);
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

/* Root may not run dovecot's login processes: they run as its own users then. */
static bool start_dovecot(void)
{
	char conf[8192], path[300], cmd[2400], log[400];
	bool root = geteuid() == 0;
	/* getpw* return one static buffer: copy what is needed at once. */
	struct passwd *dv = root ? getpwnam("dovecot") : NULL;
	unsigned uid = dv ? dv->pw_uid : geteuid(), gid = dv ? dv->pw_gid : getegid();
	if (root && (dv == NULL || getpwnam("dovenull") == NULL)) {
		fprintf(stderr, "dovecot users missing\n");
		return false;
	}
	struct passwd *me = getpwuid(geteuid());
	imap_port = free_port();
	snprintf(path, sizeof path, "%s/dovecot", dir);
	mkdir(path, 0755);
	snprintf(cmd, sizeof cmd,
		 "mkdir -p %s/run %s/state %s/mail/agent/new %s/mail/agent/cur "
		 "%s/mail/agent/tmp %s/home",
		 path, path, path, path, path, path);
	if (system(cmd) != 0)
		return false;
	snprintf(conf, sizeof conf,
		 "base_dir = %s/run\nstate_dir = %s/state\nlog_path = %s/log\n"
		 "instance_name = transom-imip-%d\nprotocols = imap\nlisten = 127.0.0.1\n"
		 "ssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n"
		 "first_valid_uid = 1\ndefault_internal_user = %s\ndefault_internal_group = %s\n"
		 "default_login_user = %s\nmail_location = maildir:%s/mail/%%u\n"
		 "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%%u "
		 "%s/passwd\n}\nuserdb {\n  driver = static\n  args = uid=%u gid=%u "
		 "home=%s/home/%%u\n}\nservice imap-login {\n  chroot =\n  inet_listener imap {\n"
		 "    address = 127.0.0.1\n    port = %d\n  }\n  inet_listener imaps {\n"
		 "    port = 0\n  }\n}\nservice anvil {\n  chroot =\n}\n",
		 path, path, path, (int)getpid(), root ? "dovecot" : me->pw_name,
		 root ? "dovecot" : me->pw_name, root ? "dovenull" : me->pw_name, path, path, uid,
		 gid, path, imap_port);
	snprintf(log, sizeof log, "%s/dovecot.conf", path);
	write_file(log, conf);
	snprintf(log, sizeof log, "%s/passwd", path);
	write_file(log, "agent:{PLAIN}agent-secret\n");
	snprintf(mail_new, sizeof mail_new, "%s/mail/agent/new", path);
	if (root) {
		snprintf(cmd, sizeof cmd, "chown -R dovecot:dovecot %s/mail %s/home", path, path);
		if (system(cmd) != 0)
			return false;
	}
	snprintf(conf, sizeof conf, "%s/dovecot.conf", path);
	snprintf(log, sizeof log, "%s/dovecot.out", path);
	const char *argv[] = {"/usr/sbin/dovecot", "-F", "-c", conf, NULL};
	dovecot_pid = spawn(argv, log);
	for (long long end = mono_ms() + 10000; mono_ms() < end; usleep(50000))
		if (port_open(imap_port))
			return true;
	fprintf(stderr, "cannot start dovecot (see %s)\n", log);
	return false;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* ---- reading the sink ---------------------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every captured message, checked by check_invite.py: an owned array of its JSON lines. */
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
			if (j != NULL) {
				json_object_set_new(j, "file", json_string(names[i]));
				json_array_append_new(all, j);
			}
		}
		if (p != NULL)
			pclose(p);
		free(names[i]);
	}
	return all;
}

/* The captured messages about `change` with `method` and `sequence` (-1: any). */
static json_t *about(json_t *all, const char *change, const char *method, int sequence)
{
	json_t *out = json_array(), *v;
	size_t i;
	json_array_foreach(all, i, v) {
		const char *uid = json_string_value(json_object_get(v, "uid")) ?: "";
		char want[64];
		snprintf(want, sizeof want, "transom-vote-%s@", change);
		if (strncmp(uid, want, strlen(want)) == 0 &&
		    strcmp(json_string_value(json_object_get(v, "method")) ?: "", method) == 0 &&
		    (sequence < 0 ||
		     json_integer_value(json_object_get(v, "sequence")) == sequence))
			json_array_append(out, v);
	}
	return out;
}

/* Waits up to `ms` for `n` messages about `change`; returns them (owned). */
static json_t *wait_for(const char *change, const char *method, int sequence, size_t n,
			long long ms)
{
	json_t *got = NULL;
	for (long long end = mono_ms() + ms;; usleep(100000)) {
		json_t *all = invitations();
		json_decref(got);
		got = about(all, change, method, sequence);
		json_decref(all);
		if (json_array_size(got) >= n || mono_ms() > end)
			return got;
	}
}

/* The invitation of `got` sent to `addr` (borrowed), or NULL. */
static json_t *to(json_t *got, const char *addr)
{
	json_t *v;
	size_t i;
	json_array_foreach(got, i, v)
		if (strstr(json_string_value(json_object_get(v, "to")) ?: "", addr) != NULL)
			return v;
	return NULL;
}

/* "mailto:cab+tok@transom.test" -> "cab+tok@transom.test" */
static const char *organizer_of(json_t *inv)
{
	const char *o = json_string_value(json_object_get(inv, "organizer")) ?: "";
	return strncasecmp(o, "mailto:", 7) == 0 ? o + 7 : o;
}

/* ---- replies -------------------------------------------------------------------------------- */

/* Writes a reply fixture to `out` (make_reply.py). */
static void make_reply(const char *style, const char *out, const char *from, const char *att,
		       const char *cn, const char *org, const char *uid, int seq,
		       const char *partstat, const char *msgid)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/python3 %s/tests/http/imip/make_reply.py '%s' '%s' '%s' '%s' '%s' "
		 "'%s' '%s' %d '%s' '%s'",
		 getenv("TRANSOM_TEST_ROOT") ?: ".", style, out, from, att, cn, org, uid, seq,
		 partstat, msgid);
	CHECKF(system(cmd) == 0, "%s", cmd);
}

/*
 * Delivers a reply into the agent's maildir as an MTA does: written (and chowned) in tmp/,
 * then renamed into new/ (a valid maildir name), where dovecot may take it at once.
 */
static void deliver(const char *style, const char *from, const char *att, const char *cn,
		    const char *org, const char *uid, int seq, const char *partstat)
{
	char path[1000], tmp[1000], name[128], msgid[128], cmd[1200];
	snprintf(msgid, sizeof msgid, "reply-%d-%ld@%s.example", ++mail_seq, (long)getpid(), style);
	snprintf(name, sizeof name, "%ld.M%dP%ld.transom-test", (long)time(NULL), mail_seq,
		 (long)getpid());
	snprintf(path, sizeof path, "%s/%s", mail_new, name);
	snprintf(tmp, sizeof tmp, "%.*s/tmp/%s", (int)(strlen(mail_new) - 4), mail_new, name);
	make_reply(style, tmp, from, att, cn, org, uid, seq, partstat, msgid);
	if (geteuid() == 0) {
		snprintf(cmd, sizeof cmd, "chown dovecot:dovecot '%s'", tmp);
		CHECK(system(cmd) == 0);
	}
	CHECK(rename(tmp, path) == 0);
}

/* The approvals of change `id` (owned). */
static json_t *approvals(const char *id)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/changes/%s/approvals", id);
	struct reply *r = request(&srv, "GET", path, manager, NULL, NULL);
	json_t *j = json_incref(r->json);
	reply_free(r);
	return j;
}

/* The channel of `user`'s vote on `id` ("" when none); static buffer. */
static const char *vote_of(const char *id, const char *user, char *decision, size_t dlen)
{
	static char channel[32];
	json_t *a = approvals(id), *v;
	size_t i;
	channel[0] = '\0';
	if (decision)
		decision[0] = '\0';
	json_array_foreach(json_object_get(a, "votes"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "user")) ?: "", user) == 0) {
			snprintf(channel, sizeof channel, "%s",
				 json_string_value(json_object_get(v, "channel")) ?: "");
			if (decision)
				snprintf(decision, dlen, "%s",
					 json_string_value(json_object_get(v, "decision")) ?: "");
		}
	json_decref(a);
	return channel;
}

static const char *wait_vote(const char *id, const char *user, long long ms)
{
	const char *ch = "";
	for (long long end = mono_ms() + ms; mono_ms() < end; usleep(100000))
		if (*(ch = vote_of(id, user, NULL, 0)))
			break;
	return ch;
}

static json_t *quarantine(void)
{
	struct reply *r = request(&srv, "GET", "/v1/mail/quarantine", manager, NULL, NULL);
	json_t *items = json_incref(json_object_get(r->json, "items"));
	CHECKF(r->status == 200, "quarantine: %ld %s", r->status, body_of(r));
	reply_free(r);
	return items ? items : json_array();
}

static bool quarantined(json_t *items, const char *reason_part)
{
	json_t *v;
	size_t i;
	json_array_foreach(items, i, v)
		if (strstr(json_string_value(json_object_get(v, "reason")) ?: "", reason_part))
			return true;
	return false;
}

static const char *state_of(const char *id)
{
	static char st[64];
	char path[96];
	snprintf(path, sizeof path, "/v1/changes/%s", id);
	struct reply *r = request(&srv, "GET", path, manager, NULL, NULL);
	snprintf(st, sizeof st, "%s", reply_str(r, "state"));
	reply_free(r);
	return st;
}

static const char *medium_web =
	"{\"title\": \"Rework the <checkout> page\", \"type\": \"normal\","
	" \"services\": [\"web-frontend\"], \"duration\": \"PT6H\","
	" \"description\": \"new layout\", \"implementation_plan\": \"blue/green deploy\","
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\"}";

static bool submit(char *id, size_t len)
{
	char path[128];
	if (!create("/v1/changes", hsato, medium_web, path, sizeof path))
		return false;
	snprintf(id, len, "%s", strrchr(path, '/') + 1);
	return step(path, hsato, "submit", "authorize");
}

static const char *const cab[] = {"alice.martin@example.com", "bola.okafor@example.com",
				  "chi.nguyen@example.com", "dieter.schmidt@example.com",
				  "maria.petrov@example.com"};

/* ---- the tests ----------------------------------------------------------------------------- */

static long long meeting1, meeting2;

static void test_invitations(void)
{
	CHECK(ready);
	if (!ready)
		return;
	CHECK(submit(change_a, sizeof change_a));
	CHECK(submit(change_b, sizeof change_b));
	json_t *got = wait_for(change_a, "REQUEST", 0, 5, 15000);
	CHECK_INT(json_array_size(got), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *inv = to(got, cab[i]);
		CHECKF(inv != NULL, "no invitation to %s", cab[i]);
		if (inv == NULL)
			continue;
		CHECKF(json_is_true(json_object_get(inv, "ok")), "%s",
		       json_dumps(inv, JSON_COMPACT));
		CHECK_STR(json_string_value(json_object_get(inv, "ct_method")), "REQUEST");
		CHECK(json_is_true(json_object_get(inv, "raw_has_method")));
		CHECK_STR(json_string_value(json_object_get(inv, "rsvp")), "TRUE");
		CHECK_STR(json_string_value(json_object_get(inv, "partstat")), "NEEDS-ACTION");
		CHECK(strncmp(organizer_of(inv), "cab+", 4) == 0);
		CHECK(strstr(json_string_value(json_object_get(inv, "summary")) ?: "",
			     "Accept = approve") != NULL);
		CHECK_INT(json_array_size(json_object_get(inv, "links")), 2);
		char want[64];
		time_t m = (time_t)meeting1;
		strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S+00:00", gmtime(&m));
		CHECK_STR(json_string_value(json_object_get(inv, "dtstart")), want);
	}
	json_t *layout = json_object_get(json_array_get(got, 0), "layout");
	CHECK_STR(json_string_value(json_array_get(layout, 0)),
		  "multipart/alternative(text/plain,text/html,text/calendar)");
	CHECK_STR(json_string_value(json_array_get(layout, 1)), "application/ics");
	/* The requester (hsato) is not asked; one per member, not more. */
	json_decref(got);
	got = wait_for(change_a, "REQUEST", -1, 6, 1000);
	CHECK_INT(json_array_size(got), 5);
	json_decref(got);
	got = wait_for(change_b, "REQUEST", 0, 5, 10000);
	CHECK_INT(json_array_size(got), 5);
	json_decref(got);
}

/*
 * Issue 17.7: a member who gets the invitation by e-mail and also has the cab-votes
 * calendar over CalDAV sees one event: both carry the same UID (one per change, as RFC
 * 6638 attendee copies of one scheduling object do).
 */
static void test_same_uid_over_mail_and_caldav(void)
{
	json_t *got = wait_for(change_a, "REQUEST", -1, 1, 15000);
	json_t *inv = to(got, "alice.martin@example.com");
	const char *uid = json_string_value(json_object_get(inv, "uid"));
	CHECKF(uid != NULL && *uid != '\0', "no invitation to alice: %s",
	       json_dumps(got, JSON_COMPACT));
	char token[128], pw[64] = "", cred[160], auth[460], line[400];
	snprintf(token, sizeof token, "%s", token_for("amartin", "cab"));
	struct reply *r = post("/v1/me/app-passwords", token, "{\"label\": \"both\"}");
	CHECKF(r->status == 201, "app password: %ld %s", r->status, body_of(r));
	snprintf(pw, sizeof pw, "%s", reply_str(r, "password"));
	reply_free(r);
	snprintf(cred, sizeof cred, "amartin:%s", pw);
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(cred), o = 0;
	for (size_t i = 0; i < n; i += 3) { /* base64 */
		unsigned v = (unsigned char)cred[i] << 16;
		v |= i + 1 < n ? (unsigned char)cred[i + 1] << 8 : 0;
		v |= i + 2 < n ? (unsigned char)cred[i + 2] : 0;
		line[o++] = a[(v >> 18) & 63];
		line[o++] = a[(v >> 12) & 63];
		line[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
		line[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	line[o] = '\0';
	snprintf(auth, sizeof auth, "Authorization: Basic %s", line);
	const char *h[] = {auth, "Depth: 1", "Content-Type: application/xml; charset=utf-8", NULL};
	r = request(
		&srv, "REPORT", "/dav/calendars/amartin/cab-votes/", NULL,
		"<c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">"
		"<d:prop><c:calendar-data/></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\">"
		"<c:comp-filter name=\"VEVENT\"/></c:comp-filter></c:filter></c:calendar-query>",
		h);
	snprintf(line, sizeof line, "UID:%s", uid ? uid : "?");
	CHECKF(r->status == 207 && r->body != NULL && strstr(r->body, change_a) != NULL,
	       "cab-votes over CalDAV: %ld %s", r->status, body_of(r));
	CHECKF(r->body != NULL && strstr(r->body, line) != NULL,
	       "the CalDAV copy of %s does not carry the e-mail's %s: %s", change_a, line,
	       body_of(r));
	reply_free(r);
	json_decref(got);
}

static void test_reschedule(void)
{
	/* The CAB meeting moves: SEQUENCE 1, everyone asked again. */
	write_cab(meeting2);
	server_signal(&srv, SIGHUP);
	json_t *got = wait_for(change_a, "REQUEST", 1, 5, 15000);
	CHECK_INT(json_array_size(got), 5);
	json_t *inv = to(got, "chi.nguyen@example.com");
	char want[64];
	time_t m = (time_t)meeting2;
	strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S+00:00", gmtime(&m));
	CHECK_STR(inv ? json_string_value(json_object_get(inv, "dtstart")) : NULL, want);
	json_decref(got);
	got = wait_for(change_b, "REQUEST", 1, 5, 10000);
	CHECK_INT(json_array_size(got), 5);
	json_decref(got);
}

static void test_imap_replies(void)
{
	json_t *all = invitations();
	json_t *a1 = about(all, change_a, "REQUEST", 1), *a0 = about(all, change_a, "REQUEST", 0);
	json_t *cn = to(a1, "chi.nguyen@"), *mp = to(a1, "maria.petrov@"),
	       *ds0 = to(a0, "dieter.schmidt@"), *am = to(a1, "alice.martin@");
	CHECK(cn && mp && ds0 && am);
	if (!(cn && mp && ds0 && am)) {
		json_decref(all);
		return;
	}
	const char *uid = json_string_value(json_object_get(cn, "uid"));
	const char *org = organizer_of(cn);
	/* Outlook, From an alias of the attendee (another case). */
	deliver("outlook", "Chi Nguyen <C.Nguyen@Example.com>", "chi.nguyen@example.com",
		"Chi Nguyen", org, uid, 1, "ACCEPTED");
	/* A stale reply to SEQUENCE 0 (Gmail). */
	deliver("gmail", "Dieter Schmidt <dieter.schmidt@example.com>",
		"dieter.schmidt@example.com", "Dieter Schmidt", organizer_of(ds0), uid, 0,
		"DECLINED");
	/* Spoofed: someone else answering for Alice (through Alice's own reply address). */
	deliver("thunderbird", "Mallory <mallory@evil.example>", "alice.martin@example.com",
		"Alice Martin", organizer_of(am), uid, 1, "DECLINED");
	/* An unknown agent token. */
	deliver("gmail", "Alice Martin <alice.martin@example.com>", "alice.martin@example.com",
		"Alice Martin", "cab+aaaaaaaaaaaaaaaaaaaaaaaaaa@transom.test", uid, 1, "DECLINED");
	/* Garbage. */
	deliver("garbage", "Bola Okafor <bola.okafor@example.com>", "", "", "", "", 0, "");
	CHECK_STR(wait_vote(change_a, "cnguyen", 15000), "email");
	json_t *q = NULL;
	for (long long end = mono_ms() + 10000; mono_ms() < end; usleep(200000)) {
		json_decref(q);
		q = quarantine();
		if (json_array_size(q) >= 4)
			break;
	}
	CHECKF(json_array_size(q) == 4, "quarantine has %zu", json_array_size(q));
	CHECK(quarantined(q, "stale SEQUENCE 0"));
	CHECK(quarantined(q, "From is not the ATTENDEE"));
	CHECK(quarantined(q, "unknown agent address"));
	CHECK(quarantined(q, "not an iTIP REPLY"));
	json_t *first = json_array_get(q, 0);
	CHECK(json_integer_value(json_object_get(first, "size")) > 0);
	CHECK(json_string_length(json_object_get(first, "raw_base64")) > 0);
	json_decref(q);
	/* Not counted: no votes by them. */
	CHECK_STR(vote_of(change_a, "dschmidt", NULL, 0), "");
	CHECK_STR(vote_of(change_a, "amartin", NULL, 0), "");
	CHECK_STR(state_of(change_a), "authorize");
	/* Thunderbird from Maria (to her reply address): the quorum (2) is met. */
	deliver("thunderbird", "Maria Petrov <maria.petrov@example.com>",
		"maria.petrov@example.com", "Maria Petrov", organizer_of(mp), uid, 1, "ACCEPTED");
	CHECK_STR(wait_vote(change_a, "mpetrov", 15000), "email");
	CHECK_STR(state_of(change_a), "scheduled");
	/* The quarantine is for change managers and admins only. */
	struct reply *r = request(&srv, "GET", "/v1/mail/quarantine", cab_member, NULL, NULL);
	CHECK_INT(r->status, 403);
	reply_free(r);
	json_decref(a0);
	json_decref(a1);
	json_decref(all);
}

/* The link token of `inv`'s link `i` (0 approve, 1 decline). */
static const char *link_of(json_t *inv, size_t i)
{
	return json_string_value(json_array_get(json_object_get(inv, "links"), i)) ?: "none";
}

static void test_links(void)
{
	json_t *all = invitations();
	json_t *b1 = about(all, change_b, "REQUEST", 1), *b0 = about(all, change_b, "REQUEST", 0);
	json_t *bo = to(b1, "bola.okafor@"), *bo0 = to(b0, "bola.okafor@");
	CHECK(bo && bo0);
	if (!(bo && bo0)) {
		json_decref(all);
		return;
	}
	char path[256];
	snprintf(path, sizeof path, "/v/%s", link_of(bo, 0));
	struct reply *r = request(&srv, "GET", path, NULL, NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK(strstr(reply_header(r, "Content-Type") ?: "", "text/html") != NULL);
	CHECK(strstr(body_of(r), "<form method=\"post\"") != NULL);
	CHECK(strstr(body_of(r), "&lt;checkout&gt;") != NULL); /* escaped */
	CHECK(strstr(body_of(r), "<checkout>") == NULL);
	CHECK_STR(reply_header(r, "Referrer-Policy"), "no-referrer");
	reply_free(r);
	CHECK_STR(vote_of(change_b, "bokafor", NULL, 0), ""); /* GET does not vote */
	r = request(&srv, "POST", path, NULL, "", NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, body_of(r));
	CHECK(strstr(body_of(r), "was recorded") != NULL);
	reply_free(r);
	char decision[16];
	CHECK_STR(vote_of(change_b, "bokafor", decision, sizeof decision), "link");
	CHECK_STR(decision, "approve");
	r = request(&srv, "POST", path, NULL, "", NULL); /* single use */
	CHECK_INT(r->status, 410);
	reply_free(r);
	r = request(&srv, "GET", "/v/v1.forgedforgedforgedforgedforgedforgedforged", NULL, NULL,
		    NULL);
	CHECK_INT(r->status, 404);
	reply_free(r);
	snprintf(path, sizeof path, "/v/%s", link_of(bo0, 1)); /* decline of SEQUENCE 0 */
	r = request(&srv, "POST", path, NULL, "", NULL);
	CHECK_INT(r->status, 409);
	CHECK(strstr(body_of(r), "replaced by a newer") != NULL);
	reply_free(r);
	CHECK_STR(vote_of(change_b, "bokafor", decision, sizeof decision), "link");
	CHECK_STR(decision, "approve");
	json_decref(b0);
	json_decref(b1);
	json_decref(all);
}

static void test_http_intake(void)
{
	json_t *all = invitations();
	json_t *b1 = about(all, change_b, "REQUEST", 1);
	json_t *ds = to(b1, "dieter.schmidt@"), *am = to(b1, "alice.martin@");
	CHECK(ds && am);
	if (!(ds && am)) {
		json_decref(all);
		return;
	}
	const char *uid = json_string_value(json_object_get(ds, "uid"));
	/* A bare REPLY (TENTATIVE: abstain). */
	char ics[2048];
	snprintf(ics, sizeof ics,
		 "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//gw//EN\r\nMETHOD:REPLY\r\n"
		 "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20300101T000000Z\r\nSEQUENCE:1\r\n"
		 "ORGANIZER:mailto:%s\r\nATTENDEE;PARTSTAT=TENTATIVE:mailto:dieter.schmidt@"
		 "example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		 uid, organizer_of(ds));
	char to[400];
	snprintf(to, sizeof to, "X-Mail-To: %s", organizer_of(ds));
	const char *hdr[] = {"Content-Type: text/calendar; method=REPLY",
			     "X-Mail-From: dieter.schmidt@example.com", to, NULL};
	struct reply *r = request(&srv, "POST", "/v1/imip", pipeline, ics, hdr);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "outcome"), "vote") == 0, "%ld %s",
	       r->status, body_of(r));
	CHECK_STR(reply_str(r, "decision"), "abstain");
	reply_free(r);
	/* The same again: a replay. */
	r = request(&srv, "POST", "/v1/imip", pipeline, ics, hdr);
	CHECK_STR(reply_str(r, "outcome"), "quarantined");
	CHECK(strstr(reply_str(r, "reason"), "replay") != NULL);
	reply_free(r);
	/* A whole message (Gmail) from Alice: the second approval, quorum. */
	char path[1000];
	snprintf(path, sizeof path, "%s/gw.eml", dir);
	make_reply("gmail", path, "Alice Martin <alice@example.com>", "alice.martin@example.com",
		   "Alice Martin", organizer_of(am), uid, 1, "ACCEPTED", "gw-1@mail.example");
	FILE *f = fopen(path, "r");
	char *msg = calloc(1, 65536);
	size_t n = f ? fread(msg, 1, 65535, f) : 0;
	if (f)
		fclose(f);
	CHECK(n > 0);
	const char *h2[] = {"Content-Type: message/rfc822", NULL};
	r = request(&srv, "POST", "/v1/imip", pipeline, msg, h2);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "outcome"), "vote") == 0, "%ld %s",
	       r->status, body_of(r));
	reply_free(r);
	free(msg);
	CHECK_STR(vote_of(change_b, "amartin", NULL, 0), "email");
	CHECK_STR(state_of(change_b), "scheduled");
	/* Roles and media types. */
	r = request(&srv, "POST", "/v1/imip", cab_member, ics, hdr);
	CHECK_INT(r->status, 403);
	reply_free(r);
	const char *h3[] = {"Content-Type: application/json", NULL};
	r = request(&srv, "POST", "/v1/imip", admin, "{}", h3);
	CHECK_INT(r->status, 415);
	reply_free(r);
	json_decref(b1);
	json_decref(all);
}

static void test_cancel_and_expiry(void)
{
	/* A change withdrawn: every member asked gets a CANCEL. */
	CHECK(submit(change_c, sizeof change_c));
	json_t *got = wait_for(change_c, "REQUEST", 0, 5, 15000);
	CHECK_INT(json_array_size(got), 5);
	json_t *link = json_incref(to(got, "bola.okafor@"));
	json_decref(got);
	char path[128];
	snprintf(path, sizeof path, "/v1/changes/%s", change_c);
	CHECK(step(path, hsato, "cancel", "cancelled"));
	got = wait_for(change_c, "CANCEL", 1, 5, 15000);
	CHECK_INT(json_array_size(got), 5);
	json_t *c0 = json_array_get(got, 0);
	CHECK_STR(c0 ? json_string_value(json_object_get(c0, "status")) : NULL, "CANCELLED");
	CHECK_STR(c0 ? json_string_value(json_object_get(c0, "ct_method")) : NULL, "CANCEL");
	json_decref(got);
	/* Its links no longer vote. */
	char lp[256];
	snprintf(lp, sizeof lp, "/v/%s", link ? link_of(link, 0) : "none");
	struct reply *r = request(&srv, "POST", lp, NULL, "", NULL);
	CHECK_INT(r->status, 409);
	reply_free(r);
	json_decref(link);

	/* An SMTP outage delays an invitation; it goes out once the server is back. */
	char refuse[700], id[32];
	snprintf(refuse, sizeof refuse, "%s/refuse", sink_dir);
	write_file(refuse, "");
	CHECK(submit(id, sizeof id));
	usleep(1500 * 1000);
	got = wait_for(id, "REQUEST", 0, 1, 100);
	CHECK_INT(json_array_size(got), 0);
	json_decref(got);
	unlink(refuse);
	got = wait_for(id, "REQUEST", 0, 5, 20000);
	CHECK_INT(json_array_size(got), 5);
	/* Expired: three days later the links are refused (410). */
	json_t *inv = to(got, "bola.okafor@");
	snprintf(lp, sizeof lp, "/v/%s", inv ? link_of(inv, 0) : "none");
	write_file(clock_file, "262800000"); /* 73 h */
	usleep(300 * 1000);
	r = request(&srv, "GET", lp, NULL, NULL, NULL);
	CHECK_INT(r->status, 410);
	reply_free(r);
	json_decref(got);
}

static void setup(void)
{
	const char *tmp = getenv("TRANSOM_TEST_TMP");
	char cmd[2000];
	snprintf(dir, sizeof dir, "%s/imip.%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
	mkdir(dir, 0755);
	chmod(dir, 0755);
	snprintf(sink_dir, sizeof sink_dir, "%s/sink", dir);
	snprintf(policies, sizeof policies, "%s/policies", dir);
	snprintf(clock_file, sizeof clock_file, "%s/clock", dir);
	write_file(clock_file, "0");
	snprintf(cmd, sizeof cmd, "cp -r %s/policies %s", getenv("TRANSOM_TEST_ROOT") ?: ".",
		 policies);
	if (system(cmd) != 0)
		return;
	long long now = time(NULL);
	meeting1 = (now / 3600 + 24) * 3600;
	meeting2 = meeting1 + 24 * 3600;
	write_cab(meeting1);
	if (!start_sink() || !start_dovecot())
		return;
	static char env[8][1200];
	snprintf(env[0], sizeof env[0], "TRANSOM_SMTP_URL=smtp://127.0.0.1:%d", smtp_port);
	snprintf(env[1], sizeof env[1], "TRANSOM_IMAP_URL=imap://127.0.0.1:%d/INBOX", imap_port);
	snprintf(env[2], sizeof env[2], "TRANSOM_CLOCK_OFFSET_FILE=%s", clock_file);
	const char *senv[] = {env[0],
			      env[1],
			      env[2],
			      "TRANSOM_SMTP_FROM=cab-bot@transom.test",
			      "TRANSOM_AGENT_DOMAIN=transom.test",
			      "TRANSOM_IMAP_USER=agent",
			      "TRANSOM_IMAP_PASSWORD=agent-secret",
			      "TRANSOM_IMAP_INTERVAL=1",
			      "TRANSOM_TIMER_INTERVAL=100",
			      "TRANSOM_MAIL_BACKOFF_MS=200",
			      NULL};
	if (!server_start(&srv, NULL, policies, senv))
		return;
	snprintf(hsato, sizeof hsato, "%s", token_for("hsato", "requester"));
	snprintf(manager, sizeof manager, "%s", token_for("ekowalski", "change_manager"));
	snprintf(admin, sizeof admin, "%s", token_for("root", "admin"));
	snprintf(pipeline, sizeof pipeline, "%s", token_for("mailgw", "pipeline"));
	snprintf(cab_member, sizeof cab_member, "%s", token_for("fdiallo", "cab"));
	ready = true;
}

static void test_setup(void)
{
	setup();
	CHECK(ready);
}

static void test_teardown(void)
{
	if (srv.pid > 0)
		CHECK(server_stop(&srv, 10, NULL) == 0);
	stop(dovecot_pid);
	stop(sink_pid);
}

TESTS(test_setup, test_invitations, test_same_uid_over_mail_and_caldav, test_reschedule,
      test_imap_replies, test_links, test_http_intake, test_cancel_and_expiry, test_teardown)
