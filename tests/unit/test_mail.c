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

/* A change title with a newline (or any control character) must not reach a header: the
 * decoded Subject is one line, and no header can be smuggled in (issue 17.7). */
static void test_invitation_subject_has_no_control_characters(void)
{
	struct mail_invitation m = {
		.from_addr = "cab@example.com",
		.to_name = "Alice\r\nBcc: eve@example.com",
		.to_addr = "alice@example.com",
		.subject = "CAB vote: CHG-1 Fix\r\nBcc: eve@example.com\nthe\tlogin \x7f page",
		.text = "vote",
		.html = "<p>vote</p>",
		.ics = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
		.method = "REQUEST",
		.date_ms = 1700000000000LL,
	};
	size_t len = 0;
	char *raw = mail_build_invitation(&m, &len);
	CHECK(raw != NULL);
	if (raw == NULL)
		return;
	struct mail_parsed p = {0};
	char why[128];
	CHECK(mail_parse(raw, len, &p, why, sizeof why));
	CHECKF(p.subject != NULL && strpbrk(p.subject, "\r\n\t\x7f") == NULL,
	       "decoded subject has a control character: [%s]", p.subject ? p.subject : "");
	CHECK_STR(p.subject ?: "", "CAB vote: CHG-1 Fix Bcc: eve@example.com the login page");
	/* No header line starts with Bcc: the text stayed inside Subject/To. */
	CHECKF(strstr(raw, "\r\nBcc:") == NULL && strstr(raw, "\nBcc:") == NULL, "%s", raw);
	mail_parsed_clear(&p);
	free(raw);
}

TESTS(test_empty_calendar_part_parses_as_empty, test_empty_part_beside_a_full_one,
      test_invitation_subject_has_no_control_characters)
