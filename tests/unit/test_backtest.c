/*
 * test_backtest.c -- the risk backtest arithmetic (policy_backtest in policy/backtest.c)
 * on small histories computed by hand: per-level and per-band counts and rates, the base
 * rate, the Brier scores and skill, the AUC of score and level with ties, the level order
 * of risk.json, empty bands left out, negative scores, undefined figures as null, and the
 * text report naming every figure.  Run from the repository root.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "policy/policy.h"
#include "test_wf_util.h"

#define CHECK_NEAR(got, want)                                                                      \
	do {                                                                                       \
		double g_ = (got), w_ = (want);                                                    \
		CHECKF(fabs(g_ - w_) < 1e-9, "got %.12f, want %.12f", g_, w_);                     \
	} while (0)

static double num(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	if (b != NULL)
		v = json_object_get(v, b);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The row of `arr` whose `key` is the string `name` (or the integer from `from`). */
static json_t *row_named(json_t *arr, const char *name)
{
	size_t i;
	json_t *r;
	json_array_foreach(arr, i, r)
		if (strcmp(json_string_value(json_object_get(r, "level")) ?: "", name) == 0)
			return r;
	return NULL;
}

/*
 * Eight changes (score, level, failed, caused an incident):
 *   5 low, 5 low, 10 low failed | 20 medium, 20 medium incident, 30 medium failed+incident |
 *   40 high, 45 high failed
 * bad = {10, 20i, 30, 45}: 4 of 8, base rate 0.5, Brier of the base rate 0.25.
 * Levels: low 1/3, medium 2/3, high 1/2, so the per-level Brier is
 *   (3*(1/3)(2/3) + 3*(2/3)(1/3) + 2*(1/2)(1/2)) / 8 = (11/6)/8 = 11/48
 * and the skill 1 - (11/48)/(1/4) = 1/12.
 * AUC of the score, bad {10,20,30,45} against good {5,5,20,40}: 2 + 2.5 (20 ties 20) + 3
 * + 4 = 11.5 of 16 pairs = 0.71875.  AUC of the level rank (low 0, medium 1, high 2), bad
 * {0,1,1,2} against good {0,0,1,2}: 1 + 2.5 + 2.5 + 3.5 = 9.5 of 16 = 0.59375.
 */
static const struct policy_bt_change eight[] = {
	{5, "low", false, false},     {5, "low", false, false},    {10, "low", true, false},
	{20, "medium", false, false}, {20, "medium", false, true}, {30, "medium", true, true},
	{40, "high", false, false},   {45, "high", true, false},
};

static void test_hand_computed(void)
{
	json_t *r = policy_backtest(NULL, eight, 8, 10);
	CHECK(r != NULL);
	CHECK_INT(json_integer_value(json_object_get(r, "changes")), 8);
	CHECK_INT(json_integer_value(json_object_get(r, "failures")), 3);
	CHECK_INT(json_integer_value(json_object_get(r, "incidents_caused")), 2);
	CHECK_INT(json_integer_value(json_object_get(r, "bad")), 4);
	CHECK_NEAR(num(r, "base_rate", NULL), 0.5);
	CHECK_NEAR(num(r, "brier", "base_rate"), 0.25);
	CHECK_NEAR(num(r, "brier", "per_level"), 11.0 / 48.0);
	CHECK_NEAR(num(r, "brier", "skill"), 1.0 / 12.0);
	CHECK_NEAR(num(r, "auc", "score"), 0.71875);
	CHECK_NEAR(num(r, "auc", "level"), 0.59375);
	CHECK(json_is_null(json_object_get(r, "predicted_probability")));

	json_t *levels = json_object_get(r, "levels");
	CHECK_INT(json_array_size(levels), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(levels, 0), "level")), "low");
	json_t *med = row_named(levels, "medium");
	CHECK_INT(json_integer_value(json_object_get(med, "changes")), 3);
	CHECK_INT(json_integer_value(json_object_get(med, "failures")), 1);
	CHECK_INT(json_integer_value(json_object_get(med, "incidents_caused")), 2);
	CHECK_INT(json_integer_value(json_object_get(med, "bad")), 2);
	CHECK_NEAR(num(med, "observed_rate", NULL), 2.0 / 3.0);
	CHECK_NEAR(num(row_named(levels, "low"), "observed_rate", NULL), 1.0 / 3.0);
	CHECK_NEAR(num(row_named(levels, "high"), "observed_rate", NULL), 0.5);

	/* bands of 10: 0..9 {5,5}, 10..19 {10}, 20..29 {20,20i}, 30..39 {30}, 40..49 {40,45} */
	json_t *bands = json_object_get(r, "bands");
	CHECK_INT(json_array_size(bands), 5);
	static const long long from[] = {0, 10, 20, 30, 40}, n[] = {2, 1, 2, 1, 2},
			       bad[] = {0, 1, 1, 1, 1};
	for (size_t i = 0; i < 5; i++) {
		json_t *b = json_array_get(bands, i);
		CHECK_INT(json_integer_value(json_object_get(b, "from")), from[i]);
		CHECK_INT(json_integer_value(json_object_get(b, "to")), from[i] + 9);
		CHECK_INT(json_integer_value(json_object_get(b, "changes")), n[i]);
		CHECK_INT(json_integer_value(json_object_get(b, "bad")), bad[i]);
	}
	/* every figure is explained */
	static const char *const keys[] = {"bad",
					   "base_rate",
					   "observed_rate",
					   "predicted_probability",
					   "brier.base_rate",
					   "brier.per_level",
					   "brier.skill",
					   "auc.score",
					   "auc.level",
					   "levels_rise",
					   "verdict"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		CHECKF(json_string_length(json_object_get(json_object_get(r, "explain"), keys[i])) >
			       40,
		       "%s", keys[i]);
	char *text = policy_backtest_text(r);
	CHECK(text != NULL);
	CHECK(text && strstr(text, "brier skill            0.0833") != NULL);
	CHECK(text && strstr(text, "auc (score)            0.7188") != NULL);
	CHECK(text && strstr(text, "base rate              0.5000") != NULL);
	CHECK(text &&
	      strstr(text, "  medium              3        1         2      2  0.6667") != NULL);
	CHECK(text &&
	      strstr(text, "  20..29              2        0         1      1  0.5000") != NULL);
	CHECK(text && strstr(text, "not probabilities") != NULL);
	/* low 1/3, medium 2/3, high 1/2: the rate falls from medium to high */
	CHECK(json_is_false(json_object_get(r, "levels_rise")));
	CHECK(text && strstr(text, "Verdict: The score ranks a bad change above a good one 72% "
				   "of the time (50% is chance, AUC 0.72); the levels remove 8% "
				   "of the base-rate forecast's error (Brier skill 0.08), but "
				   "their observed rates do not rise with the level. Only 8 "
				   "changes: too few to trust these figures.") != NULL);
	if (text && getenv("SHOW"))
		fputs(text, stderr);
	free(text);
	json_decref(r);
}

