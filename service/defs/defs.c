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
#include <sys/stat.h>
#include <unistd.h>

#include "auth/roles.h"
#include "calendar/calendar.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "planner/planner.h"
#include "policy/catalog.h"
#include "policy/incidents.h"
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
	if (n > 0) /* names is NULL for an empty directory: qsort wants an array */
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

/* Reads a whole file (at most 16 MiB); NULL when missing or unreadable (errno set). */
static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	char *text = NULL;
	size_t cap = 0;
	FILE *mem = open_memstream(&text, &cap);
	char buf[8192];
	size_t total = 0;
	for (size_t k; mem != NULL && (k = fread(buf, 1, sizeof buf, fp)) > 0;) {
		total += k;
		if (total > 16u << 20)
			break;
		fwrite(buf, 1, k, mem);
	}
	fclose(fp);
	if (mem != NULL)
		fclose(mem);
	if (text != NULL && total > 16u << 20) {
		free(text);
		errno = EFBIG;
		return NULL;
	}
	*len = cap;
	return text;
}

/* Adds `set` (taken), read from `path` whose bytes are `text` (`len`), as `name`. */
static int add_calendar(struct defs *d, const char *name, struct cal_set *set, const char *path,
			const char *text, size_t len)
{
	struct defs_calendar *n = realloc(d->calendars, (d->n_calendars + 1) * sizeof *n);
	if (n == NULL) {
		cal_free(set);
		return -1;
	}
	d->calendars = n;
	struct defs_calendar *c = &n[d->n_calendars];
	c->name = strdup(name);
	c->set = set;
	struct stat st;
	c->changed_ms = stat(path, &st) == 0 ? (long long)st.st_mtim.tv_sec * 1000 : 0;
	crypto_sha256(text, len, c->digest);
	d->n_calendars++;
	if (d->warnings != NULL)
		json_array_extend(d->warnings, cal_warnings(set));
	return 0;
}

/* Reads calendars.json, every *.ics of the policies and the cached remote copies. */
static void load_calendars(struct defs *d, const char *policies_dir, const char *cache_dir,
			   struct diags *diags)
{
	char path[2048];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/calendars.json", policies_dir);
	char *text = read_file(path, &len);
	d->plan = planner_config_parse(path, text, len, diags);
	free(text);
	d->remote_status = json_array();
	d->warnings = json_array();
	const char *site = d->plan != NULL ? d->plan->timezone : NULL;
	if (site != NULL && !cal_zone_known(site))
		diags_add(diags, path, "timezone", 0, "unknown time zone '%.64s'", site);
	for (size_t i = 0; d->plan != NULL && i < d->plan->n_remote; i++) {
		const char *tz = d->plan->remote[i].timezone;
		if (tz != NULL && !cal_zone_known(tz))
			diags_add(diags, path, "remote", 0,
				  "remote '%s': unknown time zone '%.64s'", d->plan->remote[i].name,
				  tz);
	}
	struct cal_zones zones = {NULL, site};

	struct dirent **ents = NULL;
	int n = scandir(policies_dir, &ents, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && nl > 4 &&
		    strcmp(ents[i]->d_name + nl - 4, ".ics") == 0) {
			snprintf(path, sizeof path, "%s/%s", policies_dir, ents[i]->d_name);
			text = read_file(path, &len);
			struct cal_set *set =
				text ? cal_parse_in(path, text, len, &zones, diags) : NULL;
			if (text == NULL)
				diags_add(diags, path, "", 0, "cannot be read: %s",
					  strerror(errno));
			else if (set != NULL)
				add_calendar(d, path, set, path, text, len);
			free(text);
		}
		free(ents[i]);
	}
	free(ents);
	for (size_t i = 0; d->plan != NULL && i < d->plan->n_remote; i++) {
		const struct planner_remote *r = &d->plan->remote[i];
		bool cached = false;
		if (cache_dir != NULL) {
			snprintf(path, sizeof path, "%s/calendars/%s.ics", cache_dir, r->name);
			text = read_file(path, &len);
			if (text != NULL) {
				struct cal_zones rz = {r->timezone, site};
				struct cal_set *set =
					cal_parse_as(path, text, len, CAL_AS_FREEZE, r->hard,
						     r->services, &rz, diags);
				char name[128];
				snprintf(name, sizeof name, "remote:%s", r->name);
				cached = set != NULL &&
					 add_calendar(d, name, set, path, text, len) == 0;
				free(text);
			}
		}
		json_array_append_new(d->remote_status,
				      json_pack("{s:s, s:s, s:b}", "name", r->name, "url", r->url,
						"cached", cached));
	}
}

