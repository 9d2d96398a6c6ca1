/*
 * lib_http.c -- the HTTP test helpers.
 */
#include "lib_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *env_or(const char *key, const char *def)
{
	const char *v = getenv(key);
	return v && *v ? v : def;
}

static void child_env(const char *workflows, const char *policies, const char *const *extra)
{
	char buf[2048];
	const char *root = env_or("TRANSOM_TEST_ROOT", ".");
	/* Served as the unprivileged role, migrated as the owner (tests/run.sh). */
	const char *owner = env_or("TRANSOM_TEST_DATABASE_URL", "");
	setenv("TRANSOM_DATABASE_URL", env_or("TRANSOM_TEST_SERVE_DATABASE_URL", owner), 1);
	setenv("TRANSOM_MIGRATE_DATABASE_URL", owner, 1);
	setenv("TRANSOM_AUDIT_KEY_FILE", env_or("TRANSOM_TEST_AUDIT_KEY", ""), 1);
	setenv("TRANSOM_AUDIT_CHECKPOINT_FILE",
	       env_or("TRANSOM_TEST_CHECKPOINTS", "/nonexistent/checkpoints"), 1);
	setenv("TRANSOM_AUDIT_CHECKPOINT_INTERVAL", "86400", 1); /* a test may ask for less */
	setenv("TRANSOM_LISTEN", "127.0.0.1:0", 1);
	setenv("TRANSOM_LOG_LEVEL", env_or("TRANSOM_TEST_LOG_LEVEL", "warn"), 1);
	setenv("TRANSOM_THREADS", "4", 1);
	/* The key of secrets at rest: one per test run, kept across restarts. */
	snprintf(buf, sizeof buf, "%s/secret.key", env_or("TRANSOM_TEST_TMP", "/tmp"));
	setenv("TRANSOM_SECRET_KEY_FILE", buf, 1);
	snprintf(buf, sizeof buf, "%s/workflows", root);
	setenv("TRANSOM_WORKFLOWS_DIR", workflows ? workflows : buf, 1);
	snprintf(buf, sizeof buf, "%s/policies", root);
	setenv("TRANSOM_POLICIES_DIR", policies ? policies : buf, 1);
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		putenv((char *)extra[i]);
}

bool server_start(struct server *s, const char *workflows, const char *policies,
		  const char *const *extra_env)
{
	int fds[2];
	memset(s, 0, sizeof *s);
	if (pipe(fds) != 0)
		return false;
	const char *root = env_or("TRANSOM_TEST_ROOT", ".");
	snprintf(s->workflows, sizeof s->workflows, "%s", workflows ? workflows : "");
	snprintf(s->policies, sizeof s->policies, "%s", policies ? policies : "");
	s->pid = fork();
	if (s->pid == 0) {
		/* A test that dies must not leave its server behind. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		child_env(workflows, policies, extra_env);
		char bin[1024];
		snprintf(bin, sizeof bin, "%s", env_or("TRANSOM_TEST_BIN", "build/transomd"));
		if (chdir(root) != 0)
			_exit(127);
		execl(bin, bin, "serve", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	s->out_fd = fds[0];
	char line[512];
	size_t n = 0;
	time_t deadline = time(NULL) + 30;
	while (time(NULL) < deadline && n < sizeof line - 1) {
		struct pollfd p = {s->out_fd, POLLIN, 0};
		if (poll(&p, 1, 500) <= 0)
			continue;
		ssize_t k = read(s->out_fd, line + n, 1);
		if (k <= 0)
			break;
		if (line[n] == '\n') {
			line[n] = '\0';
			const char *url = strstr(line, "http://");
			if (url != NULL) {
				snprintf(s->base, sizeof s->base, "%s", url);
				return true;
			}
			n = 0;
			continue;
		}
		n++;
	}
	fprintf(stderr, "server_start: transomd did not announce its URL\n");
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
	return false;
}

void server_signal(struct server *s, int sig)
{
	if (s->pid > 0)
		kill(s->pid, sig);
}

int server_stop(struct server *s, unsigned seconds, double *elapsed)
{
	struct timespec a, b;
	int status = 0;
	if (s->pid <= 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	kill(s->pid, SIGTERM);
	for (unsigned i = 0; i < seconds * 20; i++) {
		pid_t r = waitpid(s->pid, &status, WNOHANG);
		if (r == s->pid) {
			clock_gettime(CLOCK_MONOTONIC, &b);
			if (elapsed)
				*elapsed = (double)(b.tv_sec - a.tv_sec) +
					   (double)(b.tv_nsec - a.tv_nsec) / 1e9;
			close(s->out_fd);
			s->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(50 * 1000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	close(s->out_fd);
	s->pid = 0;
	return -1;
}

char *transomd_run(int *status, const char *const *args)
{
	int fds[2];
	if (pipe(fds) != 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		const char *argv[32];
		size_t n = 0;
		argv[n++] = env_or("TRANSOM_TEST_BIN", "build/transomd");
		for (size_t i = 0; args[i] != NULL && n < 31; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		child_env(NULL, NULL, NULL);
		if (chdir(env_or("TRANSOM_TEST_ROOT", ".")) != 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	char *out = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);
	char buf[4096];
	ssize_t k;
	while ((k = read(fds[0], buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)k, mem);
	fclose(mem);
	close(fds[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

const char *token_for(const char *user, const char *roles)
{
	static char token[128];
	int status;
	const char *args[] = {"token", "create", "--user", user, "--role", roles, NULL};
	char *out = transomd_run(&status, args);
	token[0] = '\0';
	if (out != NULL && status == 0)
		snprintf(token, sizeof token, "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	return token;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *cls)
{
	FILE *mem = cls;
	return fwrite(ptr, size, nmemb, mem);
}

struct reply *request(const struct server *s, const char *method, const char *path,
		      const char *token, const char *body, const char *const *headers)
{
	struct reply *r = calloc(1, sizeof *r);
	size_t hlen = 0;
	char url[16384], auth[4096]; /* a JWT bearer token runs to about a kilobyte */
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	FILE *bm = open_memstream(&r->body, &r->len);
	FILE *hm = open_memstream(&r->headers, &hlen);

	snprintf(url, sizeof url, "%s%s", s->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, bm);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, hm);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (token != NULL) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		bool has_ct = false;
		for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
			has_ct = has_ct || strncasecmp(headers[i], "Content-Type:", 13) == 0;
		if (!has_ct)
			h = curl_slist_append(h, "Content-Type: application/json");
	}
	h = curl_slist_append(h, "Expect:");
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	CURLcode rc = curl_easy_perform(c);
	fclose(bm);
	fclose(hm);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else
		fprintf(stderr, "  request %s %s: %s\n", method, path, curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (r->len > 0)
		r->json = json_loadb(r->body, r->len, 0, NULL);
	return r;
}

