/*
 * catalog.c -- the service catalog: parsing and validating policies/services.json, the
 * transitive dependency closure, and the lookups of catalog.h.
 *
 * A catalog keeps the parsed file and borrows every string from it.  Validation runs in
 * passes -- the shape of each entry, then the names each depends_on entry refers to, then
 * a depth-first search for cycles that also computes the closure -- and every pass runs
 * even when an earlier one found errors, so a file's errors are all reported at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/catalog.h"

#define NAME_LEN_MAX   63   /* longest service name */
#define MESSAGE_MAX    1024 /* longest diagnostic message, bytes, with its NUL */
#define CYCLES_MAX     32   /* cycles reported before "more ... not listed" */
#define CYCLE_TEXT_MAX 640  /* bytes of names listed in one cycle before "..." */
#define CYCLE_NAME_MAX 100  /* bytes of one (invalid, long) name quoted in a cycle */

struct policy_catalog {
	json_t *root;              /* the parsed file; owned, never modified */
	json_t *teams;             /* name -> team; owned, never modified */
	json_t *index;             /* name -> position in v, as a JSON integer; owned */
	struct catalog_service *v; /* in file order */
	size_t n;
	const char **dep_names; /* every depends_on list, NULL-terminated, in one block */
	uint64_t *reach;        /* n rows of `words`: bit j of row i = i depends on j */
	size_t words;
};

/* ---- criticality ---------------------------------------------------------------------- */

static const char *const crit_names[] = {"none", "low", "medium", "high", "critical"};

const char *catalog_criticality_name(enum catalog_criticality c)
{
	if ((unsigned)c >= sizeof crit_names / sizeof crit_names[0])
		return NULL;
	return crit_names[c];
}

enum catalog_criticality catalog_criticality_parse(const char *name)
{
	for (size_t i = CATALOG_CRIT_LOW; name != NULL && i <= CATALOG_CRIT_CRITICAL; i++)
		if (strcmp(crit_names[i], name) == 0)
			return (enum catalog_criticality)i;
	return CATALOG_CRIT_NONE;
}

/* ---- diagnostics ---------------------------------------------------------------------- */

/* Cuts `s` (of `len` bytes) back to the last whole UTF-8 character. */
static void utf8_trim(char *s, size_t len)
{
	size_t end = len;

	while (end > 0 && ((unsigned char)s[end - 1] & 0xC0) == 0x80)
		end--;
	/* s[end - 1] now starts a sequence (or is ASCII): keep it only if it is complete */
	if (end > 0 && ((unsigned char)s[end - 1] & 0x80) != 0) {
		unsigned char lead = (unsigned char)s[end - 1];
		size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (len - (end - 1) < want)
			len = end - 1;
	}
	s[len] = '\0';
}

/*
 * Appends one diagnostic to `d` through diags_add(), so every loader reports alike.  The
 * message is cut at MESSAGE_MAX - 1 bytes, on a character boundary.
 */
static void diag(struct diags *d, const char *file, const char *path, int column, const char *fmt,
		 ...) __attribute__((format(printf, 5, 6)));