/*
 * The optional policy file `name` of `policies_dir` as JSON (owned), its path in `path`;
 * NULL when the file is absent, or when it is not JSON (then the fault is in `diags`).
 */
static json_t *load_optional_json(const char *policies_dir, const char *name, char *path,
				  size_t pathlen, struct diags *diags)
{
	size_t len = 0;
	snprintf(path, pathlen, "%s/%s", policies_dir, name);
	char *text = read_file(path, &len);
	if (text == NULL)
		return NULL;
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (root == NULL)
		diags_add(diags, path, NULL, je.column, "line %d: %s", je.line, je.text);
	return root;
}

/*
 * policies/github.json: which service a repository deploys, for GitHub deployment
 * protection rules: {"repositories": {"owner/repo": {"service", "duration", "template"?}}}.
 */
static void load_github(struct defs *d, const char *policies_dir, struct diags *diags)
{
	char path[2048];
	json_t *root = load_optional_json(policies_dir, "github.json", path, sizeof path, diags);
	if (root == NULL)
		return;
	json_t *repos = json_object_get(root, "repositories");
	if (!json_is_object(repos)) {
		diags_add(diags, path, "repositories", 0,
			  "must be an object: \"owner/repo\" -> {service, duration, template}");
		json_decref(root);
		return;
	}
	const char *name;
	json_t *r;
	json_object_foreach(repos, name, r) {
		char where[300];
		snprintf(where, sizeof where, "repositories.%.250s", name);
		const char *svc = json_string_value(json_object_get(r, "service"));
		const char *dur = json_string_value(json_object_get(r, "duration"));
		long long secs;
		if (svc == NULL || (d->catalog != NULL && catalog_find(d->catalog, svc) == NULL))
			diags_add(diags, path, where, 0,
				  "'service' must name a service of the catalog");
		if (dur == NULL || !time_parse_duration(dur, &secs) || secs <= 0)
			diags_add(diags, path, where, 0,
				  "'duration' must be an ISO 8601 duration such as PT30M");
		json_t *t = json_object_get(r, "template");
		if (t != NULL && !json_is_string(t))
			diags_add(diags, path, where, 0, "'template' must be a template id");
	}
	d->github = root;
}

/*
 * policies/incidents.json: suspect scoring, incident freezes, unauthorized changes
 * (policy/incidents.h); the defaults when the file is absent.
 */
static void load_incidents(struct defs *d, const char *policies_dir, struct diags *diags)
{
	char path[2048];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/incidents.json", policies_dir);
	char *text = read_file(path, &len);
	if (text != NULL) {
		d->incidents = policy_incidents_parse(path, text, len, diags);
		free(text);
		return;
	}
	d->incidents = malloc(sizeof *d->incidents);
	if (d->incidents == NULL)
		diags->oom = true;
	else
		policy_incidents_defaults(d->incidents);
}

static struct policy_incidents default_incidents;
static pthread_once_t default_incidents_once = PTHREAD_ONCE_INIT;

static void default_incidents_init(void)
{
	policy_incidents_defaults(&default_incidents);
}

const struct policy_incidents *defs_incidents(const struct defs *d)
{
	if (d != NULL && d->incidents != NULL)
		return d->incidents;
	pthread_once(&default_incidents_once, default_incidents_init);
	return &default_incidents;
}