/* Wider bands: 0..19 {5,5,10}, 20..39 {20,20i,30}, 40..59 {40,45}. */
static void test_band_width(void)
{
	json_t *r = policy_backtest(NULL, eight, 8, 20);
	json_t *bands = json_object_get(r, "bands");
	CHECK_INT(json_array_size(bands), 3);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(bands, 1), "from")), 20);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(bands, 1), "to")), 39);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(bands, 1), "bad")), 2);
	CHECK_INT(json_integer_value(json_object_get(r, "band_width")), 20);
	json_decref(r);
}

/* Empty bands are left out; a negative score falls in the band below zero. */
static void test_bands_sparse_and_negative(void)
{
	static const struct policy_bt_change c[] = {
		{-5, "low", true, false}, {0, "low", false, false}, {95, "high", false, false}};
	json_t *r = policy_backtest(NULL, c, 3, 10);
	json_t *bands = json_object_get(r, "bands");
	CHECK_INT(json_array_size(bands), 3);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(bands, 0), "from")), -10);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(bands, 0), "to")), -1);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(bands, 1), "from")), 0);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(bands, 2), "from")), 90);
	/* the only bad change has the lowest score: AUC 0; low 1/2 then high 0 falls */
	CHECK_NEAR(num(r, "auc", "score"), 0.0);
	CHECK(json_is_false(json_object_get(r, "levels_rise")));
	json_decref(r);
}

/* Levels follow risk.json's order (low, medium, high) whatever order changes come in. */
static void test_level_order_of_policy(void)
{
	struct diags d = {0};
	struct policy_catalog *cat = catalog_load_file("policies/services.json", &d);
	struct policy_set *set = cat ? policy_load_dir("policies", cat, &d) : NULL;
	if (set == NULL) {
		tw_dump(&d);
		CHECK(set != NULL);
		catalog_free(cat);
		diags_clear(&d);
		return;
	}
	static const struct policy_bt_change c[] = {{70, "high", true, false},
						    {10, "low", false, false},
						    {40, "medium", false, false},
						    {12, "retired", false, false}};
	json_t *r = policy_backtest(set, c, 4, 10);
	json_t *levels = json_object_get(r, "levels");
	CHECK_INT(json_array_size(levels), 4);
	static const char *const want[] = {"low", "medium", "high", "retired"};
	for (size_t i = 0; i < 4; i++)
		CHECK_STR(json_string_value(json_object_get(json_array_get(levels, i), "level")),
			  want[i]);
	/* high (rank 2) is the only bad one: it outranks every good change */
	CHECK_NEAR(num(r, "auc", "score"), 1.0);
	CHECK(json_is_true(json_object_get(r, "levels_rise"))); /* 0, 0, 1; retired is no level */
	json_decref(r);
	policy_free(set);
	catalog_free(cat);
	diags_clear(&d);
}

/* Without history or without any bad change the undefined figures are null, not NaN. */
static void test_undefined_is_null(void)
{
	json_t *r = policy_backtest(NULL, NULL, 0, 10);
	CHECK(r != NULL);
	CHECK_INT(json_integer_value(json_object_get(r, "changes")), 0);
	CHECK(json_is_null(json_object_get(r, "base_rate")));
	CHECK(json_is_null(json_object_get(json_object_get(r, "brier"), "skill")));
	CHECK(json_is_null(json_object_get(json_object_get(r, "auc"), "score")));
	CHECK_INT(json_array_size(json_object_get(r, "bands")), 0);
	char *text = policy_backtest_text(r);
	CHECK(text && strstr(text, "brier skill            n/a") != NULL);
	CHECK(text && strstr(text, "nothing to judge") != NULL);
	CHECK(json_is_null(json_object_get(r, "levels_rise")));
	free(text);
	json_decref(r);
	static const struct policy_bt_change good[] = {{5, "low", false, false},
						       {50, "high", false, false}};
	r = policy_backtest(NULL, good, 2, 10);
	CHECK_NEAR(num(r, "base_rate", NULL), 0.0);
	CHECK(json_is_null(json_object_get(json_object_get(r, "brier"), "skill")));
	CHECK(json_is_null(json_object_get(json_object_get(r, "auc"), "level")));
	CHECK(strstr(json_string_value(json_object_get(r, "verdict")) ?: "", "none bad") != NULL);
	json_decref(r);
}

TESTS(test_hand_computed, test_band_width, test_bands_sparse_and_negative,
      test_level_order_of_policy, test_undefined_is_null)