static void diag(struct diags *d, const char *file, const char *path, int column, const char *fmt,
		 ...)
{
	char msg[MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	else if ((size_t)n >= sizeof msg)
		utf8_trim(msg, sizeof msg - 1);
	diags_add(d, file, path, column, "%s", msg);
}

/* ---- validation ----------------------------------------------------------------------- */

/* What validation learns about services[i]. */
struct entry {
	const char *name; /* when a non-empty string */
	json_t *deps;     /* depends_on, when an array */
	size_t *edges;    /* positions of the known, distinct services in deps */
	size_t n_edges;
	enum catalog_criticality crit;
	const char *team, *description, *calendar;
};

struct parser {
	const char *file;
	struct diags *d;
	struct entry *e; /* one per services[] element */
	size_t n;
	json_t *index; /* name -> position of its first definition */
};

static void oom(struct parser *p)
{
	p->d->oom = true;
}

/* Whether `s` matches ^[a-z0-9][a-z0-9-]{0,62}$. */
static bool name_valid(const char *s)
{
	size_t i = 0;

	for (; s[i] != '\0'; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
		if (!ok || i >= NAME_LEN_MAX)
			return false;
	}
	return i > 0;
}

/* The position of service `name` in the index, or -1. */
static long long index_get(json_t *index, const char *name)
{
	json_t *v = name != NULL ? json_object_get(index, name) : NULL;

	return v != NULL ? json_integer_value(v) : -1;
}

/* obj[key] as a non-empty string, or NULL; reports a wrong type and, if required, absence. */
static const char *get_str(struct parser *p, json_t *obj, const char *key, const char *path,
			   bool required)
{
	json_t *v = json_object_get(obj, key);
	char sub[80];

	if (v == NULL) {
		if (required)
			diag(p->d, p->file, path, 0, "missing key '%s'", key);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(sub, sizeof sub, "%s.%s", path, key);
		diag(p->d, p->file, sub, 0, "expected a non-empty string");
		return NULL;
	}
	return json_string_value(v);
}

/* Checks the shape of services[i] and registers its name. */
static void check_entry(struct parser *p, size_t i, json_t *obj)
{
	static const char *const keys[] = {"name",       "description", "criticality", "team",
					   "depends_on", "calendar",    NULL};
	struct entry *e = &p->e[i];
	char path[48], sub[64];
	const char *key;
	json_t *v;

	snprintf(path, sizeof path, "services[%zu]", i);
	if (!json_is_object(obj)) {
		diag(p->d, p->file, path, 0, "expected an object");
		return;
	}
	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (size_t k = 0; !ok && keys[k] != NULL; k++)
			ok = strcmp(keys[k], key) == 0;
		if (!ok)
			diag(p->d, p->file, path, 0, "unknown key '%s'", key);
	}

	snprintf(sub, sizeof sub, "%s.name", path);
	v = json_object_get(obj, "name");
	if (v == NULL) {
		diag(p->d, p->file, path, 0, "missing key 'name'");
	} else if (!json_is_string(v) || json_string_length(v) == 0) {
		diag(p->d, p->file, sub, 0, "expected a non-empty string");
	} else {
		e->name = json_string_value(v);
		long long first = index_get(p->index, e->name);
		if (!name_valid(e->name))
			diag(p->d, p->file, sub, 0,
			     "invalid service name '%s' (lowercase letters, digits and '-', "
			     "not first, at most 63 characters)",
			     e->name);
		if (first >= 0)
			diag(p->d, p->file, sub, 0,
			     "service '%s' is already defined at services[%lld]", e->name, first);
		else if (json_object_set_new(p->index, e->name, json_integer((json_int_t)i)) != 0)
			oom(p);
	}

	const char *crit = get_str(p, obj, "criticality", path, true);
	if (crit != NULL) {
		e->crit = catalog_criticality_parse(crit);
		if (e->crit == CATALOG_CRIT_NONE) {
			snprintf(sub, sizeof sub, "%s.criticality", path);
			diag(p->d, p->file, sub, 0,
			     "unknown criticality '%s' (low, medium, high or critical)", crit);
		}
	}
	e->team = get_str(p, obj, "team", path, true);
	e->description = get_str(p, obj, "description", path, false);
	e->calendar = get_str(p, obj, "calendar", path, false);

	v = json_object_get(obj, "depends_on");
	if (v != NULL && !json_is_array(v)) {
		snprintf(sub, sizeof sub, "%s.depends_on", path);
		diag(p->d, p->file, sub, 0, "expected an array of service names");
	} else {
		e->deps = v;
	}
}

/*
 * Resolves services[i].depends_on to positions: reports non-strings, unknown names and
 * names listed twice.  A self-dependency is kept as an edge; the cycle search reports it.
 * `seen` (one slot per service) holds i + 1 where service j was already listed.
 */
