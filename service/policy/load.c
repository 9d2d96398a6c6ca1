/*
 * load.c -- the policy set: file-reading helpers shared by the parsers, the checks across
 * files (groups, catalog services, quorums), reading the directory, and the version.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy_int.h"

#define MESSAGE_MAX  1024            /* longest diagnostic message, bytes, with its NUL */
#define DURATION_MAX (366LL * 86400) /* longest duration a policy may give */

/* ---- strings -------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at `s`, or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F)))
		return 0;
	if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F)))
		return 0;
	return n;
}

void policy_utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p != '\0') {
		size_t n = utf8_seq(p);
		if (n == 0)
			*p++ = '?';
		else
			p += n;
	}
}

void policy_say(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	policy_utf8_fix(buf);
}

void policy_duration_text(long long secs, char *buf, size_t size)
{
	static const struct {
		char unit;
		long long secs;
	} units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	size_t len = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (secs <= 0) {
		snprintf(buf, size, "%llds", secs);
		return;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0] && len < size; i++) {
		long long n = secs / units[i].secs;
		secs %= units[i].secs;
		if (n > 0) {
			int k = snprintf(buf + len, size - len, "%lld%c", n, units[i].unit);
			if (k < 0)
				return;
			len += (size_t)k;
		}
	}
}

/* ---- diagnostics and JSON helpers ----------------------------------------------------- */

