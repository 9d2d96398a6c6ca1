/*
 * dav.c -- WebDAV/CalDAV request bodies, parsed with libxml2 (see dav.h for the rules).
 */
#include "dav/dav.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

/* Swallows libxml2's generic error messages (see dav_parse_request). */
static void xml_silent(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xml_silent(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/* Is `n` an element named `ns` `name`? */
static bool is_el(const xmlNode *n, const char *ns, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
	       strcmp((const char *)n->ns->href, ns) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

/* The first child element of `n` named `ns` `name`, or NULL. */
static xmlNode *child(const xmlNode *n, const char *ns, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c != NULL; c = c->next)
		if (is_el(c, ns, name))
			return c;
	return NULL;
}

static bool add_prop(struct dav_body *b, const xmlNode *n)
{
	struct dav_propname *np = realloc(b->props, (b->nprops + 1) * sizeof *np);
	if (np == NULL)
		return false;
	b->props = np;
	const char *ns = n->ns && n->ns->href ? (const char *)n->ns->href : "";
	np[b->nprops].ns = strdup(ns);
	np[b->nprops].name = strdup((const char *)n->name);
	b->nprops++;
	return np[b->nprops - 1].ns != NULL && np[b->nprops - 1].name != NULL;
}

/* Collects the element children of <prop> `prop`. */
static bool add_props(struct dav_body *b, const xmlNode *prop)
{
	for (xmlNode *c = prop->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !add_prop(b, c))
			return false;
	return true;
}

/* The text content of `n` with surrounding white space trimmed (owned), or NULL. */
static char *text_of(const xmlNode *n)
{
	xmlChar *t = xmlNodeGetContent(n);
	if (t == NULL)
		return strdup("");
	const char *s = (const char *)t;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t len = strlen(s);
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	char *out = strndup(s, len);
	xmlFree(t);
	return out;
}

bool dav_time_parse(const char *s, long long *ms)
{
	int y, mo, d, h, mi, se;
	char z = 0, rest = 0;
	if (strlen(s) != 16 ||
	    sscanf(s, "%4d%2d%2dT%2d%2d%2d%c%c", &y, &mo, &d, &h, &mi, &se, &z, &rest) != 7 ||
	    z != 'Z' || y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60 || h < 0 || mi < 0 || se < 0)
		return false;
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = se};
	*ms = (long long)timegm(&tm) * 1000;
	return true;
}

static void unsupported(struct dav_body *b, const char *what)
{
	if (b->unsupported_filter[0] == '\0')
		snprintf(b->unsupported_filter, sizeof b->unsupported_filter, "%s", what);
}

/* A comp-filter below VCALENDAR: its name, at most a time-range, nothing else. */
static enum tr_code comp_filter(struct dav_body *b, const xmlNode *cf, struct tr_error *err)
{
	xmlChar *name = xmlGetProp(cf, (const xmlChar *)"name");
	snprintf(b->comp, sizeof b->comp, "%s", name ? (const char *)name : "");
	xmlFree(name);
	for (xmlNode *c = cf->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!is_el(c, CALDAV_NS, "time-range")) {
			unsupported(b, (const char *)c->name);
			continue;
		}
		xmlChar *st = xmlGetProp(c, (const xmlChar *)"start");
		xmlChar *en = xmlGetProp(c, (const xmlChar *)"end");
		bool ok = st != NULL || en != NULL;
		b->has_range = true;
		b->range_start_ms = LLONG_MIN;
		b->range_end_ms = LLONG_MAX;
		if (st != NULL)
			ok = ok && dav_time_parse((const char *)st, &b->range_start_ms);
		if (en != NULL)
			ok = ok && dav_time_parse((const char *)en, &b->range_end_ms);
		xmlFree(st);
		xmlFree(en);
		if (!ok)
			return tr_error_set(err, TR_E_BAD_REQUEST, "time-range",
					    "time-range needs start and/or end as UTC date-times "
					    "(20060104T000000Z)");
	}
	return TR_OK;
}

/* <filter><comp-filter name="VCALENDAR">[<comp-filter name="VEVENT">...]</...></filter> */
static enum tr_code parse_filter(struct dav_body *b, const xmlNode *f, struct tr_error *err)
{
	const xmlNode *cal = NULL;
	for (xmlNode *c = f->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (cal != NULL || !is_el(c, CALDAV_NS, "comp-filter")) {
			unsupported(b, (const char *)c->name);
			continue;
		}
		cal = c;
	}
	if (cal == NULL)
		return TR_OK;
	xmlChar *name = xmlGetProp(cal, (const xmlChar *)"name");
	bool vcal = name != NULL && strcmp((const char *)name, "VCALENDAR") == 0;
	xmlFree(name);
	if (!vcal) {
		unsupported(b, "comp-filter");
		return TR_OK;
	}
	const xmlNode *inner = NULL;
	for (xmlNode *c = cal->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (inner != NULL || !is_el(c, CALDAV_NS, "comp-filter")) {
			unsupported(b, (const char *)c->name);
			continue;
		}
		inner = c;
	}
	return inner ? comp_filter(b, inner, err) : TR_OK;
}

