#include "worker/metrics.h"

#include <gtest/gtest.h>

namespace polysweep {
namespace {

TEST(ConfusionCounts, PerfectPredictionsScoreOne) {
  ConfusionCounts c(3, 2);
  for (int lang = 0; lang < 2; ++lang)
    for (int label = 0; label < 3; ++label) c.Add(lang, label, label, 0.5);
  EvalMetrics m = c.Compute();
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.macro_f1, 1.0);
  EXPECT_NEAR(m.loss, 0.5, 1e-6);
  ASSERT_EQ(m.languages.size(), 2u);
  EXPECT_EQ(m.languages[0].count, 3);
  EXPECT_DOUBLE_EQ(m.languages[1].f1, 1.0);
}

TEST(ConfusionCounts, MacroF1MatchesHandComputation) {
  // Language 0: truth a,a,b ; predicted a,b,b.
  //   label a: tp1 fp0 fn1 -> F1 2/3 ; label b: tp1 fp1 fn0 -> F1 2/3 ; macro 2/3.
  // Language 1: truth c ; predicted a -> a: F1 0 (pred only), c: F1 0 -> macro 0.
  ConfusionCounts c(3, 2);
  c.Add(0, 0, 0, 1.0);
  c.Add(0, 0, 1, 2.0);
  c.Add(0, 1, 1, 3.0);
  c.Add(1, 2, 0, 4.0);
  EvalMetrics m = c.Compute();
  EXPECT_NEAR(m.languages[0].f1, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.languages[0].accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.languages[1].f1, 0.0);
  EXPECT_EQ(m.languages[1].count, 1);
  // Overall: a: tp1 fp1 fn1 -> 0.5 ; b: tp1 fp1 fn0 -> 2/3 ; c: tp0 fn1 -> 0.
  EXPECT_NEAR(m.macro_f1, (0.5 + 2.0 / 3.0 + 0.0) / 3.0, 1e-12);
  EXPECT_NEAR(m.accuracy, 0.5, 1e-12);
  EXPECT_NEAR(m.loss, 2.5, 1e-6);
}

TEST(ConfusionCounts, SummedRawCountsEqualCombinedCounts) {
  // What an all-reduce does: adding two ranks' raw vectors.
  ConfusionCounts a(2, 1), b(2, 1), both(2, 1);
  a.Add(0, 0, 0, 1);
  a.Add(0, 1, 0, 1);
  b.Add(0, 1, 1, 1);
  both.Add(0, 0, 0, 1);
  both.Add(0, 1, 0, 1);
  both.Add(0, 1, 1, 1);
  for (size_t i = 0; i < a.raw().size(); ++i) a.raw()[i] += b.raw()[i];
  EXPECT_DOUBLE_EQ(a.Compute().macro_f1, both.Compute().macro_f1);
  EXPECT_DOUBLE_EQ(a.Compute().accuracy, both.Compute().accuracy);
}

}  // namespace
}  // namespace polysweep
