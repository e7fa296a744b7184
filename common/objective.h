// The sweep's objective, computed from one evaluation: an overall metric
// (accuracy, macro_f1, valid_loss), or a per-language measure (language_f1,
// language_accuracy) over one language, the macro average over languages, or
// the worst language; with an optional constraint that makes an evaluation
// with a language below a floor infeasible.
#pragma once

#include <string>

#include "common/config.h"
#include "polysweep.pb.h"

namespace polysweep {

struct ObjectiveValue {
  double value = 0;       // NaN when the evaluation lacks what the metric needs
  bool feasible = true;   // false: a language is below metric.min_language_f1
  std::string violation;  // which one: "de f1 0.41 < 0.6"
};

ObjectiveValue ComputeObjective(const MetricConfig& metric, const wire::Evaluation& e);

// The value oriented so higher is better, whatever the metric's mode;
// infeasible is -inf (worst). NaN stays NaN.
double ObjectiveScore(const MetricConfig& metric, const ObjectiveValue& v);

// How the metric is named in tables and the journal: "macro_f1",
// "language_f1:worst", "language_accuracy:de".
std::string MetricLabel(const MetricConfig& metric);

}  // namespace polysweep
