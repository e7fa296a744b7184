// Regression (model.task regression): numeric labels read and refused, the
// metrics worked by hand (RMSE, MAE, Pearson's and Spearman's correlation,
// ties ranked by their mean as scipy.stats.spearmanr ranks them), and the
// config's metric and mode.
#include <gtest/gtest.h>

#include <cmath>

#include "common/config.h"
#include "common/example.h"
#include "worker/metrics.h"

namespace polysweep {
namespace {

TEST(Regression, ReadsNumbersAndRefusesTheRest) {
  EXPECT_FLOAT_EQ(*ParseRealLabel("4.5"), 4.5f);
  EXPECT_FLOAT_EQ(*ParseRealLabel("-2e1"), -20.f);
  EXPECT_FLOAT_EQ(*ParseRealLabel("3"), 3.f);
  for (const char* bad : {"", "four", "4 stars", "nan", "inf", "1e400"}) {
    auto v = ParseRealLabel(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().message(), "label \"" + std::string(bad) + "\" is not a number (model.task regression)");
  }
  ExampleFields f;
  f.numeric_label = true;
  auto ex = ParseExampleLine(R"({"text": "gut", "label": 4.5, "lang": "de"})", f);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(ex->label, "4.5");
  f.numeric_label = false;
  EXPECT_FALSE(ParseExampleLine(R"({"text": "gut", "label": 4.5, "lang": "de"})", f).ok());
}

// gold 1 2 3 4 5, predicted 2 2 3 5 4:
//   errors 1 0 0 1 -1: RMSE sqrt(3/5), MAE 3/5;
//   Pearson: means 3 and 3.2, sum of products 7, of squares 10 and 6.8: 7/sqrt(68);
//   Spearman: predicted ranks 1.5 1.5 3 5 4 (the tie shares 1 and 2),
//   gold ranks 1..5: means 3, products 8.5, squares 9.5 and 10: 8.5/sqrt(95).
TEST(Regression, ScoresErrorsAndCorrelationsAsWorkedByHand) {
  const RegressionScores s = ScoreRegression({1, 2, 3, 4, 5}, {2, 2, 3, 5, 4});
  EXPECT_NEAR(s.rmse, std::sqrt(0.6), 1e-12);
  EXPECT_NEAR(s.mae, 0.6, 1e-12);
  EXPECT_NEAR(s.pearson, 7 / std::sqrt(68.0), 1e-12);
  EXPECT_NEAR(s.spearman, 8.5 / std::sqrt(95.0), 1e-12);
  EXPECT_EQ(s.count, 5);
  const RegressionScores constant = ScoreRegression({1, 2, 3}, {2, 2, 2});
  EXPECT_EQ(constant.pearson, 0);  // undefined: reported as 0
  EXPECT_EQ(constant.spearman, 0);
}

// The ranks' counts sum like the others: each rank fills its own examples.
TEST(Regression, CountsSumOverRanksIntoTheWholeSplit) {
  RegressionCounts rank0(2, 4), rank1(2, 4);
  rank0.AddValue(0, 0, 1, 2);
  rank0.AddValue(2, 1, 3, 3);
  rank1.AddValue(1, 0, 2, 2);
  rank1.AddValue(3, 1, 4, 5);
  for (size_t i = 0; i < rank0.raw().size(); ++i) rank0.raw()[i] += rank1.raw()[i];
  const EvalMetrics m = rank0.Compute();
  ASSERT_TRUE(m.regression.has_value());
  EXPECT_EQ(m.regression->count, 4);
  EXPECT_NEAR(m.regression->mae, 0.5, 1e-6);
  EXPECT_NEAR(m.loss, 0.5, 1e-6);  // the mean squared error
  ASSERT_TRUE(m.languages[1].regression.has_value());
  EXPECT_NEAR(m.languages[1].regression->rmse, std::sqrt(0.5), 1e-6);
}

}  // namespace
}  // namespace polysweep