/*
 * policies/identity.json: what a JWT access token of the OpenID Provider may do, by its
 * claims: {"rules": [{"match": {"claim": "value" | ["any", "of"]}, "user"?, "roles": [...],
 * "services"?: [...]}]}; the first rule that matches decides (app/identity.h).  A rule
 * with the pipeline role must list the services it may deploy.
 */
/* Whether `roles` is a non-empty array of role names (`empty_ok`: or empty). */
static bool role_list_ok(const json_t *roles, bool empty_ok)
{
	bool ok = json_is_array(roles) && (empty_ok || json_array_size(roles) > 0);
	size_t k;
	json_t *v;
	json_array_foreach(ok ? roles : NULL, k, v) {
		ok = ok && json_is_string(v) && role_from_name(json_string_value(v)) != 0 &&
		     role_from_name(json_string_value(v)) != ROLE_PIPELINE;
	}
	return ok;
}

/* Whether `match` is a non-empty object of claim -> string or non-empty string array. */
static bool match_ok(const json_t *match)
{
	bool ok = json_is_object(match) && json_object_size(match) > 0;
	const char *key;
	json_t *v;
	json_object_foreach(ok ? (json_t *)match : NULL, key, v) {
		size_t k;
		json_t *w;
		bool one = json_is_string(v) || (json_is_array(v) && json_array_size(v) > 0);
		json_array_foreach(json_is_array(v) ? v : NULL, k, w) {
			one = one && json_is_string(w);
		}
		ok = ok && one;
	}
	return ok;
}

/*
 * One {match, <what>, description} entry of a sign_in mapping list at `where`: no other
 * member, and a well-formed match (the caller checks `what`'s value).
 */
static void mapping_entry_check(struct diags *diags, const char *path, const char *where,
				const json_t *entry, const char *what)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)(json_is_object(entry) ? entry : NULL), key, v) {
		if (strcmp(key, "match") != 0 && strcmp(key, what) != 0 &&
		    strcmp(key, "description") != 0)
			diags_add(diags, path, where, 0, "unknown member '%s'", key);
	}
	if (!match_ok(json_object_get(entry, "match")))
		diags_add(diags, path, where, 0,
			  "'match' must be a non-empty object of claim -> string or array of "
			  "strings");
}

/*
 * identity.json's "sign_in" (signing in to the web app through the provider,
 * app/oidc_login.h): {"user_claim"?: "preferred_username", "default_roles"?: [...],
 * "rules"?: [{"match": {...}, "roles": [...]}]}; every rule that matches adds its roles.
 */
