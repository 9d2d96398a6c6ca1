/*
 * test_jsontext.c -- JSON text as PostgreSQL writes it, appended in the form jansson
 * writes (JSON_COMPACT | JSON_ENSURE_ASCII), and objects joined member-wise: what lets a
 * read serve a stored document without parsing it.  Each case is checked against
 * jansson's own dump of the same document.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsontext.h"
#include "harness.h"

/* jtext_put_compact of `pg`, which must equal jansson's compact dump of it. */
static void same_as_jansson(const char *pg)
{
	struct jtext b = {0};
	jtext_put_compact(&b, pg, strlen(pg));
	char *got = jtext_take(&b);
	json_t *v = json_loads(pg, JSON_DECODE_ANY, NULL);
	char *want = v ? json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY) : NULL;
	CHECKF(got != NULL && want != NULL && strcmp(got, want) == 0, "%s: got %s, want %s", pg,
	       got ? got : "(null)", want ? want : "(null)");
	json_decref(v);
	free(want);
	free(got);
}

static void test_compact_matches_jansson(void)
{
	same_as_jansson("{}");
	same_as_jansson("[]");
	same_as_jansson("{\"id\": \"CHG-1\", \"n\": 3, \"ok\": true, \"x\": null}");
	same_as_jansson("{\"a\": [1, 2, {\"b\": \"c d\"}], \"e\": {}}");
	same_as_jansson("[{\"event\" : \"sla\", \"due_at\" : \"2026-12-07T10:00:00Z\"}]");
	same_as_jansson("{\"t\": \"quote \\\" back \\\\ nl \\n tab \\t\"}");
	same_as_jansson("{\"t\": \"caf\xc3\xa9 \xe2\x82\xac\"}");          /* é, € */
	same_as_jansson("{\"t\": \"\xf0\x9f\x98\x80 smile\"}");            /* U+1F600 */
	same_as_jansson("{\"caf\xc3\xa9\": \"key\", \"s\": \"a: b, c\"}"); /* blanks in strings */
	same_as_jansson("{\"k\": \"with spaces   inside\",\n \"l\": \"\"}");
}

/* jtext_put_string of `s`, which must equal jansson's dump of json_string(s). */
static void string_as_jansson(const char *s)
{
	struct jtext b = {0};
	jtext_put_string(&b, s);
	char *got = jtext_take(&b);
	json_t *v = json_string(s);
	char *want = v ? json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY) : NULL;
	CHECKF(got != NULL && want != NULL && strcmp(got, want) == 0, "got %s, want %s",
	       got ? got : "(null)", want ? want : "(null)");
	json_decref(v);
	free(want);
	free(got);
}

static void test_string_matches_jansson(void)
{
	string_as_jansson("");
	string_as_jansson("Renew the edge certificate");
	string_as_jansson("quote \" back \\ slash / nl \n tab \t cr \r bs \b ff \f");
	string_as_jansson("bell \a esc \x1b del \x7f");
	string_as_jansson("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	struct jtext b = {0};
	jtext_put_string(&b, NULL);
	char *s = jtext_take(&b);
	CHECK_STR(s, "null");
	free(s);
}

static char *joined(const char *obj, const char *tail, bool *ok)
{
	struct jtext b = {0};
	*ok = jtext_put_object_with(&b, obj, strlen(obj), tail);
	return jtext_take(&b);
}

static void test_object_with_tail(void)
{
	bool ok;
	char *s = joined("{\"id\": \"CHG-1\", \"title\": \"\xc3\xa9\"}", "{\"version\":3}", &ok);
	CHECK(ok);
	CHECK_STR(s, "{\"id\":\"CHG-1\",\"title\":\"\\u00E9\",\"version\":3}");
	free(s);
	s = joined("{}", "{\"version\":1,\"links\":{}}", &ok);
	CHECK(ok);
	CHECK_STR(s, "{\"version\":1,\"links\":{}}");
	free(s);
	s = joined(" {\"a\": 1} ", "{}", &ok);
	CHECK(ok);
	CHECK_STR(s, "{\"a\":1}");
	free(s);
	s = joined("[1]", "{\"v\":1}", &ok);
	CHECK(!ok);
	CHECK_STR(s, "");
	free(s);
	s = joined("{\"a\": 1}", "\"v\"", &ok);
	CHECK(!ok);
	free(s);
}

static void test_put_and_take(void)
{
	struct jtext b = {0};
	char *s = jtext_take(&b);
	CHECK_STR(s, "");
	free(s);
	for (int i = 0; i < 1000; i++)
		jtext_puts(&b, "0123456789");
	CHECK_INT(b.len, 10000);
	s = jtext_take(&b);
	CHECK(s != NULL && strlen(s) == 10000);
	CHECK_INT(b.len, 0);
	free(s);
	jtext_puts(&b, "x");
	jtext_clear(&b);
	CHECK(b.p == NULL);
}

struct seen {
	char text[512];
};

static void seen_member(void *cls, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct seen *s = cls;
	size_t n = strlen(s->text);
	snprintf(s->text + n, sizeof s->text - n, "[%.*s]=[%.*s]", (int)nlen, name, (int)vlen,
		 value);
}

/* jtext_members: each member's name as written and its value's text, nested values and
 * strings holding braces, commas and quotes skipped whole; a non-object refused. */
static void test_members(void)
{
	struct seen s = {""};
	const char *pg =
		"{\"a\": 1, \"b\": {\"x\": [1, \"}],\"]}, \"c\\\"d\": \"e,f\", \"e\": null,"
		" \"f\": [], \"g\": -1.5e3}";
	CHECK(jtext_members(pg, strlen(pg), seen_member, &s));
	CHECK_STR(s.text, "[a]=[1][b]=[{\"x\": [1, \"}],\"]}][c\\\"d]=[\"e,f\"][e]=[null][f]=[[]]"
			  "[g]=[-1.5e3]");
	s.text[0] = '\0';
	CHECK(jtext_members(" {} ", 4, seen_member, &s));
	CHECK_STR(s.text, "");
	CHECK(!jtext_members("[1]", 3, seen_member, &s));
	CHECK(!jtext_members("{\"a\": 1", 8, seen_member, &s));
}

TESTS(test_members, test_compact_matches_jansson, test_string_matches_jansson,
      test_object_with_tail, test_put_and_take)
