/*
 * defs.c -- loading the definition directories into snapshots, and swapping them.
 */
#include "defs/defs.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "policy/catalog.h"
#include "policy/policy.h"
#include "wf/wf.h"

/* Appends one formatted line to a growable error text. */
static void errors_add(char **errors, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errors_add(char **errors, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	size_t old = *errors ? strlen(*errors) : 0, add = strlen(line);
	char *n = realloc(*errors, old + add + 2);
	if (n == NULL)
		return;
	memcpy(n + old, line, add);
	n[old + add] = '\n';
	n[old + add + 1] = '\0';
	*errors = n;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Hashes the names and contents of the regular files of `dir` (sorted) into `ctx`;
 * JSON files must parse.  Returns the number of files, or -1 after recording errors.
 */
static int hash_dir(const char *dir, unsigned char acc[CRYPTO_SHA256_LEN], char **errors)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int files = 0;
	bool bad = false;

	if (d == NULL) {
		errors_add(errors, "%s: cannot open directory: %s", dir, strerror(errno));
		return -1;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof *nn);
			if (nn == NULL)
				break;
			names = nn;
		}
		names[n] = strdup(e->d_name);
		if (names[n] != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[2048];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *fp = fopen(path, "rb");
		if (fp == NULL)
			continue; /* a sub-directory or unreadable entry: not a definition */
		char *text = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&text, &len);
		char buf[8192];
		for (size_t k; mem != NULL && (k = fread(buf, 1, sizeof buf, fp)) > 0;)
			fwrite(buf, 1, k, mem);
		fclose(fp);
		if (mem != NULL)
			fclose(mem);
		if (text == NULL)
			continue;
		size_t nl = strlen(names[i]);
		if (nl > 5 && strcmp(names[i] + nl - 5, ".json") == 0) {
			json_error_t je;
			json_t *j = json_loadb(text, len, 0, &je);
			if (j == NULL) {
				errors_add(errors, "%s: line %d: column %d: %s", path, je.line,
					   je.column, je.text);
				bad = true;
			}
			json_decref(j);
		}
		/* acc = sha256(acc || name || NUL || sha256(content)) */
		unsigned char digest[CRYPTO_SHA256_LEN];
		crypto_sha256(text, len, digest);
		size_t total = CRYPTO_SHA256_LEN + nl + 1 + CRYPTO_SHA256_LEN;
		unsigned char *m = malloc(total);
		if (m != NULL) {
			memcpy(m, acc, CRYPTO_SHA256_LEN);
			memcpy(m + CRYPTO_SHA256_LEN, names[i], nl + 1);
			memcpy(m + CRYPTO_SHA256_LEN + nl + 1, digest, CRYPTO_SHA256_LEN);
			crypto_sha256(m, total, acc);
			free(m);
		}
		free(text);
		files++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return bad ? -1 : files;
}

struct defs *defs_load(const char *workflows_dir, const char *policies_dir, const char *now_rfc3339,
		       char **errors)
{
	unsigned char acc[CRYPTO_SHA256_LEN] = {0};
	struct wf_diags diags = {0};
	struct defs *d;
	*errors = NULL;

	int wn = hash_dir(workflows_dir, acc, errors);
	int pn = hash_dir(policies_dir, acc, errors);
	struct wf_set *set = wn >= 0 ? wf_set_load_dir(workflows_dir, &diags) : NULL;
	struct policy_catalog *catalog = NULL;
	char catalog_path[2048];
	snprintf(catalog_path, sizeof catalog_path, "%s/services.json", policies_dir);
	bool catalog_ok = pn < 0 || access(catalog_path, F_OK) != 0 ||
			  (catalog = catalog_load_file(catalog_path, &diags)) != NULL;
	struct policy_set *policies = NULL;
	bool policies_ok = pn < 0 || !catalog_ok || !policy_dir_configured(policies_dir) ||
			   (policies = policy_load_dir(policies_dir, catalog, &diags)) != NULL;
	if (diags.n > 0 || (wn >= 0 && set == NULL)) {
		char *text = wf_diags_join(&diags);
		errors_add(errors, "%s", text && *text ? text : "definitions cannot be loaded");
		free(text);
		/* errors_add ended the joined text with a second newline; trim it */
		size_t len = strlen(*errors);
		while (len > 1 && (*errors)[len - 1] == '\n' && (*errors)[len - 2] == '\n')
			(*errors)[--len] = '\0';
	}
	wf_diags_clear(&diags);
	if (wn < 0 || pn < 0 || set == NULL || !catalog_ok || !policies_ok) {
		wf_set_free(set);
		policy_free(policies);
		catalog_free(catalog);
		return NULL;
	}
	d = calloc(1, sizeof *d);
	if (d == NULL) {
		wf_set_free(set);
		policy_free(policies);
		catalog_free(catalog);
		errors_add(errors, "out of memory");
		return NULL;
	}
	atomic_init(&d->refs, 1);
	d->workflows = set;
	d->catalog = catalog;
	d->policies = policies;
	d->files = (unsigned)(wn + pn);
	for (int i = 0; i < 8; i++)
		snprintf(d->version + 2 * i, 3, "%02x", acc[i]);
	snprintf(d->loaded_at, sizeof d->loaded_at, "%s", now_rfc3339);
	return d;
}

