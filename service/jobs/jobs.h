/*
 * jobs.h -- background work of transomd: the timer worker, which also re-plans.
 *
 * The timer worker wakes every TRANSOM_TIMER_INTERVAL milliseconds, and fires every
 * workflow timer that has come due (SLA escalations, draft expiry, ...) through the
 * same record use case as an HTTP event, as actor "system".  Timers are claimed with
 * FOR UPDATE SKIP LOCKED, so any number of replicas may run workers without firing a
 * timer twice.  It has its own database connection and survives database outages.
 *
 * The re-plan worker (replan.c) has a thread and a connection of its own, so timers fire
 * on time while it works: every TRANSOM_TIMER_INTERVAL milliseconds it re-plans scheduled
 * changes when the definitions changed (a reload, a remote calendar fetched), at start-up
 * and at least once a minute, so missed slots move on and unscheduled changes get another
 * chance.  Each change is one transaction, and a stop is honoured between two changes.
 */
#ifndef TRANSOM_JOBS_H
#define TRANSOM_JOBS_H

struct app;
struct timer_worker;

/* Starts the worker thread.  Returns NULL when the thread cannot be created. */
struct timer_worker *timer_worker_start(struct app *app, unsigned interval_ms);

/* Stops the thread (waits for the timer being fired, if any) and frees `w`. */
void timer_worker_stop(struct timer_worker *w);

struct replan_worker;

/* Starts the re-plan worker thread.  NULL when the thread cannot be created. */
struct replan_worker *replan_worker_start(struct app *app, unsigned interval_ms);

/*
 * Stops the thread -- a re-plan under way ends after the change it is re-planning -- and
 * frees `w`; NULL is a no-op.
 */
void replan_worker_stop(struct replan_worker *w);

struct calendar_fetcher;

/*
 * Starts the remote calendar fetcher (calendars.c): every remote of policies/calendars.json
 * is fetched when its refresh interval passed; a calendar that changed and parses is kept
 * as the last good copy under TRANSOM_CACHE_DIR and the definitions are reloaded.  Status
 * in app->remote.  NULL when the thread cannot be created.
 */
struct calendar_fetcher *calendar_fetcher_start(struct app *app);

/* Stops the thread (waits for a fetch under way, bounded by its timeout) and frees `f`. */
void calendar_fetcher_stop(struct calendar_fetcher *f);

struct webhook_worker;

/*
 * Starts the webhook worker (webhooks.c): every TRANSOM_TIMER_INTERVAL ms (at most 500)
 * it fans new outbox events out into deliveries for the matching subscriptions, then
 * sends the due deliveries, signed, retrying with exponential backoff up to
 * TRANSOM_WEBHOOK_MAX_ATTEMPTS attempts.  Deliveries are claimed with FOR UPDATE SKIP
 * LOCKED and leased, so replicas may all run one.  Own database connection; survives
 * database outages.  NULL when the thread cannot be created.
 */
struct webhook_worker *webhook_worker_start(struct app *app);

/* Stops the thread (waits for a request under way, bounded by its timeout) and frees `w`. */
void webhook_worker_stop(struct webhook_worker *w);

struct mail_worker;

/*
 * Starts the iMIP worker (mailer.c): plans calendar invitations for changes awaiting
 * votes of groups with votes_by_calendar and sends them by SMTP (TRANSOM_SMTP_URL),
 * retrying with backoff; polls the agent mailbox (TRANSOM_IMAP_URL) every
 * TRANSOM_IMAP_INTERVAL seconds and takes the replies in.  NULL when neither URL is set
 * or the thread cannot be created.
 */
struct mail_worker *mail_worker_start(struct app *app);

/* Stops the thread (waits for a send or poll under way, bounded by its timeout); frees. */
void mail_worker_stop(struct mail_worker *w);

struct checkpoint_worker;
struct crypto_sign_key;

/*
 * Starts the audit checkpoint job (checkpoint.c): every TRANSOM_AUDIT_CHECKPOINT_INTERVAL
 * seconds (the first one interval after the start), when the chain grew since the last
 * checkpoint, signs its head with `key` (stolen) and appends the checkpoint to
 * TRANSOM_AUDIT_CHECKPOINT_FILE, logs it and puts it on the outbox (audit.checkpoint).
 * It resumes from the file's last checkpoint, and logs audit_checkpoint_mismatch when
 * the database no longer holds that event.  NULL when the thread cannot be created.
 */
struct checkpoint_worker *checkpoint_worker_start(struct app *app, struct crypto_sign_key *key);

/* Stops the thread (after a checkpoint under way) and frees `w`; NULL is a no-op. */
void checkpoint_worker_stop(struct checkpoint_worker *w);

struct metrics_job;

/*
 * Starts the metrics job (metrics_job.c): every TRANSOM_METRICS_INTERVAL seconds, and
 * once at start-up, it reads the database figures (store_ops_stats, one statement bounded
 * by the statement timeout) on its own connection and publishes them to app->metrics, so
 * /metrics, answered on the transport thread, never waits on the database.  NULL when
 * the thread cannot be created.
 */
struct metrics_job *metrics_job_start(struct app *app);

/* Stops the thread (after a read under way) and frees `j`; NULL is a no-op. */
void metrics_job_stop(struct metrics_job *j);

struct silence_worker;

/*
 * Starts the silence worker (silences.c) when TRANSOM_ALERTMANAGER_URL is set: every
 * TRANSOM_TIMER_INTERVAL ms (at most a second) it plans a silence for each service of
 * each change under way and marks those of changes no longer under way for expiry
 * (app/alerts.h), then makes the due calls to Alertmanager: POST /api/v2/silences for a
 * planned one, DELETE /api/v2/silence/{id} for one to expire (a 404 counts as expired),
 * each bounded by 5 s.  A failed call is retried with jobs_backoff_ms from
 * TRANSOM_SILENCE_BACKOFF_MS.  The rows are an outbox in PostgreSQL, claimed with a lease
 * (FOR UPDATE SKIP LOCKED), so replicas share the work and nothing is lost on a restart.
 * Own thread and database connection.  NULL when off or the thread cannot be created.
 */
struct silence_worker *silence_worker_start(struct app *app);

/* Stops the thread (after the call under way, bounded by its timeout) and frees `w`; NULL
 * is a no-op. */
void silence_worker_stop(struct silence_worker *w);

#endif /* TRANSOM_JOBS_H */
