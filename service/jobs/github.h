/*
 * github.h -- reporting gate decisions to GitHub (deployment protection rule callbacks).
 * Internal to service/jobs/: the timer worker calls it on every sweep.
 */
#ifndef TRANSOM_JOBS_GITHUB_H
#define TRANSOM_JOBS_GITHUB_H

struct app;
struct rec_ctx;

/*
 * For each GitHub deployment not reported yet whose next try is due: reads the gate's
 * decision and, when it is allow or deny, POSTs {environment_name, state: approved |
 * rejected, comment} to its deployment_callback_url with TRANSOM_GITHUB_TOKEN.  A wait
 * is looked at again in 5 s; a failed call is retried in 30 s.  Runs on the caller's
 * thread and connection (`c`).
 */
void github_report(struct app *app, struct rec_ctx *c);

#endif /* TRANSOM_JOBS_GITHUB_H */
