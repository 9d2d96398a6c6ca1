/*
 * checkpoint.c -- the audit checkpoint job: every TRANSOM_AUDIT_CHECKPOINT_INTERVAL
 * seconds, when the chain grew, sign its head and write the checkpoint to the file
 * (TRANSOM_AUDIT_CHECKPOINT_FILE, one JSON line appended and fsynced), the log and the
 * outbox (topic audit.checkpoint, delivered to webhooks).  A rewrite of the history by
 * anyone holding the database's owner login then no longer matches what left the
 * database; `transomd audit verify --checkpoints FILE` says where.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "app/checkpoints.h"
#include "audit/checkpoint.h"
#include "core/clock.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"
#include "metrics/metrics.h"

struct checkpoint_worker {
	struct app *app;
	struct app_session *session; /* owned */
	struct crypto_sign_key *key; /* owned */
	char pub[CRYPTO_SIGN_PUB_LEN];
	struct worker *thread;
	long long last_seq;                    /* the head at the last checkpoint */
	char last_hash[CRYPTO_SHA256_HEX_LEN]; /* its hash ("" when none yet) */
	bool resumed;                          /* the file's tail was checked */
	bool first;                            /* the immediate first sweep is skipped */
};

/* Reads the last checkpoint of the file into w->last_seq / last_hash (none: 0, ""). */
static void read_tail(struct checkpoint_worker *w)
{
	FILE *f = fopen(w->app->cfg->checkpoint_file, "r");
	char *line = NULL, *last = NULL, why[128];
	size_t cap = 0;
	ssize_t n;
	w->last_seq = 0;
	w->last_hash[0] = '\0';
	if (f == NULL)
		return;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (n > 1) {
			free(last);
			last = strdup(line);
		}
	}
	free(line);
	fclose(f);
	struct audit_checkpoint c;
	if (last != NULL && audit_checkpoint_parse(last, &c, why, sizeof why)) {
		w->last_seq = c.seq;
		snprintf(w->last_hash, sizeof w->last_hash, "%s", c.hash);
		audit_checkpoint_clear(&c);
	} else if (last != NULL) {
		LOG_ERROR("event=audit_checkpoint_file_bad file=%s detail=\"%s\"",
			  w->app->cfg->checkpoint_file, why);
	}
	free(last);
}

/* Appends `line` and a newline to the checkpoint file and syncs it.  False on failure. */
static bool append_line(const char *path, const char *line)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	bool ok = buf != NULL;
	if (ok) {
		memcpy(buf, line, len);
		buf[len] = '\n';
		ok = write(fd, buf, len + 1) == (ssize_t)(len + 1) && fsync(fd) == 0;
	}
	free(buf);
	return close(fd) == 0 && ok;
}

static bool sweep(struct worker *self, void *cls)
{
	struct checkpoint_worker *w = cls;
	struct audit_checkpoint c = {0};
	char head_hash[CRYPTO_SHA256_HEX_LEN];
	long long head;
	(void)self;
	if (w->first) {
		w->first = false;
		return false;
	}
	if (!app_audit_head(w->session, &head, head_hash))
		return false; /* the database is away: next time */
	if (!w->resumed) {
		w->resumed = true;
		read_tail(w);
		if (w->last_seq > 0) {
			/* The file's last checkpoint must still hold in this database. */
			struct audit_checkpoint probe = {0};
			app_audit_hashes(w->session, w->last_seq - 1, w->last_seq, &probe);
			bool same =
				probe.nhashes == 1 && strcmp(probe.hashes[0], w->last_hash) == 0;
			audit_checkpoint_clear(&probe);
			if (!same) {
				LOG_ERROR("event=audit_checkpoint_mismatch seq=%lld file=%s "
					  "detail=\"the database no longer holds the last "
					  "checkpointed event: restored, replaced or rewritten\"",
					  w->last_seq, w->app->cfg->checkpoint_file);
				w->last_seq = 0;
			}
		}
	}
	if (head <= w->last_seq)
		return false;
	c.seq = head;
	c.prev_seq = w->last_seq;
	snprintf(c.hash, sizeof c.hash, "%s", head_hash);
	snprintf(c.key, sizeof c.key, "%s", w->pub);
	if (!app_audit_hashes(w->session, w->last_seq, head, &c) ||
	    c.nhashes != (size_t)(head - w->last_seq) ||
	    strcmp(c.hashes[c.nhashes - 1], head_hash) != 0) {
		LOG_ERROR("event=audit_checkpoint_failed seq=%lld detail=\"cannot read the events "
			  "since seq %lld\"",
			  head, w->last_seq);
		audit_checkpoint_clear(&c);
		return false;
	}
	time_t t = (time_t)(clock_wall_ms() / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(c.at, sizeof c.at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	char *msg = audit_checkpoint_message(&c);
	char *line = NULL;
	json_t *summary = NULL;
	if (msg == NULL || !crypto_sign(w->key, msg, strlen(msg), c.sig) ||
	    (line = audit_checkpoint_line(&c)) == NULL ||
	    (summary = audit_checkpoint_summary(&c)) == NULL) {
		LOG_ERROR("event=audit_checkpoint_failed seq=%lld detail=\"cannot sign\"", head);
	} else if (!append_line(w->app->cfg->checkpoint_file, line)) {
		LOG_ERROR("event=audit_checkpoint_failed seq=%lld file=%s detail=\"%s\"", head,
			  w->app->cfg->checkpoint_file, strerror(errno));
	} else {
		LOG_INFO("event=audit_checkpoint seq=%lld hash=%s prev_seq=%lld at=%s "
			 "hashes_sha256=%s sig=%s",
			 c.seq, c.hash, c.prev_seq, c.at, c.hashes_sha256, c.sig);
		metrics_checkpoint(w->app->metrics, (double)clock_wall_ms() / 1000.0);
		w->last_seq = head;
		snprintf(w->last_hash, sizeof w->last_hash, "%s", head_hash);
		if (!app_audit_checkpoint_publish(w->session, summary))
			LOG_WARN("event=audit_checkpoint_outbox_failed seq=%lld", head);
	}
	json_decref(summary);
	free(line);
	free(msg);
	audit_checkpoint_clear(&c);
	return false;
}

struct checkpoint_worker *checkpoint_worker_start(struct app *app, struct crypto_sign_key *key)
{
	struct checkpoint_worker *w = calloc(1, sizeof *w);
	if (w == NULL) {
		crypto_sign_key_free(key);
		return NULL;
	}
	w->app = app;
	w->key = key;
	w->first = true;
	if (!crypto_sign_key_public(key, w->pub) ||
	    (w->session = app_session_new(app, APP_SESSION_PLAIN)) == NULL ||
	    (w->thread = worker_start(app->cfg->checkpoint_interval * 1000u, sweep, w)) == NULL) {
		app_session_free(w->session);
		crypto_sign_key_free(key);
		free(w);
		return NULL;
	}
	return w;
}

void checkpoint_worker_stop(struct checkpoint_worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w->thread);
	app_session_free(w->session);
	crypto_sign_key_free(w->key);
	free(w);
}
