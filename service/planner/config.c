/*
 * config.c -- policies/calendars.json: the scheduling horizon and remote freeze calendars.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/timeutil.h"
#include "planner/planner.h"
#include "wf/wf.h"

#define DAY_MS (86400LL * 1000)

static bool name_ok(const char *s)
{
	if (s == NULL || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	size_t n = 0;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return false;
	return n <= 63;
}

/*
 * The URL to fetch for a configured `url`: http:// and https:// as written; webcal:// and
 * webcals:// (what calendar sites publish for "subscribe") as https://.  An owned string,
 * or NULL when the scheme is none of these or no host follows it.
 */
static char *remote_url(const char *url)
{
	static const struct {
		const char *scheme, *as;
	} schemes[] = {{"http://", "http://"},
		       {"https://", "https://"},
		       {"webcal://", "https://"},
		       {"webcals://", "https://"}};
	for (size_t i = 0; url != NULL && i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i].scheme);
		if (strncasecmp(url, schemes[i].scheme, n) != 0)
			continue;
		if (url[n] == '\0' || url[n] == '/')
			return NULL;
		char *out = malloc(strlen(schemes[i].as) + strlen(url + n) + 1);
		if (out != NULL)
			strcat(strcpy(out, schemes[i].as), url + n);
		return out;
	}
	return NULL;
}

/* Reads optional duration `key` of `o` into *secs; false (with a diagnostic) when bad. */
static bool duration_of(json_t *o, const char *key, long long min_s, long long *secs,
			const char *file, const char *path, struct diags *d)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL)
		return true;
	long long s;
	if (!json_is_string(v) || !time_parse_duration(json_string_value(v), &s) || s < min_s) {
		diags_add(d, file, path, 0,
			  "'%s' must be an ISO 8601 duration of at least %lld seconds", key, min_s);
		return false;
	}
	*secs = s;
	return true;
}

static void remote_parse(json_t *r, size_t i, struct planner_config *cfg, const char *file,
			 struct diags *d)
{
	char path[64];
	snprintf(path, sizeof path, "remote[%zu]", i);
	if (!json_is_object(r)) {
		diags_add(d, file, path, 0, "must be an object");
		return;
	}
	const char *key;
	json_t *v;
	json_object_foreach(r, key, v) {
		static const char *const known[] = {"name",        "url",     "hardness",
						    "services",    "refresh", "timeout",
						    "description", "timezone"};
		bool ok = false;
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
			ok = ok || strcmp(known[k], key) == 0;
		if (!ok)
			diags_add(d, file, path, 0, "unknown member '%s'", key);
	}
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *url = json_string_value(json_object_get(r, "url"));
	const char *hardness = json_string_value(json_object_get(r, "hardness"));
	json_t *services = json_object_get(r, "services");
	long long refresh = 6 * 3600, timeout = 10;
	bool good = true;
	if (!name_ok(name)) {
		diags_add(d, file, path, 0, "'name' must match ^[a-z0-9][a-z0-9-]{0,62}$");
		good = false;
	}
	for (size_t k = 0; good && k < i; k++)
		if (strcmp(cfg->remote[k].name, name) == 0) {
			diags_add(d, file, path, 0, "duplicate name '%s'", name);
			good = false;
		}
	char *fetch_url = remote_url(url);
	if (fetch_url == NULL) {
		diags_add(d, file, path, 0,
			  "'url' must be an http://, https:// or webcal:// URL with a host");
		good = false;
	}
	if (hardness != NULL && strcmp(hardness, "hard") != 0 && strcmp(hardness, "soft") != 0) {
		diags_add(d, file, path, 0, "'hardness' must be \"hard\" or \"soft\"");
		good = false;
	}
	if (services == NULL)
		services = json_string("*");
	else if (json_is_string(services) && strcmp(json_string_value(services), "*") == 0)
		json_incref(services);
	else if (json_is_array(services) && json_array_size(services) > 0)
		json_incref(services);
	else {
		diags_add(d, file, path, 0, "'services' must be \"*\" or a non-empty array");
		services = NULL;
		good = false;
	}
	good = duration_of(r, "refresh", 60, &refresh, file, path, d) && good;
	good = duration_of(r, "timeout", 1, &timeout, file, path, d) && good;
	if (!good) {
		json_decref(services);
		free(fetch_url);
		return;
	}
	struct planner_remote *pr = &cfg->remote[cfg->n_remote++];
	pr->name = strdup(name);
	pr->url = fetch_url;
	pr->hard = hardness == NULL || strcmp(hardness, "hard") == 0;
	pr->services = services;
	pr->refresh_s = (long)refresh;
	pr->timeout_ms = (long)timeout * 1000;
	json_t *tz = json_object_get(r, "timezone");
	if (tz != NULL && (!json_is_string(tz) || json_string_length(tz) == 0))
		diags_add(d, file, path, 0, "'timezone' must be a zone name such as Europe/Berlin");
	else if (tz != NULL)
		pr->timezone = strdup(json_string_value(tz));
}

struct planner_config *planner_config_parse(const char *file, const char *text, size_t len,
					    struct diags *diags)
{
	struct planner_config *cfg = calloc(1, sizeof *cfg);
	size_t before = diags->n;
	if (cfg == NULL) {
		diags->oom = true;
		return NULL;
	}
	cfg->horizon_ms = 180 * DAY_MS;
	cfg->default_duration_ms = 3600 * 1000;
	if (text == NULL)
		return cfg;
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(root)) {
		diags_add(diags, file, "", 0, root ? "must be a JSON object" : "invalid json: %s",
			  je.text);
		json_decref(root);
		planner_config_free(cfg);
		return NULL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "horizon_days") != 0 && strcmp(key, "default_duration") != 0 &&
		    strcmp(key, "remote") != 0 && strcmp(key, "description") != 0 &&
		    strcmp(key, "timezone") != 0)
			diags_add(diags, file, key, 0, "unknown member");
	}
	v = json_object_get(root, "horizon_days");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 400)
			diags_add(diags, file, "horizon_days", 0,
				  "must be an integer from 1 to 400");
		else
			cfg->horizon_ms = json_integer_value(v) * DAY_MS;
	}
	long long secs = 3600;
	if (duration_of(root, "default_duration", 60, &secs, file, "default_duration", diags))
		cfg->default_duration_ms = secs * 1000;
	v = json_object_get(root, "timezone");
	if (v != NULL && (!json_is_string(v) || json_string_length(v) == 0))
		diags_add(diags, file, "timezone", 0,
			  "must be a zone name such as Europe/Berlin (default UTC)");
	else if (v != NULL)
		cfg->timezone = strdup(json_string_value(v));
	json_t *remote = json_object_get(root, "remote");
	if (remote != NULL && !json_is_array(remote))
		diags_add(diags, file, "remote", 0, "must be an array");
	size_t n = json_array_size(remote);
	cfg->remote = calloc(n + 1, sizeof *cfg->remote);
	if (cfg->remote == NULL)
		diags->oom = true;
	for (size_t i = 0; cfg->remote != NULL && i < n; i++)
		remote_parse(json_array_get(remote, i), i, cfg, file, diags);
	json_decref(root);
	if (diags->n > before || diags->oom) {
		planner_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void planner_config_free(struct planner_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_remote; i++) {
		free(cfg->remote[i].name);
		free(cfg->remote[i].url);
		json_decref(cfg->remote[i].services);
		free(cfg->remote[i].timezone);
	}
	free(cfg->timezone);
	free(cfg->remote);
	free(cfg);
}
