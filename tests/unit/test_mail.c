/*
 * test_mail.c -- the MIME side of voting by e-mail (service/mail/): parsing untrusted
 * replies.  Run under the sanitizer build (SAN=address,undefined) these also prove the
 * parser is free of undefined behaviour on the inputs fuzzing found.
 */
#include <string.h>

#include "../unit/harness.h"
#include "mail/mail.h"

/*
 * An empty text/calendar part (found by fuzz_imip; its reproducer is
 * tests/fuzz/corpus/imip/empty-calendar-part.eml): GMime hands back an empty byte array
 * whose data pointer is NULL, and copying it was memcpy(copy, NULL, 0) -- undefined
 * behaviour.  It parses, as one empty calendar part.
 */
static void test_empty_calendar_part_parses_as_empty(void)
{
	static const char msg[] = "From: a@example.org\r\n"
				  "Subject: x\r\n"
				  "MIME-Version: 1.0\r\n"
				  "Content-Type: text/calendar; method=REPLY\r\n"
				  "\r\n";
	struct mail_parsed p;
	char why[128] = "";
	CHECKF(mail_parse(msg, sizeof msg - 1, &p, why, sizeof why), "%s", why);
	CHECK_INT(p.n_calendars, 1);
	CHECK(p.calendars[0] != NULL && p.calendars[0][0] == '\0');
	CHECK_INT(p.calendar_lens[0], 0);
	CHECK_STR(p.from, "a@example.org");
	mail_parsed_clear(&p);
}

/* The same empty part inside a multipart message, beside a calendar that has content. */
static void test_empty_part_beside_a_full_one(void)
{
	static const char msg[] = "From: a@example.org\r\n"
				  "MIME-Version: 1.0\r\n"
				  "Content-Type: multipart/mixed; boundary=b\r\n"
				  "\r\n"
				  "--b\r\n"
				  "Content-Type: text/calendar\r\n"
				  "\r\n"
				  "\r\n"
				  "--b\r\n"
				  "Content-Type: text/calendar\r\n"
				  "\r\n"
				  "BEGIN:VCALENDAR\r\n"
				  "END:VCALENDAR\r\n"
				  "--b--\r\n";
	struct mail_parsed p;
	char why[128] = "";
	CHECKF(mail_parse(msg, sizeof msg - 1, &p, why, sizeof why), "%s", why);
	CHECK_INT(p.n_calendars, 2);
	size_t full = 0;
	for (size_t i = 0; i < p.n_calendars; i++)
		full += strstr(p.calendars[i], "BEGIN:VCALENDAR") != NULL;
	CHECK_INT(full, 1);
	mail_parsed_clear(&p);
}

TESTS(test_empty_calendar_part_parses_as_empty, test_empty_part_beside_a_full_one)
