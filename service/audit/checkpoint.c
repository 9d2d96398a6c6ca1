/*
 * checkpoint.c -- the signed message and the JSON line of an audit checkpoint.
 */
#include "audit/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_hex64(const char *s)
{
	if (s == NULL || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

bool audit_checkpoint_add_hash(struct audit_checkpoint *c, const char *hash)
{
	if (!is_hex64(hash))
		return false;
	if ((c->nhashes & (c->nhashes - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
		size_t cap = c->nhashes ? c->nhashes * 2 : 16;
		void *p = realloc(c->hashes, cap * sizeof *c->hashes);
		if (p == NULL)
			return false;
		c->hashes = p;
	}
	memcpy(c->hashes[c->nhashes++], hash, CRYPTO_SHA256_HEX_LEN);
	return true;
}

char *audit_checkpoint_message(struct audit_checkpoint *c)
{
	size_t n = c->nhashes * 64;
	char *all = malloc(n + 1);
	if (all == NULL)
		return NULL;
	for (size_t i = 0; i < c->nhashes; i++)
		memcpy(all + i * 64, c->hashes[i], 64);
	crypto_sha256_hex(all, n, c->hashes_sha256);
	free(all);
	char *msg = NULL;
	if (asprintf(&msg,
		     "transom-audit-checkpoint/1\nseq=%lld\nhash=%s\nat=%s\nprev_seq=%lld\n"
		     "hashes_sha256=%s\n",
		     c->seq, c->hash, c->at, c->prev_seq, c->hashes_sha256) < 0)
		return NULL;
	return msg;
}

json_t *audit_checkpoint_summary(const struct audit_checkpoint *c)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s}", "seq", (json_int_t)c->seq, "hash",
			 c->hash, "at", c->at, "prev_seq", (json_int_t)c->prev_seq, "hashes_sha256",
			 c->hashes_sha256, "key", c->key, "sig", c->sig);
}

char *audit_checkpoint_line(const struct audit_checkpoint *c)
{
	json_t *o = audit_checkpoint_summary(c);
	json_t *list = json_array();
	if (o == NULL || list == NULL) {
		json_decref(o);
		json_decref(list);
		return NULL;
	}
	for (size_t i = 0; i < c->nhashes; i++)
		json_array_append_new(list, json_string(c->hashes[i]));
	json_object_set_new(o, "hashes", list);
	char *line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return line;
}

/* Copies string member `key` of `o` into `out` (`size` bytes); false when missing/long. */
static bool get_str(json_t *o, const char *key, char *out, size_t size)
{
	const char *v = json_string_value(json_object_get(o, key));
	if (v == NULL || strlen(v) >= size)
		return false;
	memcpy(out, v, strlen(v) + 1);
	return true;
}

bool audit_checkpoint_parse(const char *line, struct audit_checkpoint *out, char *why,
			    size_t whylen)
{
	memset(out, 0, sizeof *out);
	json_t *o = json_loads(line, 0, NULL);
	json_t *seq = json_object_get(o, "seq"), *prev = json_object_get(o, "prev_seq");
	json_t *list = json_object_get(o, "hashes");
	const char *fail = NULL;
	if (!json_is_object(o))
		fail = "not a JSON object";
	else if (!json_is_integer(seq) || !json_is_integer(prev) || json_integer_value(seq) < 1 ||
		 json_integer_value(prev) < 0 ||
		 json_integer_value(prev) >= json_integer_value(seq))
		fail = "seq and prev_seq must be integers, 0 <= prev_seq < seq";
	else if (!get_str(o, "hash", out->hash, sizeof out->hash) || !is_hex64(out->hash) ||
		 !get_str(o, "at", out->at, sizeof out->at) ||
		 !get_str(o, "key", out->key, sizeof out->key) ||
		 !get_str(o, "sig", out->sig, sizeof out->sig))
		fail = "hash, at, key and sig must be strings (hash: 64 hex digits)";
	else if (!json_is_array(list) ||
		 json_array_size(list) !=
			 (size_t)(json_integer_value(seq) - json_integer_value(prev)))
		fail = "hashes must list one hash per event since prev_seq";
	if (fail == NULL) {
		out->seq = json_integer_value(seq);
		out->prev_seq = json_integer_value(prev);
		for (size_t i = 0; fail == NULL && i < json_array_size(list); i++)
			if (!audit_checkpoint_add_hash(out,
						       json_string_value(json_array_get(list, i))))
				fail = "hashes must be 64 hex digits each";
		if (fail == NULL && strcmp(out->hashes[out->nhashes - 1], out->hash) != 0)
			fail = "the last of hashes is not hash";
	}
	json_decref(o);
	if (fail != NULL) {
		snprintf(why, whylen, "%s", fail);
		audit_checkpoint_clear(out);
		return false;
	}
	return true;
}

bool audit_checkpoint_verify(struct audit_checkpoint *c, const char *pub)
{
	char *msg = audit_checkpoint_message(c);
	bool ok = msg != NULL && crypto_sign_verify(pub, msg, strlen(msg), c->sig);
	free(msg);
	return ok;
}

void audit_checkpoint_clear(struct audit_checkpoint *c)
{
	if (c == NULL)
		return;
	free(c->hashes);
	c->hashes = NULL;
	c->nhashes = 0;
}
