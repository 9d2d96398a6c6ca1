/*
 * fuzz_imip.c -- libFuzzer target for the intake of e-mail replies: the MIME parser
 * (service/mail/, GMime, and its Authentication-Results reader) and the iTIP REPLY parser
 * (service/calendar/itip.c, libical).
 *
 * The input is read as a whole message: every calendar part found is parsed as a REPLY;
 * the input is also parsed as a bare REPLY, as POST /v1/imip with text/calendar does.
 * Besides crashes, leaks, sanitizer reports and timeouts, it traps when a parse that
 * failed gives no reason, or one that succeeded breaks its contract (no UID, no
 * attendee, too many, an empty address).
 *
 * `make fuzz` builds and runs it on tests/fuzz/corpus/imip/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar/calendar.h"
#include "calendar/itip.h"
#include "mail/authres.h"
#include "mail/mail.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cal_init();
	return 0;
}

static void reply(const char *text, size_t len)
{
	struct itip_reply r;
	char why[128] = "";
	if (!itip_parse_reply(text, len, &r, why, sizeof why)) {
		if (why[0] == '\0')
			__builtin_trap();
		return;
	}
	if (r.uid[0] == '\0' || r.n_attendees == 0 || r.n_attendees > ITIP_ATTENDEES_MAX ||
	    r.organizer[0] == '\0' || r.sequence < 0)
		__builtin_trap();
	for (size_t i = 0; i < r.n_attendees; i++)
		if (r.attendees[i].addr[0] == '\0')
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_parsed m;
	char why[128] = "";
	if (mail_parse((const char *)data, size, &m, why, sizeof why)) {
		if (m.from == NULL || m.message_id == NULL || m.subject == NULL ||
		    m.n_calendars > MAIL_CALENDARS_MAX)
			__builtin_trap();
		for (size_t i = 0; i < m.n_calendars; i++)
			reply(m.calendars[i], m.calendar_lens[i]);
		/* Authentication-Results (mail/authres.h): any verdict, never a crash. */
		char ar[160];
		if (m.n_auth_results > MAIL_AUTHRES_MAX ||
		    authres_dmarc((const char *const *)m.auth_results, m.n_auth_results,
				  "mx.example.org", m.from, ar, sizeof ar) > AUTHRES_OTHER_DOMAIN)
			__builtin_trap();
	} else if (why[0] == '\0') {
		__builtin_trap();
	}
	mail_parsed_clear(&m);
	reply((const char *)data, size);
	return 0;
}
