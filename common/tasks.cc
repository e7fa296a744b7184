#include "common/tasks.h"

namespace polysweep {

namespace {
constexpr bool InKindOrder() {
  for (size_t i = 0; i < sizeof(kTasks) / sizeof(kTasks[0]); ++i) {
    if (static_cast<size_t>(kTasks[i].kind) != i) return false;
  }
  return true;
}
static_assert(InKindOrder(), "kTasks has one row per TaskKind, in its order");
}  // namespace

StatusOr<TaskKind> ParseTaskKind(const std::string& name) {
  for (const TaskInfo& t : kTasks) {
    if (name == t.name) return t.kind;
  }
  return Status::Error("unknown task \"" + name + "\" (" + TaskNames() + ")");
}

std::string TaskNames() {
  std::string out;
  for (const TaskInfo& t : kTasks) out += (out.empty() ? "" : ", ") + std::string(t.name);
  return out;
}

const char* LabelKindDescription(LabelKind kind) {
  switch (kind) {
    case LabelKind::kClassId: return "one label per text";
    case LabelKind::kTokenClassIds: return "a label per token";
    case LabelKind::kMultiHot: return "a set of labels per text";
    case LabelKind::kRealValue: return "a real value per text";
    case LabelKind::kMaskedTokens: return "no labels (the text's own tokens)";
  }
  return "?";
}

std::vector<std::string> ObjectiveMetrics(MetricFamily family) {
  if (family == MetricFamily::kTokenAccuracy) return {"accuracy", "valid_loss", "language_accuracy"};
  if (family == MetricFamily::kRegression) return {"rmse", "mae", "pearson", "spearman", "valid_loss"};
  if (family == MetricFamily::kMultiLabel) {
    return {"micro_f1", "macro_f1", "precision", "recall", "accuracy", "valid_loss", "language_f1"};
  }
  if (family == MetricFamily::kTokenTags) {
    return {"f1", "precision", "recall", "accuracy", "valid_loss", "language_f1", "language_accuracy"};
  }
  return {"accuracy", "macro_f1", "valid_loss", "language_f1", "language_accuracy"};
}

bool LowerIsBetter(const std::string& name) { return name == "valid_loss" || name == "rmse" || name == "mae"; }

bool IsSpanMetric(const std::string& name) {
  return name == "f1" || name == "precision" || name == "recall" || name == "language_f1";
}

}  // namespace polysweep