static void load_identity_sign_in(const json_t *si, const char *path, struct diags *diags)
{
	if (si == NULL)
		return;
	if (!json_is_object(si)) {
		diags_add(diags, path, "sign_in", 0,
			  "must be an object {user_claim?, default_roles?, rules?}");
		return;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)si, key, v) {
		if (strcmp(key, "user_claim") != 0 && strcmp(key, "default_roles") != 0 &&
		    strcmp(key, "rules") != 0 && strcmp(key, "description") != 0 &&
		    strcmp(key, "groups") != 0 && strcmp(key, "group_source") != 0)
			diags_add(diags, path, "sign_in", 0,
				  "unknown member '%s' (description, user_claim, default_roles, "
				  "rules, groups, group_source)",
				  key);
	}
	json_t *src = json_object_get(si, "group_source");
	if (src != NULL &&
	    (!json_is_string(src) || (strcmp(json_string_value(src), "people") != 0 &&
				      strcmp(json_string_value(src), "claims") != 0)))
		diags_add(diags, path, "sign_in", 0,
			  "'group_source' must be \"people\" (people.json decides) or \"claims\" "
			  "(the provider's groups decide for whoever signs in through it)");
	json_t *groups = json_object_get(si, "groups");
	if (groups != NULL && !json_is_array(groups))
		diags_add(diags, path, "sign_in", 0, "'groups' must be an array of {match, group}");
	size_t gi;
	json_t *g;
	json_array_foreach(json_is_array(groups) ? groups : NULL, gi, g) {
		char where[64];
		snprintf(where, sizeof where, "sign_in.groups[%zu]", gi);
		mapping_entry_check(diags, path, where, g, "group");
		json_t *name = json_object_get(g, "group");
		if (!json_is_string(name) || json_string_length(name) == 0 ||
		    strchr(json_string_value(name), ',') != NULL)
			diags_add(diags, path, where, 0,
				  "'group' must name a group of people.json (cab, ecab, a team)");
	}
	json_t *uc = json_object_get(si, "user_claim");
	if (uc != NULL && (!json_is_string(uc) || json_string_length(uc) == 0))
		diags_add(diags, path, "sign_in", 0, "'user_claim' must name a claim");
	json_t *dr = json_object_get(si, "default_roles");
	if (dr != NULL && !role_list_ok(dr, true))
		diags_add(diags, path, "sign_in", 0,
			  "'default_roles' must be an array of roles (requester, cab, "
			  "change_manager, admin)");
	json_t *rules = json_object_get(si, "rules");
	if (rules != NULL && !json_is_array(rules))
		diags_add(diags, path, "sign_in", 0, "'rules' must be an array of {match, roles}");
	size_t i;
	json_t *r;
	json_array_foreach(json_is_array(rules) ? rules : NULL, i, r) {
		char where[64];
		snprintf(where, sizeof where, "sign_in.rules[%zu]", i);
		mapping_entry_check(diags, path, where, r, "roles");
		if (!role_list_ok(json_object_get(r, "roles"), false))
			diags_add(diags, path, where, 0,
				  "'roles' must be a non-empty array of roles (requester, cab, "
				  "change_manager, admin; a person never signs in as a pipeline)");
	}
}

