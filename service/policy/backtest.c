/*
 * backtest.c -- the risk backtest: replays carried-out changes against the risk levels
 * and scores recorded when they were assessed and measures how well those foretold bad
 * outcomes (failed, or caused an incident).  Pure: the caller supplies the history.
 *
 * The policy gives points, not probabilities, so nothing here is a predicted
 * probability.  What is compared: the observed bad rate per level and per score band;
 * the Brier score of a per-level base-rate forecast (each change forecast with its
 * level's observed rate, in sample) against the global base-rate forecast (Brier skill
 * score); and the AUC of the score and of the level rank (calibration-free: do bad
 * changes rank higher?).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/policy_int.h"

/* Counts of one group (a level or a band). */
struct bt_row {
	long long changes, failures, incidents, bad;
};

static void row_add(struct bt_row *r, const struct policy_bt_change *c)
{
	r->changes++;
	r->failures += c->failed;
	r->incidents += c->caused_incident;
	r->bad += c->failed || c->caused_incident;
}

static json_t *row_json(const struct bt_row *r)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:o}", "changes", (json_int_t)r->changes, "failures",
			 (json_int_t)r->failures, "incidents_caused", (json_int_t)r->incidents,
			 "bad", (json_int_t)r->bad, "observed_rate",
			 r->changes ? json_real((double)r->bad / (double)r->changes) : json_null());
}

/* One change reduced to what the AUC needs: its rank key and whether it went bad. */
struct bt_key {
	long long key;
	bool bad;
};

static int key_cmp(const void *a, const void *b)
{
	long long x = ((const struct bt_key *)a)->key, y = ((const struct bt_key *)b)->key;
	return (x > y) - (x < y);
}

/*
 * The probability that a random bad change has a higher key than a random good one,
 * ties counting half (the Mann-Whitney form of the ROC AUC), sorting `k` in place;
 * null when there is no bad or no good change.
 */
static json_t *auc(struct bt_key *k, size_t n)
{
	qsort(k, n, sizeof *k, key_cmp);
	double wins = 0, good_below = 0, bad = 0, good = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double b = 0, g = 0;
		for (; j < n && k[j].key == k[i].key; j++)
			k[j].bad ? b++ : g++;
		wins += b * good_below + 0.5 * b * g;
		good_below += g;
		bad += b;
		good += g;
		i = j;
	}
	return bad > 0 && good > 0 ? json_real(wins / (bad * good)) : json_null();
}

/* A change by its score, for cutting the bands. */
struct bt_ref {
	long long score;
	const struct policy_bt_change *c;
};

static int ref_cmp(const void *a, const void *b)
{
	long long x = ((const struct bt_ref *)a)->score, y = ((const struct bt_ref *)b)->score;
	return (x > y) - (x < y);
}

