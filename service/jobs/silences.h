/*
 * silences.h -- maintenance silences in Alertmanager for changes under way (app/alerts.h).
 * Internal to service/jobs/: the timer worker calls it on every sweep when
 * TRANSOM_ALERTMANAGER_URL is set.
 */
#ifndef TRANSOM_JOBS_SILENCES_H
#define TRANSOM_JOBS_SILENCES_H

struct app;
struct rec_ctx;

/*
 * Plans the silences of changes under way and marks those of changes that are no longer
 * for expiry (alerts_silences_plan), then makes the due calls to Alertmanager: POST
 * /api/v2/silences for a planned one, DELETE /api/v2/silence/{id} for one to expire (a
 * 404 counts as expired).  A failed call is retried after TRANSOM_SILENCE_BACKOFF_MS,
 * doubling per attempt (cap 10 min); rows are leased while called, so replicas share the
 * work.  Runs on the caller's thread and connection (`c`); each call is bounded by 5 s.
 */
void silences_sweep(struct app *app, struct rec_ctx *c);

#endif /* TRANSOM_JOBS_SILENCES_H */