static void load_identity(struct defs *d, const char *policies_dir, struct diags *diags)
{
	char path[2048];
	json_t *root = load_optional_json(policies_dir, "identity.json", path, sizeof path, diags);
	if (root == NULL)
		return;
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "description") != 0 && strcmp(key, "rules") != 0 &&
		    strcmp(key, "sign_in") != 0 && strcmp(key, "tokens") != 0)
			diags_add(diags, path, key, 0,
				  "unknown member (description, rules, sign_in, tokens)");
	}
	json_t *tokens = json_object_get(root, "tokens");
	json_t *unknown = json_object_get(tokens, "unknown_user");
	if (tokens != NULL &&
	    (!json_is_object(tokens) || json_object_size(tokens) != (unknown ? 1u : 0u) ||
	     (unknown != NULL &&
	      (!json_is_string(unknown) || (strcmp(json_string_value(unknown), "warn") != 0 &&
					    strcmp(json_string_value(unknown), "refuse") != 0)))))
		diags_add(
			diags, path, "tokens", 0,
			"must be {\"unknown_user\": \"warn\" or \"refuse\"} (POST /v1/tokens for a "
			"user neither people.json nor the identity provider knows)");
	load_identity_sign_in(json_object_get(root, "sign_in"), path, diags);
	json_t *rules = json_object_get(root, "rules");
	if (!json_is_array(rules))
		diags_add(diags, path, "rules", 0,
			  "must be an array of {match, user?, roles, services?}");
	size_t i;
	json_t *r;
	json_array_foreach(json_is_array(rules) ? rules : NULL, i, r) {
		char where[64];
		snprintf(where, sizeof where, "rules[%zu]", i);
		json_t *match = json_object_get(r, "match");
		json_t *roles = json_object_get(r, "roles");
		json_t *services = json_object_get(r, "services");
		json_t *user = json_object_get(r, "user");
		json_object_foreach(json_is_object(r) ? r : NULL, key, v) {
			if (strcmp(key, "match") != 0 && strcmp(key, "roles") != 0 &&
			    strcmp(key, "services") != 0 && strcmp(key, "user") != 0 &&
			    strcmp(key, "description") != 0)
				diags_add(diags, path, where, 0, "unknown member '%s'", key);
		}
		bool match_ok = json_is_object(match) && json_object_size(match) > 0;
		json_object_foreach(match_ok ? match : NULL, key, v) {
			size_t k;
			json_t *w;
			bool ok = json_is_string(v) || (json_is_array(v) && json_array_size(v) > 0);
			json_array_foreach(json_is_array(v) ? v : NULL, k, w) {
				ok = ok && json_is_string(w);
			}
			match_ok = match_ok && ok;
		}
		if (!match_ok)
			diags_add(
				diags, path, where, 0,
				"'match' must be a non-empty object of claim -> string or array of "
				"strings");
		if (user != NULL && (!json_is_string(user) || json_string_length(user) == 0 ||
				     json_string_length(user) > 127))
			diags_add(diags, path, where, 0,
				  "'user' must be a user name (1 to 127 bytes)");
		unsigned mask = 0;
		bool roles_ok = json_is_array(roles) && json_array_size(roles) > 0;
		size_t k;
		json_array_foreach(roles_ok ? roles : NULL, k, v) {
			unsigned bit = json_is_string(v) ? role_from_name(json_string_value(v)) : 0;
			roles_ok = roles_ok && bit != 0;
			mask |= bit;
		}
		if (!roles_ok)
			diags_add(diags, path, where, 0,
				  "'roles' must be a non-empty array of roles (requester, cab, "
				  "change_manager, pipeline, admin)");
		if ((mask & ROLE_PIPELINE) && !json_is_array(services))
			diags_add(diags, path, where, 0,
				  "a pipeline rule must list the 'services' it may deploy");
		if (services != NULL && !json_is_array(services))
			diags_add(diags, path, where, 0, "'services' must be an array of services");
		json_array_foreach(json_is_array(services) ? services : NULL, k, v) {
			const char *svc = json_string_value(v);
			if (svc == NULL || strchr(svc, ' ') != NULL ||
			    (d->catalog != NULL && catalog_find(d->catalog, svc) == NULL))
				diags_add(diags, path, where, 0,
					  "'services' must name services of the catalog");
		}
	}
	d->identity = root;
}

