/*
 * args.c -- option parsing against a declarative table, and human durations.
 */
#include "main/cli/args.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

#define MAX_SECONDS (366LL * 86400)

/* The index of option `name` (`len` bytes) in `opts`, or -1. */
static int opt_index(const struct cli_opt *opts, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

int cli_args_parse(struct cli_args *a, const struct cli_opt *opts, size_t n_opts, int argc,
		   char **argv, bool stop_at_word, size_t max_pos, int *used, char *err,
		   size_t errlen)
{
	bool options_done = false;
	int i;

	if (n_opts > CLI_MAX_OPTS || max_pos > CLI_MAX_POS) {
		snprintf(err, errlen, "too many options declared");
		return -1;
	}
	a->opts = opts;
	a->n_opts = n_opts;
	for (i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (!options_done && strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		if (options_done || arg[0] != '-' || arg[1] == '\0') {
			if (stop_at_word)
				break;
			if (a->n_pos >= max_pos) {
				snprintf(err, errlen, "unexpected argument '%s'", arg);
				return -1;
			}
			a->pos[a->n_pos++] = arg;
			continue;
		}
		if (arg[1] != '-') {
			snprintf(err, errlen, "unknown option %s (options are --long)", arg);
			return -1;
		}
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		int k = opt_index(opts, n_opts, name, len);
		if (k < 0) {
			snprintf(err, errlen, "unknown option --%.*s", (int)len, name);
			return -1;
		}
		if (opts[k].metavar == NULL) {
			if (eq != NULL) {
				snprintf(err, errlen, "--%s takes no value", opts[k].name);
				return -1;
			}
			a->val[k] = "";
		} else if (eq != NULL) {
			a->val[k] = eq + 1;
		} else if (i + 1 < argc) {
			a->val[k] = argv[++i];
		} else {
			snprintf(err, errlen, "--%s needs a value (%s)", opts[k].name,
				 opts[k].metavar);
			return -1;
		}
	}
	*used = i;
	return 0;
}

const char *cli_args_get(const struct cli_args *a, const char *name)
{
	int k = opt_index(a->opts, a->n_opts, name, strlen(name));
	return k < 0 ? NULL : a->val[k];
}

bool cli_duration_parse(const char *s, long long *seconds)
{
	static const struct {
		char unit;
		long long seconds;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	size_t next = 0; /* the first unit still allowed */
	long long total = 0;

	if (s == NULL || *s == '\0')
		return false;
	if (s[0] == 'P') {
		if (!time_parse_duration(s, &total))
			return false;
		*seconds = total;
		return true;
	}
	if (strcmp(s, "0") == 0) {
		*seconds = 0;
		return true;
	}
	while (*s) {
		long long n = 0;
		if (!isdigit((unsigned char)*s))
			return false;
		for (; isdigit((unsigned char)*s); s++) {
			n = n * 10 + (*s - '0');
			if (n > MAX_SECONDS)
				return false;
		}
		size_t u = next;
		while (u < sizeof units / sizeof units[0] && units[u].unit != *s)
			u++;
		if (u == sizeof units / sizeof units[0])
			return false; /* no unit, an unknown one, or out of order */
		total += n * units[u].seconds;
		if (total > MAX_SECONDS)
			return false;
		next = u + 1;
		s++;
	}
	*seconds = total;
	return true;
}

void cli_duration_iso(long long seconds, char *out, size_t len)
{
	long long d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60,
		  s = seconds % 60;
	size_t n = 0;
	out[0] = '\0';
	n += (size_t)snprintf(out, len, "P");
	if (d > 0 && n < len)
		n += (size_t)snprintf(out + n, len - n, "%lldD", d);
	if ((h > 0 || m > 0 || s > 0 || d == 0) && n < len)
		n += (size_t)snprintf(out + n, len - n, "T");
	if (h > 0 && n < len)
		n += (size_t)snprintf(out + n, len - n, "%lldH", h);
	if (m > 0 && n < len)
		n += (size_t)snprintf(out + n, len - n, "%lldM", m);
	if ((s > 0 || seconds == 0) && n < len)
		snprintf(out + n, len - n, "%lldS", s);
}

void cli_duration_human(long long seconds, char *out, size_t len)
{
	if (seconds < 0)
		seconds = 0;
	long long d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60,
		  s = seconds % 60;
	if (d > 0)
		snprintf(out, len, "%lldd%lldh", d, h);
	else if (h > 0)
		snprintf(out, len, "%lldh%02lldm", h, m);
	else if (m > 0)
		snprintf(out, len, "%lldm%02llds", m, s);
	else
		snprintf(out, len, "%llds", s);
}
