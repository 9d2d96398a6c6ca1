/*
 * test_utf8.c -- cutting text on UTF-8 character boundaries (core/utf8.h): what a fixed
 * buffer leaves of multi-byte text is valid UTF-8, and invalid bytes become '?'.
 */
#include <string.h>

#include "../unit/harness.h"
#include "core/utf8.h"

static void test_cut_in_the_middle_of_a_character(void)
{
	char buf[8];
	/* "界界界" is 9 bytes: 7 fit, the third character is cut after its first byte. */
	CHECK(!utf8_snprintf(buf, sizeof buf, "%s", "\xe7\x95\x8c\xe7\x95\x8c\xe7\x95\x8c"));
	CHECK_STR(buf, "\xe7\x95\x8c\xe7\x95\x8c");
	CHECK(utf8_valid(buf));
	char b2[4];
	CHECK(!utf8_snprintf(b2, sizeof b2, "a%s", "\xc3\xa9\xc3\xa9")); /* "aé" + half */
	CHECK_STR(b2, "a\xc3\xa9");
	CHECK(utf8_snprintf(b2, sizeof b2, "%s", "ab"));
	CHECK_STR(b2, "ab");
}

static void test_invalid_bytes_become_question_marks(void)
{
	char s[] = "a\xff"
		   "b\xc0\xaf"
		   "c\xed\xa0\x80"
		   "d";
	CHECK(!utf8_valid(s));
	CHECK(utf8_clean(s));
	CHECK(utf8_valid(s));
	CHECK_STR(s, "a?b??c???d");
	char ok[] = "\xf0\x9f\x99\x82 fine";
	CHECK(!utf8_clean(ok));
	CHECK_STR(ok, "\xf0\x9f\x99\x82 fine");
	CHECK(!utf8_clean(NULL));
}

TESTS(test_cut_in_the_middle_of_a_character, test_invalid_bytes_become_question_marks)