/* Whether `s` is a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*. */
static bool label_name_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static bool priority_ok(json_t *v)
{
	static const char *const ok[] = {"P1", "P2", "P3", "P4"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (json_is_string(v) && strcmp(json_string_value(v), ok[i]) == 0)
			return true;
	return false;
}

/* Whether `svc` names a service of the catalog (any name when there is no catalog). */
static bool catalog_has(const struct defs *d, json_t *svc)
{
	return json_is_string(svc) && json_string_length(svc) > 0 &&
	       (d->catalog == NULL || catalog_find(d->catalog, json_string_value(svc)) != NULL);
}

/*
 * policies/alerts.json: how Alertmanager alerts become incidents and which matchers the
 * maintenance silences use (app/alerts.h; documented in policies/README.md):
 *   {"service_labels": ["service"], "services": {"label value": "catalog service"},
 *    "unknown_service": {"action": "refuse"} | {"action": "route", "service": "..."},
 *    "severity_label": "severity", "priorities": {"critical": "P1", ...},
 *    "default_priority": "P3", "reopen_window": "PT1H",
 *    "silence_matchers": {"service": [{"name", "value", "isRegex"?, "isEqual"?}]}}
 * Every member is optional.
 */
static void load_alerts(struct defs *d, const char *policies_dir, struct diags *diags)
{
	char path[2048];
	json_t *root = load_optional_json(policies_dir, "alerts.json", path, sizeof path, diags);
	if (root == NULL)
		return;
	if (!json_is_object(root)) {
		diags_add(diags, path, NULL, 0, "must be a JSON object");
		json_decref(root);
		return;
	}
	static const char *const members[] = {
		"description",      "service_labels", "services",
		"unknown_service",  "severity_label", "priorities",
		"default_priority", "reopen_window",  "silence_matchers"};
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		bool known = false;
		for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
			known = known || strcmp(key, members[i]) == 0;
		if (!known)
			diags_add(diags, path, key, 0,
				  "unknown member (service_labels, services, unknown_service, "
				  "severity_label, priorities, default_priority, reopen_window, "
				  "silence_matchers, description)");
	}
	json_t *labels = json_object_get(root, "service_labels");
	bool labels_ok = labels == NULL || (json_is_array(labels) && json_array_size(labels) > 0);
	size_t i;
	json_array_foreach(json_is_array(labels) ? labels : NULL, i, v) {
		labels_ok = labels_ok && label_name_ok(json_string_value(v));
	}
	if (!labels_ok)
		diags_add(diags, path, "service_labels", 0,
			  "must be a non-empty array of label names");
	json_t *services = json_object_get(root, "services");
	if (services != NULL && !json_is_object(services))
		diags_add(diags, path, "services", 0,
			  "must be an object: label value -> service of the catalog");
	json_object_foreach(json_is_object(services) ? services : NULL, key, v) {
		if (!catalog_has(d, v)) {
			char where[300];
			snprintf(where, sizeof where, "services.%.250s", key);
			diags_add(diags, path, where, 0, "must name a service of the catalog");
		}
	}
	json_t *unknown = json_object_get(root, "unknown_service");
	if (unknown != NULL) {
		const char *action = json_string_value(json_object_get(unknown, "action"));
		if (action == NULL ||
		    (strcmp(action, "refuse") != 0 && strcmp(action, "route") != 0))
			diags_add(diags, path, "unknown_service.action", 0,
				  "must be \"refuse\" (422) or \"route\" (to 'service')");
		else if (strcmp(action, "route") == 0 &&
			 !catalog_has(d, json_object_get(unknown, "service")))
			diags_add(diags, path, "unknown_service.service", 0,
				  "a route must name a service of the catalog");
	}
	json_t *sev = json_object_get(root, "severity_label");
	if (sev != NULL && !label_name_ok(json_string_value(sev)))
		diags_add(diags, path, "severity_label", 0, "must be a label name");
	json_t *prios = json_object_get(root, "priorities");
	if (prios != NULL && !json_is_object(prios))
		diags_add(diags, path, "priorities", 0, "must be an object: severity -> P1..P4");
	json_object_foreach(json_is_object(prios) ? prios : NULL, key, v) {
		if (!priority_ok(v)) {
			char where[300];
			snprintf(where, sizeof where, "priorities.%.250s", key);
			diags_add(diags, path, where, 0, "must be P1, P2, P3 or P4");
		}
	}
	json_t *dp = json_object_get(root, "default_priority");
	if (dp != NULL && !priority_ok(dp))
		diags_add(diags, path, "default_priority", 0, "must be P1, P2, P3 or P4");
	json_t *rw = json_object_get(root, "reopen_window");
	long long secs;
	if (rw != NULL &&
	    (!json_is_string(rw) || !time_parse_duration(json_string_value(rw), &secs) || secs < 0))
		diags_add(diags, path, "reopen_window", 0,
			  "must be an ISO 8601 duration such as PT1H (PT0S: never reopen)");
	json_t *sm = json_object_get(root, "silence_matchers");
	if (sm != NULL && !json_is_object(sm))
		diags_add(diags, path, "silence_matchers", 0,
			  "must be an object: service -> [{name, value, isRegex?, isEqual?}]");
	json_object_foreach(json_is_object(sm) ? sm : NULL, key, v) {
		char where[300];
		snprintf(where, sizeof where, "silence_matchers.%.250s", key);
		json_t *svc = json_string(key);
		if (!catalog_has(d, svc))
			diags_add(diags, path, where, 0, "'%s' is not a service of the catalog",
				  key);
		json_decref(svc);
		bool ok = json_is_array(v) && json_array_size(v) > 0;
		size_t k;
		json_t *m;
		json_array_foreach(json_is_array(v) ? v : NULL, k, m) {
			json_t *rx = json_object_get(m, "isRegex"),
			       *eq = json_object_get(m, "isEqual");
			ok = ok && label_name_ok(json_string_value(json_object_get(m, "name"))) &&
			     json_is_string(json_object_get(m, "value")) &&
			     (rx == NULL || json_is_boolean(rx)) &&
			     (eq == NULL || json_is_boolean(eq));
		}
		if (!ok)
			diags_add(diags, path, where, 0,
				  "must be a non-empty array of {name (a label name), value, "
				  "isRegex?, isEqual?}");
	}
	d->alerts = root;
}