struct defs *defs_ref(struct defs *d)
{
	if (d != NULL)
		atomic_fetch_add(&d->refs, 1);
	return d;
}

void defs_release(struct defs *d)
{
	if (d == NULL || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	wf_set_free(d->workflows);
	policy_free(d->policies);
	catalog_free(d->catalog);
	free(d);
}

void defs_holder_init(struct defs_holder *h, struct defs *initial)
{
	pthread_mutex_init(&h->lock, NULL);
	h->current = initial;
	atomic_init(&h->generation, 1);
	h->last_error = NULL;
	h->last_attempt[0] = '\0';
}

void defs_holder_destroy(struct defs_holder *h)
{
	defs_release(h->current);
	h->current = NULL;
	free(h->last_error);
	h->last_error = NULL;
	pthread_mutex_destroy(&h->lock);
}

bool defs_holder_reload(struct defs_holder *h, const char *workflows_dir, const char *policies_dir,
			const char *now_rfc3339)
{
	char *errors = NULL;
	struct defs *fresh = defs_load(workflows_dir, policies_dir, now_rfc3339, &errors);
	struct defs *old = NULL;

	pthread_mutex_lock(&h->lock);
	snprintf(h->last_attempt, sizeof h->last_attempt, "%s", now_rfc3339);
	free(h->last_error);
	h->last_error = NULL;
	if (fresh != NULL) {
		old = h->current;
		h->current = fresh;
		atomic_fetch_add(&h->generation, 1);
		free(errors);
	} else {
		h->last_error = errors ? errors : strdup("definitions cannot be loaded");
	}
	pthread_mutex_unlock(&h->lock);
	defs_release(old);
	return fresh != NULL;
}

struct defs *defs_holder_get(struct defs_holder *h, struct defs **cached, unsigned long *gen)
{
	unsigned long now = atomic_load(&h->generation);
	if (now != *gen) {
		struct defs *old = *cached;
		pthread_mutex_lock(&h->lock);
		*cached = defs_ref(h->current);
		*gen = atomic_load(&h->generation);
		pthread_mutex_unlock(&h->lock);
		defs_release(old);
	}
	return *cached;
}

json_t *defs_holder_status(struct defs_holder *h, bool *loaded, bool *last_ok)
{
	json_t *j;
	pthread_mutex_lock(&h->lock);
	*loaded = h->current != NULL;
	*last_ok = h->last_error == NULL;
	j = json_pack("{s:b, s:b}", "loaded", *loaded, "last_reload_ok", *last_ok);
	if (j != NULL && h->current != NULL) {
		json_object_set_new(j, "version", json_string(h->current->version));
		json_object_set_new(j, "loaded_at", json_string(h->current->loaded_at));
		json_object_set_new(j, "workflows",
				    json_integer((json_int_t)wf_set_count(h->current->workflows)));
	}
	if (j != NULL && h->last_error != NULL) {
		json_object_set_new(j, "last_error", json_string(h->last_error));
		json_object_set_new(j, "last_attempt", json_string(h->last_attempt));
	}
	pthread_mutex_unlock(&h->lock);
	return j;
}
