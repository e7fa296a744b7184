// Hyperparameter importance for the dashboard and the report: how much of
// the objective's variance across a sweep's trials each searched
// hyperparameter explains on its own (its first-order, or main-effect,
// share). Optuna's default, fANOVA, estimates these shares from a random
// forest fitted to the trials; here they come from an additive ANOVA model
// of the objective over each hyperparameter's values (its distinct values,
// or quartiles when it takes more than four), fitted by backfitting: each
// share is the variance its effects explain less what noise alone would
// explain with as many groups (so a hyperparameter with no effect scores
// about 0), and the shares are normalised to sum to 1, as Optuna's are.
// Plain data; no LibTorch.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace polysweep {

// The method, as the page names it.
inline constexpr const char* kImportanceMethod =
    "first-order (main-effect) variance shares of an additive ANOVA model of the objective over each "
    "hyperparameter's values or quartiles, less what noise explains with as many groups, normalised to sum to 1 "
    "(Optuna's fANOVA estimates the same shares with a random forest)";

struct ScoredTrial {
  std::map<std::string, std::string> params;  // as the journal holds them
  double objective = 0;
};

struct ParamImportance {
  std::string name;
  double importance = 0;  // share of the explained variance, summing to 1 over the parameters
};

// Most important first. Empty when fewer than 4 trials have an objective or
// the objective does not vary (nothing to explain).
std::vector<ParamImportance> HyperparameterImportance(const std::vector<ScoredTrial>& trials);

}  // namespace polysweep