static json_t *instances(const struct defs *d, long long from_ms, long long to_ms, bool stamped)
{
	json_t *all = json_array();
	for (size_t i = 0; all != NULL && i < d->n_calendars; i++) {
		json_t *part = cal_expand(d->calendars[i].set, from_ms, to_ms, 0);
		size_t k;
		json_t *v;
		json_array_foreach(stamped ? part : NULL, k, v) {
			json_object_set_new(v, "changed_ms",
					    json_integer(d->calendars[i].changed_ms));
		}
		if (part == NULL || json_array_extend(all, part) < 0) {
			json_decref(part);
			json_decref(all);
			return NULL;
		}
		json_decref(part);
	}
	return all;
}

json_t *defs_instances(const struct defs *d, long long from_ms, long long to_ms)
{
	return instances(d, from_ms, to_ms, false);
}

json_t *defs_instances_stamped(const struct defs *d, long long from_ms, long long to_ms)
{
	return instances(d, from_ms, to_ms, true);
}

int defs_instance_list(const struct defs *d, long long from_ms, long long to_ms,
		       struct cal_instances *out)
{
	for (size_t i = 0; i < d->n_calendars; i++)
		if (cal_expand_list(d->calendars[i].set, from_ms, to_ms, 0, out) < 0)
			return -1;
	return 0;
}

static void calendars_free(struct defs *d)
{
	for (size_t i = 0; i < d->n_calendars; i++) {
		free(d->calendars[i].name);
		cal_free(d->calendars[i].set);
	}
	free(d->calendars);
	planner_config_free(d->plan);
	json_decref(d->remote_status);
	json_decref(d->warnings);
	json_decref(d->github);
	json_decref(d->identity);
	json_decref(d->alerts);
	policy_incidents_free(d->incidents);
}

/* d->changed_ms: the newest calendar change, else the load time. */
static void stamp_newest(struct defs *d)
{
	long long newest = 0;
	for (size_t i = 0; i < d->n_calendars; i++)
		if (d->calendars[i].changed_ms > newest)
			newest = d->calendars[i].changed_ms;
	if (newest == 0)
		time_parse_rfc3339(d->loaded_at, &newest);
	d->changed_ms = newest;
}

/*
 * A reload that finds a calendar's bytes unchanged (a file touched, or rewritten the same
 * by a deployment) keeps the time its content last changed.
 */
static void carry_stamps(struct defs *fresh, const struct defs *old)
{
	for (size_t i = 0; old != NULL && i < fresh->n_calendars; i++) {
		struct defs_calendar *c = &fresh->calendars[i];
		for (size_t k = 0; k < old->n_calendars; k++) {
			const struct defs_calendar *o = &old->calendars[k];
			if (c->name != NULL && o->name != NULL && strcmp(c->name, o->name) == 0 &&
			    memcmp(c->digest, o->digest, sizeof c->digest) == 0) {
				c->changed_ms = o->changed_ms;
				break;
			}
		}
	}
	stamp_newest(fresh);
}

