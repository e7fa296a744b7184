// Hyperparameter importance (cli/importance.h) on trials whose objective is
// made from known effects: the shares are the effects' variances.
#include "cli/importance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

namespace polysweep {
namespace {

std::string Text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

double Importance(const std::vector<ParamImportance>& out, const std::string& name) {
  for (const auto& p : out) {
    if (p.name == name) return p.importance;
  }
  return -1;
}

TEST(Importance, AdditiveEffectsGetTheirShareOfTheVariance) {
  // A full 4 x 4 design, objective = a(lr) + b(dropout): var(a) = 1.25 and
  // var(b) = 0.3125, so lr explains 4/5 of the variance and dropout 1/5.
  std::vector<ScoredTrial> trials;
  const double lr[] = {1e-4, 3e-4, 1e-3, 3e-3}, dropout[] = {0, 0.1, 0.2, 0.3};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) trials.push_back({{{"lr", Text(lr[i])}, {"dropout", Text(dropout[j])}}, i + 0.5 * j});
  }
  const auto out = HyperparameterImportance(trials);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "lr");
  EXPECT_NEAR(Importance(out, "lr"), 0.8, 1e-9);
  EXPECT_NEAR(Importance(out, "dropout"), 0.2, 1e-9);
}

TEST(Importance, AParameterWithoutEffectScoresAboutNothing) {
  // 40 random trials: the objective follows log lr (and noise); the seed and
  // the batch size do nothing.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-5, -2), noise(-0.05, 0.05);
  std::vector<ScoredTrial> trials;
  for (int t = 0; t < 40; ++t) {
    const double log_lr = u(rng);
    trials.push_back({{{"lr", Text(std::pow(10, log_lr))},
                       {"batch_size", t % 2 ? "16" : "32"},
                       {"seed", std::to_string(rng() % 1000)}},
                      -std::pow(log_lr + 3.5, 2) + noise(rng)});
  }
  const auto out = HyperparameterImportance(trials);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "lr");
  EXPECT_GT(Importance(out, "lr"), 0.9);
  EXPECT_LT(Importance(out, "batch_size"), 0.05);
  EXPECT_LT(Importance(out, "seed"), 0.1);
}

TEST(Importance, TooFewTrialsOrAFlatObjectiveExplainNothing) {
  EXPECT_TRUE(HyperparameterImportance({{{{"lr", "0.1"}}, 1}, {{{"lr", "0.2"}}, 2}, {{{"lr", "0.3"}}, 3}}).empty());
  std::vector<ScoredTrial> flat;
  for (int i = 0; i < 6; ++i) flat.push_back({{{"lr", Text(0.1 * (i + 1))}}, 0.5});
  EXPECT_TRUE(HyperparameterImportance(flat).empty());
}

}  // namespace
}  // namespace polysweep