static void resolve_deps(struct parser *p, size_t i, size_t *seen)
{
	struct entry *e = &p->e[i];
	size_t n = json_array_size(e->deps);
	char path[80];

	if (n == 0)
		return;
	e->edges = malloc(n * sizeof *e->edges);
	if (e->edges == NULL) {
		oom(p);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		json_t *v = json_array_get(e->deps, k);
		snprintf(path, sizeof path, "services[%zu].depends_on[%zu]", i, k);
		if (!json_is_string(v) || json_string_length(v) == 0) {
			diag(p->d, p->file, path, 0, "expected a service name");
			continue;
		}
		const char *name = json_string_value(v);
		long long j = index_get(p->index, name);
		if (j < 0) {
			diag(p->d, p->file, path, 0, "unknown service '%s'", name);
			continue;
		}
		if (seen[j] == i + 1) {
			diag(p->d, p->file, path, 0, "service '%s' listed twice", name);
			continue;
		}
		seen[j] = i + 1;
		e->edges[e->n_edges++] = (size_t)j;
	}
}

/* Reports the cycle stack[from..top] -> stack[from], named from its first service. */
static void report_cycle(struct parser *p, const size_t *stack, size_t from, size_t top)
{
	char text[CYCLE_TEXT_MAX + 2 * CYCLE_NAME_MAX + 64];
	char path[48];
	size_t len = 0, k;

	for (k = from; k <= top; k++) {
		const char *name = p->e[stack[k]].name;
		size_t add = strnlen(name, CYCLE_NAME_MAX) + 4;
		if (len + add > CYCLE_TEXT_MAX)
			break;
		len += (size_t)snprintf(text + len, sizeof text - len, "%.*s -> ", CYCLE_NAME_MAX,
					name);
	}
	if (k <= top)
		len += (size_t)snprintf(text + len, sizeof text - len, "... (%zu more) -> ",
					top - k + 1);
	snprintf(text + len, sizeof text - len, "%.*s", CYCLE_NAME_MAX, p->e[stack[from]].name);
	utf8_trim(text, strlen(text));
	snprintf(path, sizeof path, "services[%zu].depends_on", stack[from]);
	diag(p->d, p->file, path, 0, "dependency cycle: %s", text);
}

/*
 * Depth-first search over the edges from every service in file order.  Each edge back
 * to a service on the stack closes a cycle, reported once (distinct closing edges give
 * distinct cycles); at most CYCLES_MAX are listed.  When a service is finished, its row
 * of `reach` becomes the union of its dependencies and their rows: with no cycle that is
 * the transitive closure.  `reach` may be NULL (closure not wanted).
 */
static void search_cycles(struct parser *p, uint64_t *reach, size_t words)
{
	unsigned char *color = calloc(p->n, 1); /* 0 new, 1 on the stack, 2 done */
	size_t *stack = malloc(p->n * sizeof *stack);
	size_t *next = calloc(p->n, sizeof *next); /* next edge to follow, per service */
	size_t *at = malloc(p->n * sizeof *at);    /* position on the stack */
	size_t cycles = 0;

	if (color == NULL || stack == NULL || next == NULL || at == NULL) {
		oom(p);
		goto done;
	}
	for (size_t s = 0; s < p->n; s++) {
		size_t top = 0;
		if (color[s] != 0 || p->e[s].name == NULL ||
		    index_get(p->index, p->e[s].name) != (long long)s)
			continue;
		stack[0] = s;
		at[s] = 0;
		color[s] = 1;
		for (;;) {
			size_t u = stack[top];
			struct entry *e = &p->e[u];
			if (next[u] < e->n_edges) {
				size_t v = e->edges[next[u]++];
				if (color[v] == 0) {
					color[v] = 1;
					stack[++top] = v;
					at[v] = top;
				} else if (color[v] == 1) {
					if (++cycles > CYCLES_MAX) {
						diag(p->d, p->file, "services", 0,
						     "more dependency cycles not listed");
						goto done;
					}
					report_cycle(p, stack, at[v], top);
				}
				continue;
			}
			color[u] = 2;
			for (size_t k = 0; reach != NULL && k < e->n_edges; k++) {
				size_t v = e->edges[k];
				uint64_t *row = reach + u * words, *dep = reach + v * words;
				if (color[v] != 2 || v == u)
					continue;
				for (size_t w = 0; w < words; w++)
					row[w] |= dep[w];
				row[v / 64] |= (uint64_t)1 << (v % 64);
			}
			if (top == 0)
				break;
			top--;
		}
	}
done:
	free(color);
	free(stack);
	free(next);
	free(at);
}