struct defs *defs_load(const char *workflows_dir, const char *policies_dir, const char *cache_dir,
		       const char *now_rfc3339, char **errors)
{
	unsigned char acc[CRYPTO_SHA256_LEN] = {0};
	struct diags diags = {0};
	struct defs *d = calloc(1, sizeof *d);
	*errors = NULL;
	if (d == NULL) {
		errors_add(errors, "out of memory");
		return NULL;
	}
	atomic_init(&d->refs, 1);
	d->memo = defs_memo_new();       /* NULL: every request expands for itself */
	d->plans = defs_plan_memo_new(); /* NULL: every write plans for itself */

	int wn = hash_dir(workflows_dir, acc, errors);
	int pn = hash_dir(policies_dir, acc, errors);
	d->workflows = wn >= 0 ? wf_set_load_dir(workflows_dir, &diags) : NULL;
	if (d->workflows != NULL)
		wf_set_bind_actions(d->workflows, policy_wf_actions);
	char catalog_path[2048];
	snprintf(catalog_path, sizeof catalog_path, "%s/services.json", policies_dir);
	bool catalog_ok = pn < 0 || access(catalog_path, F_OK) != 0 ||
			  (d->catalog = catalog_load_file(catalog_path, &diags)) != NULL;
	bool policies_ok =
		pn < 0 || !catalog_ok || !policy_dir_configured(policies_dir) ||
		(d->policies = policy_load_dir(policies_dir, d->catalog, &diags)) != NULL;
	if (pn >= 0) {
		load_calendars(d, policies_dir, cache_dir, &diags);
		load_github(d, policies_dir, &diags);
		load_identity(d, policies_dir, &diags);
		load_alerts(d, policies_dir, &diags);
		load_incidents(d, policies_dir, &diags);
	}
	if (diags.n > 0 || diags.oom || (wn >= 0 && d->workflows == NULL)) {
		char *text = diags_join(&diags);
		errors_add(errors, "%s", text && *text ? text : "definitions cannot be loaded");
		free(text);
		/* errors_add ended the joined text with a second newline; trim it */
		size_t len = strlen(*errors);
		while (len > 1 && (*errors)[len - 1] == '\n' && (*errors)[len - 2] == '\n')
			(*errors)[--len] = '\0';
	}
	bool bad = diags.n > 0 || diags.oom;
	diags_clear(&diags);
	if (bad || wn < 0 || pn < 0 || d->workflows == NULL || !catalog_ok || !policies_ok ||
	    d->plan == NULL) {
		defs_release(d);
		return NULL;
	}
	d->files = (unsigned)(wn + pn);
	for (int i = 0; i < 8; i++)
		snprintf(d->version + 2 * i, 3, "%02x", acc[i]);
	snprintf(d->loaded_at, sizeof d->loaded_at, "%s", now_rfc3339);
	stamp_newest(d);
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
	defs_plan_memo_free(d->plans); /* its planners borrow the span's strings */
	defs_memo_free(d->memo);       /* before the calendars its span borrows from */
	calendars_free(d);
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
			const char *cache_dir, const char *now_rfc3339)
{
	char *errors = NULL;
	struct defs *fresh =
		defs_load(workflows_dir, policies_dir, cache_dir, now_rfc3339, &errors);
	struct defs *old = NULL;

	pthread_mutex_lock(&h->lock);
	snprintf(h->last_attempt, sizeof h->last_attempt, "%s", now_rfc3339);
	free(h->last_error);
	h->last_error = NULL;
	if (fresh != NULL) {
		old = h->current;
		carry_stamps(fresh, old);
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
		json_object_set_new(j, "warnings",
				    h->current->warnings ? json_deep_copy(h->current->warnings)
							 : json_array());
	}
	if (j != NULL && h->last_error != NULL) {
		json_object_set_new(j, "last_error", json_string(h->last_error));
		json_object_set_new(j, "last_attempt", json_string(h->last_attempt));
	}
	pthread_mutex_unlock(&h->lock);
	return j;
}
