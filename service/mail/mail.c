/*
 * mail.c -- building iMIP invitations and reading replies with GMime 3 (mail.h).
 *
 * GMime objects are reference-counted GObjects: every object made here is unreferenced
 * before return; a container holds its own reference to what is added to it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mail/mail.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
	g_mime_init();
}

/* A leaf part `type`/`subtype` holding `data` (`len` bytes), base64 on the wire. */
static GMimePart *binary_part(const char *type, const char *subtype, const char *data, size_t len)
{
	GMimePart *part = g_mime_part_new_with_type(type, subtype);
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeDataWrapper *w =
		g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, w);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_object_unref(w);
	g_object_unref(s);
	return part;
}

static GMimeTextPart *text_part(const char *subtype, const char *text)
{
	GMimeTextPart *t = g_mime_text_part_new_with_subtype(subtype);
	g_mime_text_part_set_charset(t, "utf-8");
	g_mime_text_part_set_text(t, text);
	return t;
}

/*
 * A header value on one line: each run of control characters (CR, LF, TAB, the other C0
 * codes, DEL) becomes one space, so a change title with a newline cannot break the header
 * or add one.  Owned (g_free); NULL for NULL.
 */
static char *header_value(const char *s)
{
	if (s == NULL)
		return NULL;
	char *out = g_malloc(strlen(s) + 1), *o = out;
	bool space = false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			space = true;
			continue;
		}
		if (space) { /* one space where the run was, none at the start */
			space = false;
			bool after_space = o > out && o[-1] == ' ';
			if (*p == ' ' && after_space)
				continue;
			if (*p != ' ' && o > out && !after_space)
				*o++ = ' ';
		}
		*o++ = (char)*p;
	}
	*o = '\0';
	return out;
}

char *mail_build_invitation(const struct mail_invitation *m, size_t *len)
{
	*len = 0;
	if (m == NULL || m->from_addr == NULL || m->to_addr == NULL || m->subject == NULL ||
	    m->text == NULL || m->html == NULL || m->ics == NULL || m->method == NULL)
		return NULL;
	pthread_once(&init_once, init);

	GMimeMessage *msg = g_mime_message_new(TRUE);
	char *from_name = header_value(m->from_name ? m->from_name : "");
	char *to_name = header_value(m->to_name ? m->to_name : "");
	char *subject = header_value(m->subject);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, from_name, m->from_addr);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, to_name, m->to_addr);
	if (m->reply_to != NULL)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, "", m->reply_to);
	g_mime_message_set_subject(msg, subject, "utf-8");
	g_free(from_name);
	g_free(to_name);
	g_free(subject);
	GDateTime *date = g_date_time_new_from_unix_utc((gint64)(m->date_ms / 1000));
	g_mime_message_set_date(msg, date);
	g_date_time_unref(date);
	char *mid = g_mime_utils_generate_message_id(m->id_domain ? m->id_domain : "transom");
	g_mime_message_set_message_id(msg, mid);
	g_free(mid);
	/* Outlook routes a message with this class to its calendar handling. */
	g_mime_object_set_header((GMimeObject *)msg, "Content-Class",
				 "urn:content-classes:calendarmessage", NULL);

	GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
	GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
	GMimeTextPart *plain = text_part("plain", m->text);
	GMimeTextPart *html = text_part("html", m->html);
	size_t ics_len = strlen(m->ics);
	GMimePart *cal = binary_part("text", "calendar", m->ics, ics_len);
	g_mime_object_set_content_type_parameter((GMimeObject *)cal, "charset", "utf-8");
	g_mime_object_set_content_type_parameter((GMimeObject *)cal, "method", m->method);
	GMimePart *att = binary_part("application", "ics", m->ics, ics_len);
	g_mime_object_set_content_type_parameter((GMimeObject *)att, "name", "invite.ics");
	g_mime_part_set_filename(att, "invite.ics");

	g_mime_multipart_add(alt, (GMimeObject *)plain);
	g_mime_multipart_add(alt, (GMimeObject *)html);
	g_mime_multipart_add(alt, (GMimeObject *)cal);
	g_mime_multipart_add(mixed, (GMimeObject *)alt);
	g_mime_multipart_add(mixed, (GMimeObject *)att);
	g_mime_message_set_mime_part(msg, (GMimeObject *)mixed);
	g_object_unref(plain);
	g_object_unref(html);
	g_object_unref(cal);
	g_object_unref(att);
	g_object_unref(alt);
	g_object_unref(mixed);

	GMimeFormatOptions *fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	GMimeStream *out = g_mime_stream_mem_new();
	char *text = NULL;
	if (g_mime_object_write_to_stream((GMimeObject *)msg, fo, out) >= 0) {
		GByteArray *bytes = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)out);
		text = malloc(bytes->len + 1);
		if (text != NULL) {
			if (bytes->len > 0) /* an empty array's data may be NULL */
				memcpy(text, bytes->data, bytes->len);
			text[bytes->len] = '\0';
			*len = bytes->len;
		}
	}
	g_object_unref(out);
	g_mime_format_options_free(fo);
	g_object_unref(msg);
	return text;
}

