#include "common/objective.h"

#include <cmath>
#include <cstdio>

namespace polysweep {

double ObjectiveScore(const MetricConfig& metric, const ObjectiveValue& v) {
  if (!v.feasible) return -HUGE_VAL;
  return metric.maximize ? v.value : -v.value;
}

ObjectiveValue ComputeObjective(const MetricConfig& m, const wire::Evaluation& e) {
  ObjectiveValue out;
  if (m.name == "accuracy") out.value = e.accuracy();
  else if (m.name == "valid_loss") out.value = e.loss();
  else if (m.name == "macro_f1") out.value = e.macro_f1();
  else if (m.name == "f1" || m.name == "micro_f1") out.value = e.has_f1() ? e.f1() : NAN;
  else if (m.name == "precision") out.value = e.has_precision() ? e.precision() : NAN;
  else if (m.name == "recall") out.value = e.has_recall() ? e.recall() : NAN;
  else if (m.name == "rmse") out.value = e.has_rmse() ? e.rmse() : NAN;
  else if (m.name == "mae") out.value = e.has_mae() ? e.mae() : NAN;
  else if (m.name == "pearson") out.value = e.has_pearson() ? e.pearson() : NAN;
  else if (m.name == "spearman") out.value = e.has_spearman() ? e.spearman() : NAN;
  else {
    const bool f1 = m.name == "language_f1";
    double sum = 0, worst = NAN, one = NAN;
    int n = 0;
    for (const auto& l : e.languages()) {
      if (l.count() == 0) continue;
      const double v = f1 ? l.f1() : l.accuracy();
      sum += v;
      ++n;
      if (std::isnan(worst) || v < worst) worst = v;
      if (l.lang() == m.over) one = v;
    }
    out.value = m.over == "macro" ? (n > 0 ? sum / n : NAN) : m.over == "worst" ? worst : one;
  }
  if (m.min_language_f1 > 0) {
    for (const auto& l : e.languages()) {
      if (l.count() == 0 || l.f1() >= m.min_language_f1) continue;
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s f1 %.3f < %g", l.lang().c_str(), l.f1(), m.min_language_f1);
      out.feasible = false;
      out.violation += (out.violation.empty() ? "" : ", ") + std::string(buf);
    }
  }
  return out;
}

std::string MetricLabel(const MetricConfig& m) {
  return m.over.empty() ? m.name : m.name + ":" + m.over;
}

}  // namespace polysweep
