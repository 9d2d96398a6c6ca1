/*
 * mailnet.c -- SMTP submission and IMAP polling with libcurl (declared in net.h).
 *
 * Part of the net module (the only one that includes libcurl).  Each call uses its own
 * easy handle: thread-safe after net_init().  Only smtp/smtps resp. imap/imaps are spoken;
 * plain smtp:// and imap:// upgrade with STARTTLS when the server offers it (smtps:// and
 * imaps:// are TLS from the start); peers are verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "net/net.h"

#define IMAP_SEARCH_MAX (256u * 1024) /* bytes of a UID SEARCH reply kept */

struct upload {
	const char *p;
	size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *userp)
{
	struct upload *u = userp;
	size_t n = size * nmemb;
	if (n > u->left)
		n = u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

struct sink {
	char *p;
	size_t len, max;
	bool over, oom;
};

static size_t sink_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct sink *s = userp;
	size_t n = size * nmemb;
	if (s->len + n > s->max) {
		s->over = true;
		return 0;
	}
	char *p = realloc(s->p, s->len + n + 1);
	if (p == NULL) {
		s->oom = true;
		return 0;
	}
	memcpy(p + s->len, data, n);
	s->p = p;
	s->len += n;
	s->p[s->len] = '\0';
	return n;
}

/* A handle with the options every mail call shares; NULL when it cannot be made. */
static CURL *mail_handle(const struct net_mail_opts *o, const char *url, const char *protocols,
			 char *errbuf)
{
	CURL *h = curl_easy_init();
	if (h == NULL)
		return NULL;
	long t = o->timeout_ms > 0 ? o->timeout_ms : NET_TIMEOUT_MS_DEFAULT;
	bool ok = curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			       t < NET_CONNECT_TIMEOUT_MS ? t : NET_CONNECT_TIMEOUT_MS) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
	if (o->user != NULL && *o->user)
		ok &= curl_easy_setopt(h, CURLOPT_USERNAME, o->user) == CURLE_OK;
	if (o->password != NULL && *o->password)
		ok &= curl_easy_setopt(h, CURLOPT_PASSWORD, o->password) == CURLE_OK;
	if (!ok) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

static int fail(char *err, size_t errlen, CURLcode rc, const char *errbuf, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	return -1;
}

int net_smtp_send(const struct net_mail_opts *o, const char *from, const char *to, const char *msg,
		  size_t len, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "", addr[512];
	if (o == NULL || o->url == NULL || from == NULL || to == NULL || msg == NULL ||
	    strpbrk(from, "<>\r\n") || strpbrk(to, "<>\r\n")) {
		snprintf(err, errlen, "bad arguments");
		return -1;
	}
	CURL *h = mail_handle(o, o->url, "smtp,smtps", errbuf);
	if (h == NULL) {
		snprintf(err, errlen, "cannot create a curl handle");
		return -1;
	}
	struct upload u = {msg, len};
	struct curl_slist *rcpt = NULL;
	snprintf(addr, sizeof addr, "<%s>", to);
	struct curl_slist *r = curl_slist_append(rcpt, addr);
	snprintf(addr, sizeof addr, "<%s>", from);
	bool ok = r != NULL;
	rcpt = r;
	ok = ok && curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr) == CURLE_OK;
	ok = ok && curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt) == CURLE_OK;
	ok = ok && curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb) == CURLE_OK;
	ok = ok && curl_easy_setopt(h, CURLOPT_READDATA, &u) == CURLE_OK;
	ok = ok && curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len) == CURLE_OK;
	int rc = 0;
	if (!ok) {
		snprintf(err, errlen, "cannot set the smtp options");
		rc = -1;
	} else {
		CURLcode c = curl_easy_perform(h);
		if (c != CURLE_OK)
			rc = fail(err, errlen, c, errbuf, "smtp");
	}
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	return rc;
}

/* Runs one IMAP request on `url` (a custom command when `custom`), keeping its output. */
static int imap_run(const struct net_mail_opts *o, const char *url, const char *custom, size_t max,
		    struct sink *s, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = mail_handle(o, url, "imap,imaps", errbuf);
	if (h == NULL) {
		snprintf(err, errlen, "cannot create a curl handle");
		return -1;
	}
	s->max = max;
	bool ok = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_cb) == CURLE_OK;
	ok = ok && curl_easy_setopt(h, CURLOPT_WRITEDATA, s) == CURLE_OK;
	if (custom != NULL)
		ok = ok && curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, custom) == CURLE_OK;
	int rc = 0;
	if (!ok) {
		snprintf(err, errlen, "cannot set the imap options");
		rc = -1;
	} else {
		CURLcode c = curl_easy_perform(h);
		if (s->oom)
			rc = (snprintf(err, errlen, "out of memory"), -1);
		else if (s->over)
			rc = (snprintf(err, errlen, "reply larger than %zu bytes", max), -1);
		else if (c != CURLE_OK)
			rc = fail(err, errlen, c, errbuf, "imap");
	}
	curl_easy_cleanup(h);
	return rc;
}

int net_imap_unseen(const struct net_mail_opts *o, unsigned long *uids, size_t max, size_t *n,
		    char *err, size_t errlen)
{
	struct sink s = {0};
	*n = 0;
	if (o == NULL || o->url == NULL) {
		snprintf(err, errlen, "bad arguments");
		return -1;
	}
	if (imap_run(o, o->url, "UID SEARCH UNSEEN", IMAP_SEARCH_MAX, &s, err, errlen) != 0) {
		free(s.p);
		return -1;
	}
	/* "* SEARCH 3 7 9\r\n" */
	const char *p = s.p ? strstr(s.p, "* SEARCH") : NULL;
	if (p != NULL) {
		p += 8;
		while (*n < max) {
			char *end;
			while (*p == ' ')
				p++;
			unsigned long v = strtoul(p, &end, 10);
			if (end == p)
				break;
			uids[(*n)++] = v;
			p = end;
		}
	}
	free(s.p);
	return 0;
}

int net_imap_fetch(const struct net_mail_opts *o, unsigned long uid, size_t max_bytes, char **body,
		   size_t *len, char *err, size_t errlen)
{
	char url[2300];
	struct sink s = {0};
	*body = NULL;
	*len = 0;
	if (o == NULL || o->url == NULL) {
		snprintf(err, errlen, "bad arguments");
		return -1;
	}
	size_t ul = strlen(o->url);
	snprintf(url, sizeof url, "%s%s;UID=%lu", o->url,
		 ul > 0 && o->url[ul - 1] == '/' ? "" : "/", uid);
	if (imap_run(o, url, NULL, max_bytes, &s, err, errlen) != 0) {
		free(s.p);
		return -1;
	}
	if (s.p == NULL && (s.p = calloc(1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*body = s.p;
	*len = s.len;
	return 0;
}

int net_imap_flag_seen(const struct net_mail_opts *o, unsigned long uid, bool seen, char *err,
		       size_t errlen)
{
	char cmd[96];
	struct sink s = {0};
	if (o == NULL || o->url == NULL) {
		snprintf(err, errlen, "bad arguments");
		return -1;
	}
	snprintf(cmd, sizeof cmd, "UID STORE %lu %cFLAGS (\\Seen)", uid, seen ? '+' : '-');
	int rc = imap_run(o, o->url, cmd, IMAP_SEARCH_MAX, &s, err, errlen);
	free(s.p);
	return rc;
}