static enum tr_code parse_report(struct dav_body *b, const xmlNode *root, struct tr_error *err)
{
	const char *ns = root->ns && root->ns->href ? (const char *)root->ns->href : "";
	snprintf(b->report_ns, sizeof b->report_ns, "%s", ns);
	snprintf(b->report_name, sizeof b->report_name, "%s", (const char *)root->name);
	const xmlNode *prop = child(root, DAV_NS, "prop");
	if (prop != NULL && !add_props(b, prop))
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	b->allprop = prop == NULL;
	if (is_el(root, CALDAV_NS, "calendar-query")) {
		b->kind = DAV_REPORT_CALENDAR_QUERY;
		const xmlNode *f = child(root, CALDAV_NS, "filter");
		return f ? parse_filter(b, f, err) : TR_OK;
	}
	if (is_el(root, CALDAV_NS, "calendar-multiget")) {
		b->kind = DAV_REPORT_MULTIGET;
		for (xmlNode *c = root->children; c != NULL; c = c->next) {
			if (!is_el(c, DAV_NS, "href"))
				continue;
			char **nh = realloc(b->hrefs, (b->nhrefs + 1) * sizeof *nh);
			if (nh == NULL)
				return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
			b->hrefs = nh;
			if ((nh[b->nhrefs] = text_of(c)) == NULL)
				return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
			b->nhrefs++;
		}
		return TR_OK;
	}
	if (is_el(root, DAV_NS, "sync-collection")) {
		b->kind = DAV_REPORT_SYNC;
		const xmlNode *t = child(root, DAV_NS, "sync-token");
		b->sync_token = t ? text_of(t) : strdup("");
		const xmlNode *lv = child(root, DAV_NS, "sync-level");
		char *level = lv ? text_of(lv) : NULL;
		b->sync_infinite = level != NULL && strcmp(level, "infinite") == 0;
		free(level);
		const xmlNode *lim = child(child(root, DAV_NS, "limit"), DAV_NS, "nresults");
		if (lim != NULL) {
			char *n = text_of(lim), *end = NULL;
			b->limit = n ? strtoll(n, &end, 10) : 0;
			bool bad = n == NULL || *n == '\0' || *end != '\0' || b->limit <= 0;
			free(n);
			if (bad)
				return tr_error_set(err, TR_E_BAD_REQUEST, "nresults",
						    "limit/nresults must be a positive integer");
		}
		return b->sync_token ? TR_OK : tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	b->kind = DAV_REPORT_OTHER;
	return TR_OK;
}

static enum tr_code parse_propfind(struct dav_body *b, const xmlNode *root, struct tr_error *err)
{
	if (!is_el(root, DAV_NS, "propfind"))
		return tr_error_set(err, TR_E_BAD_REQUEST, NULL,
				    "a PROPFIND body is a DAV:propfind");
	const xmlNode *prop = child(root, DAV_NS, "prop");
	if (prop != NULL) {
		b->kind = DAV_PROPFIND_PROP;
		return add_props(b, prop) ? TR_OK
					  : tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	b->kind = child(root, DAV_NS, "propname") ? DAV_PROPFIND_PROPNAME : DAV_PROPFIND_ALLPROP;
	return TR_OK;
}

enum tr_code dav_body_parse(const char *text, size_t len, bool report, struct dav_body **out,
			    struct tr_error *err)
{
	*out = NULL;
	if (len > DAV_BODY_MAX)
		return tr_error_set(err, TR_E_BODY_TOO_LARGE, NULL,
				    "DAV request bodies are limited to %d bytes", DAV_BODY_MAX);
	struct dav_body *b = calloc(1, sizeof *b);
	if (b == NULL)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	size_t i = 0;
	while (i < len && strchr(" \t\r\n", text[i]) != NULL)
		i++;
	if (i == len) {
		if (report) {
			free(b);
			return tr_error_set(err, TR_E_BAD_REQUEST, NULL, "a REPORT needs a body");
		}
		b->kind = DAV_PROPFIND_ALLPROP;
		*out = b;
		return TR_OK;
	}
	pthread_once(&xml_once, xml_init);
	/* A client's bad bytes are its problem, reported in the reply: libxml2 would also
	 * print encoding errors on stderr through this thread's generic handler. */
	xmlSetGenericErrorFunc(NULL, xml_silent);
	/* No XML_PARSE_NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR, no network. */
	xmlDoc *doc = xmlReadMemory(text, (int)len, "body.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
					    XML_PARSE_NOCDATA);
	enum tr_code rc;
	if (doc == NULL)
		rc = tr_error_set(err, TR_E_BAD_REQUEST, NULL, "the body is not well-formed XML");
	else if (doc->intSubset != NULL || doc->extSubset != NULL)
		rc = tr_error_set(err, TR_E_BAD_REQUEST, NULL, "DOCTYPE is not accepted");
	else if (xmlDocGetRootElement(doc) == NULL)
		rc = tr_error_set(err, TR_E_BAD_REQUEST, NULL, "the body has no root element");
	else if (report)
		rc = parse_report(b, xmlDocGetRootElement(doc), err);
	else
		rc = parse_propfind(b, xmlDocGetRootElement(doc), err);
	xmlFreeDoc(doc);
	if (rc != TR_OK) {
		dav_body_free(b);
		return rc;
	}
	*out = b;
	return TR_OK;
}

void dav_body_free(struct dav_body *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nprops; i++) {
		free(b->props[i].ns);
		free(b->props[i].name);
	}
	free(b->props);
	for (size_t i = 0; i < b->nhrefs; i++)
		free(b->hrefs[i]);
	free(b->hrefs);
	free(b->sync_token);
	free(b);
}

bool dav_body_wants(const struct dav_body *b, const char *ns, const char *name)
{
	for (size_t i = 0; i < b->nprops; i++)
		if (b->props[i].ns && b->props[i].name && strcmp(b->props[i].ns, ns) == 0 &&
		    strcmp(b->props[i].name, name) == 0)
			return true;
	return false;
}