const char *reply_header(const struct reply *r, const char *name)
{
	static char value[4096];
	size_t nl = strlen(name);
	for (const char *p = r->headers; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t n = strcspn(v, "\r\n");
			snprintf(value, sizeof value, "%.*s", (int)n, v);
			return value;
		}
	}
	return NULL;
}

const char *reply_str(const struct reply *r, const char *key)
{
	const char *v = json_string_value(json_object_get(r->json, key));
	return v ? v : "";
}

void reply_free(struct reply *r)
{
	if (r == NULL)
		return;
	json_decref(r->json);
	free(r->body);
	free(r->headers);
	free(r);
}

int pg_ctl_test(const char *verb)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s' %s %s '%s' '%s' >/dev/null 2>&1",
		 env_or("TRANSOM_TEST_PG", "deploy/pg.sh"), verb,
		 strcmp(verb, "start") == 0 ? "--no-fsync" : "", env_or("TRANSOM_TEST_PGDATA", ""),
		 env_or("TRANSOM_TEST_PGSOCK", ""));
	return system(cmd);
}

void b64_encode(const char *in, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

void basic_auth_header(const char *user, const char *pw, char *out, size_t len)
{
	char cred[256], enc[400];
	snprintf(cred, sizeof cred, "%s:%s", user, pw);
	b64_encode(cred, enc);
	snprintf(out, len, "Authorization: Basic %s", enc);
}

bool write_file_in(const char *dir, const char *name, const char *text)
{
	char path[1024], tmp[1100];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *fp = fopen(tmp, "w");
	if (fp == NULL)
		return false;
	bool ok = fputs(text, fp) >= 0;
	ok = fclose(fp) == 0 && ok;
	return ok && rename(tmp, path) == 0;
}

pid_t oidc_provider_start(struct server *op)
{
	char port_file[512];
	snprintf(port_file, sizeof port_file, "%s/oidc-op.%d.port",
		 getenv("TRANSOM_TEST_TMP") ?: "/tmp", (int)getpid());
	unlink(port_file);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("node", "node", "tests/oidc/op.mjs", port_file, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 300; i++) {
		FILE *fp = fopen(port_file, "r");
		int port = 0;
		if (fp != NULL && fscanf(fp, "%d", &port) == 1 && port > 0) {
			fclose(fp);
			snprintf(op->base, sizeof op->base, "http://127.0.0.1:%d", port);
			return pid;
		}
		if (fp != NULL)
			fclose(fp);
		usleep(50 * 1000);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

bool policies_copy(const char *name, char *dir, size_t len)
{
	char cmd[2600];
	snprintf(dir, len, "%s/%s", getenv("TRANSOM_TEST_TMP") ?: "/tmp", name);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/policies' '%s'", dir,
		 getenv("TRANSOM_TEST_ROOT") ?: ".", dir);
	return system(cmd) == 0;
}
