/*
 * mail_queue.c -- claiming invitations and recording their attempts for the mail worker
 * (see mail_queue.h).
 */
#include "app/mail_queue.h"

#include "core/log.h"
#include "store/imip.h"

bool app_imip_claim(struct app_session *s, long long lease_ms, struct store_imip_job *job)
{
	enum db_status st = store_imip_claim(s->store, lease_ms, job);
	if (st < 0 && st != DB_DOWN)
		LOG_WARN("event=imip_claim_failed error=\"%s\"", store_last_error(s->store));
	return st == DB_ONE;
}

void app_imip_attempt(struct app_session *s, long long id, const char *error, long long retry_ms)
{
	enum db_status st = store_imip_attempt(s->store, id, error, retry_ms);
	if (st < 0)
		LOG_WARN("event=imip_record_failed invitation=%lld error=\"%s\"", id,
			 store_last_error(s->store));
}