/* ---- parsing ---------------------------------------------------------------------------- */

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

struct collect {
	struct mail_parsed *out;
	bool want_text; /* first pass: text/calendar; second: application/ics */
	bool oom;
};

static void collect_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	struct collect *c = data;
	(void)parent;
	if (!GMIME_IS_PART(part) || c->out->n_calendars == MAIL_CALENDARS_MAX)
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	bool is = c->want_text ? g_mime_content_type_is_type(ct, "text", "calendar")
			       : g_mime_content_type_is_type(ct, "application", "ics");
	if (!is)
		return;
	GMimeDataWrapper *w = g_mime_part_get_content((GMimePart *)part);
	if (w == NULL)
		return;
	GMimeStream *mem = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(w, mem) >= 0) {
		GByteArray *b = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
		char *copy = malloc(b->len + 1);
		if (copy == NULL) {
			c->oom = true;
		} else {
			if (b->len > 0) /* an empty part's data is NULL: no memcpy(x, NULL, 0) */
				memcpy(copy, b->data, b->len);
			copy[b->len] = '\0';
			c->out->calendars[c->out->n_calendars] = copy;
			c->out->calendar_lens[c->out->n_calendars++] = b->len;
		}
	}
	g_object_unref(mem);
}

bool mail_parse(const char *raw, size_t len, struct mail_parsed *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	if (raw == NULL || len == 0 || len > MAIL_PARSE_MAX) {
		snprintf(why, whylen, "empty or too large message");
		return false;
	}
	pthread_once(&init_once, init);
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	g_mime_parser_set_persist_stream(p, FALSE);
	/* The parser and its stream live as long as the message: parts read from them. */
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
	if (msg == NULL || g_mime_message_get_mime_part(msg) == NULL) {
		if (msg != NULL)
			g_object_unref(msg);
		g_object_unref(p);
		g_object_unref(s);
		snprintf(why, whylen, "not a MIME message");
		return false;
	}
	InternetAddressList *from = g_mime_message_get_from(msg);
	const char *addr = NULL;
	if (from != NULL && internet_address_list_length(from) == 1) {
		InternetAddress *ia = internet_address_list_get_address(from, 0);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			addr = internet_address_mailbox_get_addr((InternetAddressMailbox *)ia);
	}
	out->from = dup_or_empty(addr);
	out->message_id = dup_or_empty(g_mime_message_get_message_id(msg));
	out->subject = dup_or_empty(g_mime_message_get_subject(msg));
	/* Authentication-Results, in the order they appear (the nearest MTA's first). */
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int nh = hl ? g_mime_header_list_get_count(hl) : 0;
	bool ar_oom = false;
	for (int i = 0; i < nh && out->n_auth_results < MAIL_AUTHRES_MAX; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		if (h == NULL ||
		    g_ascii_strcasecmp(g_mime_header_get_name(h), "Authentication-Results") != 0)
			continue;
		char *v = dup_or_empty(g_mime_header_get_value(h));
		ar_oom |= v == NULL;
		if (v != NULL)
			out->auth_results[out->n_auth_results++] = v;
	}
	struct collect c = {.out = out, .want_text = true};
	g_mime_message_foreach(msg, collect_part, &c);
	c.want_text = false;
	g_mime_message_foreach(msg, collect_part, &c);
	/* A message that is itself one text/calendar part. */
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	if (out->n_calendars == 0 && GMIME_IS_PART(top)) {
		c.want_text = true;
		collect_part(NULL, top, &c);
	}
	g_object_unref(msg);
	g_object_unref(p);
	g_object_unref(s);
	if (c.oom || ar_oom || out->from == NULL || out->message_id == NULL ||
	    out->subject == NULL) {
		snprintf(why, whylen, "out of memory");
		return false;
	}
	return true;
}

void mail_parsed_clear(struct mail_parsed *p)
{
	if (p == NULL)
		return;
	free(p->from);
	free(p->message_id);
	free(p->subject);
	for (size_t i = 0; i < p->n_calendars; i++)
		free(p->calendars[i]);
	for (size_t i = 0; i < p->n_auth_results; i++)
		free(p->auth_results[i]);
	memset(p, 0, sizeof *p);
}