/* Floor division, so that band edges hold for negative scores too. */
static long long floor_div(long long a, long long b)
{
	long long q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static const char *const explain[][2] = {
	{"bad", "A change counts as bad when it closed as failed or an incident names it as "
		"caused_by (the same outcome the risk history learns from). failures and "
		"incidents_caused are counted apart; a change with both counts once in bad."},
	{"base_rate", "The share of bad changes over the whole period: what you would forecast "
		      "for every change knowing nothing about it."},
	{"observed_rate", "Per level or score band: bad / changes. A useful policy shows rates "
			  "that rise with the level and the band; flat or falling rates mean "
			  "the points do not separate risky changes from safe ones."},
	{"predicted_probability", "The policy gives points and levels, not probabilities, so "
				  "no predicted probability exists to calibrate. The figures "
				  "below compare the levels' observed rates instead."},
	{"brier.base_rate", "Brier score (mean squared error of a forecast, 0 is perfect) of "
			    "forecasting base_rate for every change."},
	{"brier.per_level", "Brier score of forecasting, for each change, its level's observed "
			    "rate (fitted on the same changes, so an upper bound on what the "
			    "levels could earn)."},
	{"brier.skill", "1 - per_level / base_rate: the share of the base-rate forecast's error "
			"the levels remove. 0 means the levels add nothing; near 1 means they "
			"sort changes almost perfectly; null when every change went the same "
			"way."},
	{"auc.score", "The chance that a randomly chosen bad change scored higher than a "
		      "randomly chosen good one (ties count half). 0.5 is a coin toss, 1.0 "
		      "perfect ranking, below 0.5 worse than chance; null without both bad and "
		      "good changes."},
	{"levels_rise", "Whether the observed rate never falls from one level to the next "
			"(levels holding no change skipped; with a policy, its levels only): true "
			"is what a policy that earns "
			"its points shows; null with fewer than two levels in use."},
	{"verdict", "The figures above in a sentence, with a warning when the period holds too "
		    "few changes (under 30) to judge."},
	{"auc.level", "The same for the level rank (risk.json's order): how much of the "
		      "score's ranking survives cutting it into levels."},
};

/* The verdict: the figures in words (see explain["verdict"]). */
static void verdict_text(char *out, size_t len, size_t n, long long bad, json_t *auc_score,
			 double skill, int rise)
{
	if (n == 0) {
		snprintf(out, len,
			 "No assessed change was carried out in the period: nothing "
			 "to judge.");
		return;
	}
	if (bad == 0 || bad == (long long)n) {
		snprintf(out, len,
			 "Every change went the same way (%s): the risk levels cannot "
			 "be judged on this period.",
			 bad ? "all bad" : "none bad");
		return;
	}
	double a = json_number_value(auc_score);
	int k = snprintf(out, len,
			 "The score ranks a bad change above a good one %.0f%% of the time (50%% "
			 "is chance, AUC %.2f); the levels remove %.0f%% of the base-rate "
			 "forecast's error (Brier skill %.2f)%s.",
			 a * 100, a, skill * 100, skill,
			 rise < 0 ? ""
			 : rise   ? ", and their observed rates rise with the level"
				  : ", but their observed rates do not rise with the level");
	if (n < 30 && k > 0 && (size_t)k < len)
		snprintf(out + k, len - (size_t)k,
			 " Only %zu changes: too few to trust these figures.", n);
}

json_t *policy_backtest(const struct policy_set *set, const struct policy_bt_change *c, size_t n,
			long long band_width)
{
	if (band_width < 1)
		band_width = 1;
	size_t n_pol = set && set->risk ? set->risk->n_levels : 0;
	const char **names = calloc(n_pol + n + 1, sizeof *names);
	struct bt_row *lv = calloc(n_pol + n + 1, sizeof *lv);
	struct bt_key *ks = calloc(n + 1, sizeof *ks), *kl = calloc(n + 1, sizeof *kl);
	struct bt_ref *byscore = calloc(n + 1, sizeof *byscore);
	json_t *out = NULL, *levels = json_array(), *bands = json_array(), *ex = json_object();
	if (names == NULL || lv == NULL || ks == NULL || kl == NULL || byscore == NULL ||
	    levels == NULL || bands == NULL || ex == NULL)
		goto done;
	size_t n_names = n_pol;
	for (size_t i = 0; i < n_pol; i++)
		names[i] = set->risk->levels[i].name;
	struct bt_row all = {0};
	for (size_t i = 0; i < n; i++) {
		const char *name = c[i].level ? c[i].level : "";
		size_t l = 0;
		while (l < n_names && strcmp(names[l], name) != 0)
			l++;
		if (l == n_names)
			names[n_names++] = name;
		row_add(&lv[l], &c[i]);
		row_add(&all, &c[i]);
		bool bad = c[i].failed || c[i].caused_incident;
		ks[i] = (struct bt_key){c[i].score, bad};
		kl[i] = (struct bt_key){(long long)l, bad};
	}
	/* Brier scores: the base rate for all, or each level's own observed rate. */
	double p0 = n ? (double)all.bad / (double)n : 0, b_level = 0;
	for (size_t l = 0; l < n_names; l++) {
		if (lv[l].changes == 0)
			continue;
		double p = (double)lv[l].bad / (double)lv[l].changes;
		b_level += (double)lv[l].changes * p * (1 - p);
		json_t *row = row_json(&lv[l]);
		if (row == NULL || json_object_set_new(row, "level", json_string(names[l])) != 0 ||
		    json_array_append_new(levels, row) != 0)
			goto done;
	}
	int rise = -1; /* -1: fewer than two levels hold changes */
	double prev = -1;
	for (size_t l = 0; l < (n_pol ? n_pol : n_names); l++) { /* risk.json's levels only */
		if (lv[l].changes == 0)
			continue;
		double p = (double)lv[l].bad / (double)lv[l].changes;
		if (prev >= 0)
			rise = (rise != 0) && p >= prev;
		prev = p;
	}
	double b_base = p0 * (1 - p0);
	b_level = n ? b_level / (double)n : 0;
	/* bands, lowest first: the changes sorted by score, cut where the band changes */
	for (size_t i = 0; i < n; i++)
		byscore[i] = (struct bt_ref){c[i].score, &c[i]};
	qsort(byscore, n, sizeof *byscore, ref_cmp);
	for (size_t i = 0; i < n;) {
		long long b = floor_div(byscore[i].score, band_width);
		struct bt_row r = {0};
		for (; i < n && floor_div(byscore[i].score, band_width) == b; i++)
			row_add(&r, byscore[i].c);
		json_t *row = row_json(&r);
		if (row == NULL ||
		    json_object_set_new(row, "from", json_integer(b * band_width)) != 0 ||
		    json_object_set_new(row, "to", json_integer(b * band_width + band_width - 1)) !=
			    0 ||
		    json_array_append_new(bands, row) != 0)
			goto done;
	}
	for (size_t i = 0; i < sizeof explain / sizeof explain[0]; i++)
		if (json_object_set_new(ex, explain[i][0], json_string(explain[i][1])) != 0)
			goto done;
	double skill = b_base > 0 ? 1 - b_level / b_base : 0;
	json_t *a_score = auc(ks, n);
	char verdict[640];
	verdict_text(verdict, sizeof verdict, n, all.bad, a_score, skill, rise);
	out = json_pack(
		"{s:I, s:I, s:I, s:I, s:o, s:O, s:O, s:I, s:{s:o, s:o, s:o}, "
		"s:{s:o, s:o}, s:n, s:o, s:s, s:O}",
		"changes", (json_int_t)n, "failures", (json_int_t)all.failures, "incidents_caused",
		(json_int_t)all.incidents, "bad", (json_int_t)all.bad, "base_rate",
		n ? json_real(p0) : json_null(), "levels", levels, "bands", bands, "band_width",
		(json_int_t)band_width, "brier", "base_rate", n ? json_real(b_base) : json_null(),
		"per_level", n ? json_real(b_level) : json_null(), "skill",
		b_base > 0 ? json_real(skill) : json_null(), "auc", "score", a_score, "level",
		auc(kl, n), "predicted_probability", "levels_rise",
		rise < 0 ? json_null() : json_boolean(rise), "verdict", verdict, "explain", ex);
done:
	json_decref(levels);
	json_decref(bands);
	json_decref(ex);
	free(names);
	free(lv);
	free(ks);
	free(kl);
	free(byscore);
	return out;
}

/* Appends printf-formatted text to the stream; the stream reports failure at the end. */
static void fig(FILE *f, const char *label, json_t *v)
{
	if (json_is_number(v))
		fprintf(f, "  %-22s %.4f\n", label, json_number_value(v));
	else
		fprintf(f, "  %-22s n/a\n", label);
}

static void row_text(FILE *f, const char *label, json_t *row)
{
	json_t *rate = json_object_get(row, "observed_rate");
	fprintf(f, "  %-12s %8lld %8lld %9lld %6lld  ", label,
		(long long)json_integer_value(json_object_get(row, "changes")),
		(long long)json_integer_value(json_object_get(row, "failures")),
		(long long)json_integer_value(json_object_get(row, "incidents_caused")),
		(long long)json_integer_value(json_object_get(row, "bad")));
	if (json_is_number(rate))
		fprintf(f, "%.4f\n", json_number_value(rate));
	else
		fprintf(f, "n/a\n");
}

static void explain_text(FILE *f, json_t *report, const char *key)
{
	fprintf(f, "    %s\n",
		json_string_value(json_object_get(json_object_get(report, "explain"), key)) ?: "");
}

char *policy_backtest_text(json_t *report)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	size_t i;
	json_t *row;
	fprintf(f, "Risk backtest: %lld changes, %lld failed, %lld caused incidents, %lld bad\n",
		(long long)json_integer_value(json_object_get(report, "changes")),
		(long long)json_integer_value(json_object_get(report, "failures")),
		(long long)json_integer_value(json_object_get(report, "incidents_caused")),
		(long long)json_integer_value(json_object_get(report, "bad")));
	explain_text(f, report, "bad");
	fig(f, "base rate", json_object_get(report, "base_rate"));
	explain_text(f, report, "base_rate");
	fprintf(f, "\nPer level (risk.json order):\n  %-12s %8s %8s %9s %6s  %s\n", "LEVEL",
		"CHANGES", "FAILED", "INCIDENTS", "BAD", "RATE");
	json_array_foreach(json_object_get(report, "levels"), i, row)
		row_text(f, json_string_value(json_object_get(row, "level")), row);
	fprintf(f, "\nPer score band (%lld points):\n  %-12s %8s %8s %9s %6s  %s\n",
		(long long)json_integer_value(json_object_get(report, "band_width")), "SCORE",
		"CHANGES", "FAILED", "INCIDENTS", "BAD", "RATE");
	json_array_foreach(json_object_get(report, "bands"), i, row) {
		char label[48];
		snprintf(label, sizeof label, "%lld..%lld",
			 (long long)json_integer_value(json_object_get(row, "from")),
			 (long long)json_integer_value(json_object_get(row, "to")));
		row_text(f, label, row);
	}
	explain_text(f, report, "observed_rate");
	fprintf(f, "\nPredicted probability: none\n");
	explain_text(f, report, "predicted_probability");
	json_t *brier = json_object_get(report, "brier"), *a = json_object_get(report, "auc");
	fprintf(f, "\nScores:\n");
	fig(f, "brier (base rate)", json_object_get(brier, "base_rate"));
	explain_text(f, report, "brier.base_rate");
	fig(f, "brier (per level)", json_object_get(brier, "per_level"));
	explain_text(f, report, "brier.per_level");
	fig(f, "brier skill", json_object_get(brier, "skill"));
	explain_text(f, report, "brier.skill");
	fig(f, "auc (score)", json_object_get(a, "score"));
	explain_text(f, report, "auc.score");
	fig(f, "auc (level)", json_object_get(a, "level"));
	explain_text(f, report, "auc.level");
	fprintf(f, "\nVerdict: %s\n", json_string_value(json_object_get(report, "verdict")) ?: "");
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