/* Builds the catalog from a file that validated: takes `root`, the index and `reach`. */
static struct policy_catalog *build(struct parser *p, json_t *root, uint64_t *reach, size_t words)
{
	struct policy_catalog *cat = calloc(1, sizeof *cat);
	size_t total = 0;

	if (cat == NULL) {
		oom(p);
		json_decref(root);
		free(reach);
		return NULL;
	}
	cat->root = root;
	cat->reach = reach;
	cat->words = words;
	cat->index = p->index;
	p->index = NULL;
	cat->n = p->n;
	for (size_t i = 0; i < p->n; i++)
		total += p->e[i].n_edges + 1;
	cat->v = calloc(p->n != 0 ? p->n : 1, sizeof *cat->v);
	cat->dep_names = malloc((total != 0 ? total : 1) * sizeof *cat->dep_names);
	cat->teams = json_object();
	if (cat->v == NULL || cat->dep_names == NULL || cat->teams == NULL)
		goto nomem;
	const char **names = cat->dep_names;
	for (size_t i = 0; i < p->n; i++) {
		const struct entry *e = &p->e[i];
		struct catalog_service *s = &cat->v[i];
		s->name = e->name;
		s->description = e->description;
		s->criticality = e->crit;
		s->criticality_name = crit_names[e->crit];
		s->team = e->team;
		s->calendar = e->calendar;
		s->depends_on = names;
		s->n_depends_on = e->n_edges;
		for (size_t k = 0; k < e->n_edges; k++)
			*names++ = p->e[e->edges[k]].name;
		*names++ = NULL;
		if (json_object_set_new(cat->teams, e->name, json_string(e->team)) != 0)
			goto nomem;
	}
	return cat;
nomem:
	oom(p);
	catalog_free(cat);
	return NULL;
}

struct policy_catalog *catalog_parse(const char *file, const char *text, size_t len,
				     struct diags *diags)
{
	struct parser p = {.file = file, .d = diags};
	struct policy_catalog *cat = NULL;
	size_t before = diags->n;
	uint64_t *reach = NULL;
	size_t words = 0, *seen = NULL;
	json_error_t jerr;
	const char *key;
	json_t *v;

	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		char where[48] = "";
		/* jansson fails without a message only when it cannot allocate */
		if (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0') {
			diags->oom = true;
			return NULL;
		}
		if (jerr.line > 0)
			snprintf(where, sizeof where, "line %d", jerr.line);
		diag(diags, file, where, jerr.line > 0 ? jerr.column : 0, "invalid json: %s",
		     jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		diag(diags, file, "", 0, "expected a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "services") != 0)
			diag(diags, file, "", 0, "unknown key '%s'", key);
	}
	json_t *services = json_object_get(root, "services");
	if (services == NULL) {
		diag(diags, file, "", 0, "missing key 'services'");
		goto out;
	}
	if (!json_is_array(services)) {
		diag(diags, file, "services", 0, "expected an array of services");
		goto out;
	}
	p.n = json_array_size(services);
	if (p.n > CATALOG_MAX_SERVICES) {
		diag(diags, file, "services", 0, "too many services (%zu, at most %d)", p.n,
		     CATALOG_MAX_SERVICES);
		goto out;
	}
	p.index = json_object();
	p.e = calloc(p.n != 0 ? p.n : 1, sizeof *p.e);
	seen = calloc(p.n != 0 ? p.n : 1, sizeof *seen);
	words = (p.n + 63) / 64;
	reach = calloc(p.n * words != 0 ? p.n * words : 1, sizeof *reach);
	if (p.index == NULL || p.e == NULL || seen == NULL || reach == NULL) {
		oom(&p);
		goto out;
	}
	for (size_t i = 0; i < p.n; i++)
		check_entry(&p, i, json_array_get(services, i));
	for (size_t i = 0; i < p.n && !diags->oom; i++)
		resolve_deps(&p, i, seen);
	if (!diags->oom)
		search_cycles(&p, reach, words);
	if (diags->n == before && !diags->oom) {
		cat = build(&p, root, reach, words);
		root = NULL;
		reach = NULL;
	}
out:
	for (size_t i = 0; p.e != NULL && i < p.n; i++)
		free(p.e[i].edges);
	free(p.e);
	free(seen);
	free(reach);
	json_decref(p.index);
	json_decref(root);
	return cat;
}

struct policy_catalog *catalog_load_file(const char *path, struct diags *diags)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len;

