/*
 * test_utf8.c -- the strict UTF-8 text check that keeps malformed bytes from reaching
 * handlers and PostgreSQL, and cutting text on character boundaries (what a fixed buffer
 * leaves of multi-byte text is valid UTF-8, and invalid bytes become '?').
 */
#include <string.h>

#include "core/utf8.h"
#include "harness.h"

static bool ok(const char *s)
{
	return utf8_text_ok(s, strlen(s), false);
}

static void test_well_formed_text_passes(void)
{
	CHECK(ok(""));
	CHECK(ok("CHG-1"));
	CHECK(ok("caf\xc3\xa9"));             /* é */
	CHECK(ok("\xe2\x82\xac 5"));          /* € */
	CHECK(ok("\xf0\x9f\x98\x80"));        /* U+1F600 */
	CHECK(ok("\xed\x9f\xbf"));            /* U+D7FF, just below the surrogates */
	CHECK(ok("\xf4\x8f\xbf\xbf"));        /* U+10FFFF */
	CHECK(utf8_text_ok("a\tb", 3, true)); /* a tab, where allowed */
}

static void test_malformed_bytes_fail(void)
{
	CHECK(!ok("\xff"));
	CHECK(!ok("\xfe\xff"));
	CHECK(!ok("\xc3\x28"));             /* a bad continuation */
	CHECK(!ok("\xc3"));                 /* cut short */
	CHECK(!ok("\xe2\x82"));             /* cut short */
	CHECK(!ok("\xc0\xaf"));             /* overlong '/' */
	CHECK(!ok("\xe0\x80\xaf"));         /* overlong */
	CHECK(!ok("\xf0\x80\x80\xaf"));     /* overlong */
	CHECK(!ok("\xed\xa0\x80"));         /* a UTF-16 surrogate */
	CHECK(!ok("\xf4\x90\x80\x80"));     /* above U+10FFFF */
	CHECK(!ok("\xf8\x88\x80\x80\x80")); /* five bytes */
	CHECK(!ok("\x80"));                 /* a lone continuation */
}

static void test_control_characters_fail(void)
{
	CHECK(!ok("a\nb"));
	CHECK(!ok("a\rb"));
	CHECK(!ok("a\x7f"));
	CHECK(!ok("a\tb")); /* a tab, where not allowed */
	CHECK(!utf8_text_ok("a\0b", 3, true));
}

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

TESTS(test_well_formed_text_passes, test_malformed_bytes_fail, test_control_characters_fail,
      test_cut_in_the_middle_of_a_character, test_invalid_bytes_become_question_marks)