void policy_pj_diag(struct pj *p, const char *path, int column, const char *fmt, ...)
{
	char msg[MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	policy_utf8_fix(msg);
	diags_add(p->d, p->file, path, column, "%s", msg);
}

bool policy_pj_ok(const struct pj *p)
{
	return p->d->n == p->before && !p->d->oom;
}

void policy_pj_path(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

json_t *policy_pj_load(struct pj *p, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (root == NULL) {
		char where[48] = "";
		/* jansson fails without a message only when it cannot allocate */
		if (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0') {
			p->d->oom = true;
			return NULL;
		}
		if (jerr.line > 0)
			snprintf(where, sizeof where, "line %d", jerr.line);
		policy_pj_diag(p, where, jerr.line > 0 ? jerr.column : 0, "invalid json: %s",
			       jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		policy_pj_diag(p, "", 0, "expected a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

void policy_pj_keys(struct pj *p, json_t *obj, const char *path, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (size_t k = 0; !ok && keys[k] != NULL; k++)
			ok = strcmp(keys[k], key) == 0;
		if (!ok)
			policy_pj_diag(p, path, 0, "unknown key '%.100s'", key);
	}
}

/* "path.key", or "key" at the top. */
static void sub_path(char *dst, size_t size, const char *path, const char *key)
{
	if (path[0] == '\0')
		policy_pj_path(dst, size, "%s", key);
	else
		policy_pj_path(dst, size, "%s.%s", path, key);
}

const char *policy_pj_str(struct pj *p, json_t *obj, const char *key, const char *path,
			  bool required)
{
	json_t *v = json_object_get(obj, key);
	char sub[256];

	if (v == NULL) {
		if (required)
			policy_pj_diag(p, path, 0, "missing key '%s'", key);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		sub_path(sub, sizeof sub, path, key);
		policy_pj_diag(p, sub, 0, "expected a non-empty string");
		return NULL;
	}
	return json_string_value(v);
}

json_t *policy_pj_array(struct pj *p, json_t *obj, const char *key, const char *path, bool required,
			size_t max)
{
	json_t *v = json_object_get(obj, key);
	char sub[256];

	if (v == NULL) {
		if (required)
			policy_pj_diag(p, path, 0, "missing key '%s'", key);
		return NULL;
	}
	sub_path(sub, sizeof sub, path, key);
	if (!json_is_array(v)) {
		policy_pj_diag(p, sub, 0, "expected an array");
		return NULL;
	}
	if (json_array_size(v) > max) {
		policy_pj_diag(p, sub, 0, "too many entries (%zu, at most %zu)", json_array_size(v),
			       max);
		return NULL;
	}
	return v;
}

bool policy_pj_bool(struct pj *p, json_t *obj, const char *key, const char *path, bool dflt)
{
	json_t *v = json_object_get(obj, key);
	char sub[256];

	if (v == NULL)
		return dflt;
	if (!json_is_boolean(v)) {
		sub_path(sub, sizeof sub, path, key);
		policy_pj_diag(p, sub, 0, "expected a boolean");
		return dflt;
	}
	return json_is_true(v);
}

bool policy_pj_int(struct pj *p, json_t *obj, const char *key, const char *path, bool required,
		   long long lo, long long hi, long long *out)
{
	json_t *v = json_object_get(obj, key);
	char sub[256];

	if (v == NULL) {
		if (required)
			policy_pj_diag(p, path, 0, "missing key '%s'", key);
		return false;
	}
	sub_path(sub, sizeof sub, path, key);
	if (!json_is_integer(v)) {
		policy_pj_diag(p, sub, 0, "expected an integer");
		return false;
	}
	long long n = json_integer_value(v);
	if (n < lo || n > hi) {
		policy_pj_diag(p, sub, 0, "must be between %lld and %lld", lo, hi);
		return false;
	}
	*out = n;
	return true;
}

/* Parses a duration literal ("72h", "1h30m": units w d h m s, largest first, each once). */
static bool duration_literal(const char *s, long long *out)
{
	static const char units[] = "wdhms";
	static const long long secs[] = {604800, 86400, 3600, 60, 1};
	long long total = 0;
	int last = -1;

	if (*s == '\0')
		return false;
	while (*s != '\0') {
		long long n = 0;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s)) {
			if (n > DURATION_MAX)
				return false;
			n = n * 10 + (*s++ - '0');
		}
		const char *u = *s != '\0' ? strchr(units, *s) : NULL;
		if (u == NULL || (int)(u - units) <= last)
			return false;
		last = (int)(u - units);
		s++;
		if (n > DURATION_MAX / secs[last] + 1)
			return false;
		total += n * secs[last];
		if (total > DURATION_MAX * 2)
			return false;
	}
	*out = total;
	return true;
}

bool policy_pj_duration(struct pj *p, json_t *obj, const char *key, const char *path, bool required,
			long long *out)
{
	json_t *v = json_object_get(obj, key);
	char sub[256];
	long long n = 0;

	if (v == NULL) {
		if (required)
			policy_pj_diag(p, path, 0, "missing key '%s'", key);
		return false;
	}
	sub_path(sub, sizeof sub, path, key);
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (!json_is_string(v)) {
		policy_pj_diag(p, sub, 0, "expected seconds or a duration such as \"72h\"");
		return false;
	} else if (!duration_literal(json_string_value(v), &n)) {
		policy_pj_diag(
			p, sub, 0,
			"invalid duration '%.100s' (e.g. \"30m\", \"4h\", \"3d\", \"1h30m\")",
			json_string_value(v));
		return false;
	}
	if (n <= 0 || n > DURATION_MAX) {
		policy_pj_diag(p, sub, 0, "must be positive and at most 366 days");
		return false;
	}
	*out = n;
	return true;
}

struct expr *policy_pj_expr(struct pj *p, json_t *obj, const char *key, const char *path,
			    bool required, const char *ctx)
{
	const char *src = policy_pj_str(p, obj, key, path, required);
	struct expr_error err = {0};
	char sub[256];

	if (src == NULL)
		return NULL;
	sub_path(sub, sizeof sub, path, key);
	struct expr *e = expr_compile(src, policy_expr_field_known, (void *)ctx, &err);
	if (e == NULL) {
		if (strcmp(err.message, "out of memory") == 0)
			p->d->oom = true;
		else
			policy_pj_diag(p, sub, err.column, "%s",
				       err.message[0] != '\0' ? err.message : "invalid expression");
	}
	return e;
}

bool policy_pj_id_valid(const char *s)
{
	size_t i = 0;

	for (; s[i] != '\0'; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  ((c == '-' || c == '_') && i > 0);
		if (!ok || i >= 63)
			return false;
	}
	return i > 0;
}

long long policy_pj_index_get(json_t *index, const char *name)
{
	json_t *v = name != NULL ? json_object_get(index, name) : NULL;

	return v != NULL ? json_integer_value(v) : -1;
}

const char **policy_pj_list_fill(const char **block, json_t *arr)
{
	size_t i, k = 0;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (json_is_string(v))
			block[k++] = json_string_value(v);
	}
	block[k] = NULL;
	return block;
}

/* ---- the set -------------------------------------------------------------------------- */

/* FNV-1a 64 over `n` bytes, continuing from `h`. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *s = data;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Hashes "name\0canonical-json\0" of each part into set->version; -1 on OOM. */
static int compute_version(struct policy_set *set)
{
	const char *names[] = {"people.json", "risk.json", "approvals.json", "templates.json"};
	json_t *roots[] = {set->people->root, set->risk->root, set->approvals->root,
			   set->templates != NULL ? set->templates->root : NULL};
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < 4; i++) {
		char *text = roots[i] != NULL ? json_dumps(roots[i], JSON_SORT_KEYS | JSON_COMPACT)
					      : strdup("null");
		if (text == NULL)
			return -1;
		h = fnv1a(h, names[i], strlen(names[i]) + 1);
		h = fnv1a(h, text, strlen(text) + 1);
		free(text);
	}
	snprintf(set->version, sizeof set->version, "%016llx", (unsigned long long)h);
	return 0;
}

/* Checks one requirement of an approval rule against people (and the catalog). */
static void check_requirement(struct pj *p, const struct policy_people *people,
			      const struct policy_requirement *r,
			      const struct policy_catalog *catalog, bool *owners_checked)
{
	char sub[160];

	if (r->group != NULL) {
		const struct policy_group *g = policy_people_group(people, r->group);
		if (g == NULL) {
			policy_pj_path(sub, sizeof sub, "%s.group", r->path);
			policy_pj_diag(p, sub, 0, "unknown group '%.100s'", r->group);
		} else if ((long long)g->n_members < r->quorum) {
			policy_pj_path(sub, sizeof sub, "%s.quorum", r->path);
			policy_pj_diag(p, sub, 0,
				       "quorum %lld exceeds the %zu members of group '%.100s'",
				       r->quorum, g->n_members, r->group);
		}
		return;
	}
	if (catalog == NULL || *owners_checked)
		return;
	/* every owning team once, in catalog order; reported at the first such requirement */
	*owners_checked = true;
	for (size_t i = 0; i < catalog_count(catalog); i++) {
		const struct catalog_service *s = catalog_at(catalog, i);
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(catalog_at(catalog, j)->team, s->team) == 0;
		if (seen)
			continue;
		const struct policy_group *g = policy_people_group(people, s->team);
		if (g == NULL)
			policy_pj_diag(p, r->path, 0,
				       "no group for team '%.100s', which owns service '%.100s'",
				       s->team, s->name);
		else if ((long long)g->n_members < r->quorum)
			policy_pj_diag(
				p, r->path, 0,
				"quorum %lld exceeds the %zu members of group '%.100s' (owner of "
				"'%.100s')",
				r->quorum, g->n_members, s->team, s->name);
	}
}

/* The checks across files; diagnostics name the file holding the reference. */
static void check_set(const struct policy_set *set, const struct policy_catalog *catalog,
		      struct diags *diags)
{
	struct pj pa = {.file = set->approvals->file, .d = diags};
	const struct policy_approvals *a = set->approvals;
	bool owners_checked = false;

	for (size_t i = 0; i < a->n_rules; i++)
		for (size_t j = 0; j < a->rules[i].n_req; j++)
			check_requirement(&pa, set->people, &a->rules[i].req[j], catalog,
					  &owners_checked);
	if (a->bg_group != NULL && policy_people_group(set->people, a->bg_group) == NULL)
		policy_pj_diag(&pa, "break_glass.group", 0, "unknown group '%.100s'", a->bg_group);

	if (set->templates == NULL || catalog == NULL)
		return;
	struct pj pt = {.file = set->templates->file, .d = diags};
	char sub[96];
	for (size_t i = 0; i < set->templates->n; i++) {
		const struct policy_template *t = &set->templates->v[i];
		for (size_t k = 0; k < t->n_services; k++) {
			if (catalog_find(catalog, t->services[k]) != NULL)
				continue;
			policy_pj_path(sub, sizeof sub, "templates[%zu].services[%zu]", i, k);
			policy_pj_diag(&pt, sub, 0, "unknown service '%.100s'", t->services[k]);
		}
	}
}

struct policy_set *policy_set_new(struct policy_people *people, struct policy_risk *risk,
				  struct policy_approvals *approvals,
				  struct policy_templates *templates,
				  const struct policy_catalog *catalog, struct diags *diags)
{
	struct policy_set *set = NULL;
	size_t before = diags->n;

	if (people == NULL || risk == NULL || approvals == NULL) {
		/* the parser already said why, or the loader reported the missing file */
		if (diags->n == before && !diags->oom)
			diags_add(diags, "policies", "", 0,
				  "people, risk and approvals are required");
		goto fail;
	}
	set = calloc(1, sizeof *set);
	if (set == NULL) {
		diags->oom = true;
		goto fail;
	}
	set->people = people;
	set->risk = risk;
	set->approvals = approvals;
	set->templates = templates;
	check_set(set, catalog, diags);
	if (diags->n != before || diags->oom) {
		policy_free(set);
		return NULL;
	}
	if (compute_version(set) != 0) {
		diags->oom = true;
		policy_free(set);
		return NULL;
	}
	return set;
fail:
	policy_people_free(people);
	policy_risk_free(risk);
	policy_approvals_free(approvals);
	policy_templates_free(templates);
	return NULL;
}

void policy_free(struct policy_set *set)
{
	if (set == NULL)
		return;
	policy_people_free(set->people);
	policy_risk_free(set->risk);
	policy_approvals_free(set->approvals);
	policy_templates_free(set->templates);
	free(set);
}

const char *policy_version(const struct policy_set *set)
{
	return set->version;
}

/* ---- the directory -------------------------------------------------------------------- */

static const char *const file_names[] = {"people.json", "risk.json", "approvals.json",
					 "templates.json"};

bool policy_dir_configured(const char *dir)
{
	char path[4096];

	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, file_names[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

/*
 * Reads `path` into an owned buffer (*len bytes).  NULL with a diagnostic when it cannot
 * be read or is too large; NULL without one, *missing set, when it does not exist.
 */
static char *read_file(const char *path, size_t *len, bool *missing, struct diags *d)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	*missing = false;
	if (f == NULL) {
		if (errno == ENOENT)
			*missing = true;
		else
			diags_add(d, path, "", 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf = malloc(POLICY_FILE_MAX + 1);
	if (buf == NULL) {
		d->oom = true;
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, POLICY_FILE_MAX + 1, f);
	if (ferror(f)) {
		diags_add(d, path, "", 0, "cannot read: %s", strerror(errno));
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	if (*len > POLICY_FILE_MAX) {
		diags_add(d, path, "", 0, "file larger than %d bytes", POLICY_FILE_MAX);
		free(buf);
		return NULL;
	}
	return buf;
}

struct policy_set *policy_load_dir(const char *dir, const struct policy_catalog *catalog,
				   struct diags *diags)
{
	void *parts[4] = {NULL, NULL, NULL, NULL};
	size_t before = diags->n;
	char path[4096];

	for (size_t i = 0; i < 4; i++) {
		size_t len = 0;
		bool missing = false;
		snprintf(path, sizeof path, "%s/%s", dir, file_names[i]);
		char *text = read_file(path, &len, &missing, diags);
		if (text == NULL) {
			if (missing && i < 3)
				diags_add(diags, path, "", 0,
					  "missing: people.json, risk.json and approvals.json are "
					  "required once any policy file exists");
			continue;
		}
		switch (i) {
		case 0:
			parts[i] = policy_parse_people(path, text, len, diags);
			break;
		case 1:
			parts[i] = policy_parse_risk(path, text, len, diags);
			break;
		case 2:
			parts[i] = policy_parse_approvals(path, text, len, diags);
			break;
		default:
			parts[i] = policy_parse_templates(path, text, len, diags);
			break;
		}
		free(text);
	}
	if (diags->n != before || diags->oom) {
		policy_people_free(parts[0]);
		policy_risk_free(parts[1]);
		policy_approvals_free(parts[2]);
		policy_templates_free(parts[3]);
		return NULL;
	}
	return policy_set_new(parts[0], parts[1], parts[2], parts[3], catalog, diags);
}

void policy_err(struct policy_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	policy_utf8_fix(err->message);
}