	if (f == NULL) {
		diag(diags, path, "", 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf = malloc(CATALOG_FILE_MAX + 1);
	if (buf == NULL) {
		diags->oom = true;
		fclose(f);
		return NULL;
	}
	len = fread(buf, 1, CATALOG_FILE_MAX + 1, f);
	if (ferror(f)) {
		diag(diags, path, "", 0, "cannot read: %s", strerror(errno));
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	if (len > CATALOG_FILE_MAX) {
		diag(diags, path, "", 0, "file larger than %d bytes", CATALOG_FILE_MAX);
		free(buf);
		return NULL;
	}
	struct policy_catalog *cat = catalog_parse(path, buf, len, diags);
	free(buf);
	return cat;
}

void catalog_free(struct policy_catalog *cat)
{
	if (cat == NULL)
		return;
	json_decref(cat->root);
	json_decref(cat->teams);
	json_decref(cat->index);
	free(cat->v);
	free(cat->dep_names);
	free(cat->reach);
	free(cat);
}

/* ---- lookups -------------------------------------------------------------------------- */

size_t catalog_count(const struct policy_catalog *cat)
{
	return cat->n;
}

const struct catalog_service *catalog_at(const struct policy_catalog *cat, size_t i)
{
	return i < cat->n ? &cat->v[i] : NULL;
}

const struct catalog_service *catalog_find(const struct policy_catalog *cat, const char *name)
{
	long long i = index_get(cat->index, name);

	return i >= 0 ? &cat->v[i] : NULL;
}

json_t *catalog_teams(const struct policy_catalog *cat)
{
	return cat->teams;
}

json_t *catalog_unknown(const struct policy_catalog *cat, json_t *names)
{
	json_t *out = json_array(), *seen = json_object();
	size_t n = json_is_array(names) ? json_array_size(names) : 1;

	if (out == NULL || seen == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_is_array(names) ? json_array_get(names, i) : names;
		const char *name = json_string_value(v);
		if (name == NULL || index_get(cat->index, name) >= 0 ||
		    json_object_get(seen, name) != NULL)
			continue;
		if (json_object_set_new(seen, name, json_true()) != 0 ||
		    json_array_append_new(out, json_string(name)) != 0)
			goto nomem;
	}
	json_decref(seen);
	return out;
nomem:
	json_decref(out);
	json_decref(seen);
	return NULL;
}

/* ---- dependencies and risk ------------------------------------------------------------ */

/* Whether the service at position i depends on the one at j, transitively. */
static bool reach_bit(const struct policy_catalog *cat, size_t i, size_t j)
{
	return (cat->reach[i * cat->words + j / 64] >> (j % 64)) & 1u;
}

bool catalog_depends(const struct policy_catalog *cat, const char *a, const char *b)
{
	long long i = index_get(cat->index, a), j = index_get(cat->index, b);

	return i >= 0 && j >= 0 && reach_bit(cat, (size_t)i, (size_t)j);
}

bool catalog_related(const struct policy_catalog *cat, const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return false;
	if (strcmp(a, b) == 0)
		return true;
	return catalog_depends(cat, a, b) || catalog_depends(cat, b, a);
}

enum catalog_criticality catalog_max_criticality(const struct policy_catalog *cat, json_t *names)
{
	enum catalog_criticality max = CATALOG_CRIT_NONE;
	size_t n = json_is_array(names) ? json_array_size(names) : 1;

	for (size_t i = 0; i < n; i++) {
		json_t *v = json_is_array(names) ? json_array_get(names, i) : names;
		const struct catalog_service *s = catalog_find(cat, json_string_value(v));
		if (s != NULL && s->criticality > max)
			max = s->criticality;
	}
	return max;
}
