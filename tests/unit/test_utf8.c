/*
 * test_utf8.c -- the strict UTF-8 text check that keeps malformed bytes from reaching
 * handlers and PostgreSQL.
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

TESTS(test_well_formed_text_passes, test_malformed_bytes_fail, test_control_characters_fail)
