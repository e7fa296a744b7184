// The task registry: every task polysweep trains, one row each, naming what
// an example's label is and which metrics apply. Shards (common/shard.h),
// model packages, heads, metrics and predict read it; the config will too.
// A new task is a row here and a head (worker/heads.h), not a branch in
// each layer. Plain data; no LibTorch.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"

namespace polysweep {

enum class TaskKind { kSequenceClassification, kTokenClassification, kMaskedLm, kRegression, kMultiLabel };

// What an example's label span (common/shard.h, version 2) holds.
enum class LabelKind {
  kClassId,        // one class id per text: an index into the label map
  kTokenClassIds,  // one class id per token
  kMultiHot,       // a set of class ids per text
  kRealValue,      // one real number per text (the bits of a float32)
  kMaskedTokens,   // nothing stored: the targets are the text's own tokens, masked (vocabulary ids)
};

// How an evaluation counts (worker/metrics.h) and so which objectives
// (common/objective.h) it defines.
enum class MetricFamily {
  kClassification,  // confusion counts per language: accuracy, macro-F1, per-language F1 and accuracy
  kTokenAccuracy,   // scored tokens per language: accuracy and loss, no F1
  kTokenTags,       // tagged words per language: word accuracy, and entity spans'
                    // precision, recall and F1 when the tags are entity tags (common/tagged.h)
  kRegression,      // a real value per text: RMSE, MAE, Pearson and Spearman correlation, per language too
  kMultiLabel,      // a set of labels per text: micro and macro F1, micro precision and recall, the
                    // share of texts whose whole set is right (accuracy), per label and per language
};

struct TaskInfo {
  TaskKind kind;
  const char* name;  // as model.task and model.json spell it
  LabelKind label;
  bool pair;       // can read text pairs (data.text_pair_field)
  bool per_token;  // one target per token (else one per text)
  MetricFamily metrics;
  const char* default_metric;  // the objective when the config names none
};

// In TaskKind's order.
inline constexpr TaskInfo kTasks[] = {
    {TaskKind::kSequenceClassification, "sequence_classification", LabelKind::kClassId, true, false,
     MetricFamily::kClassification, "macro_f1"},
    {TaskKind::kTokenClassification, "token_classification", LabelKind::kTokenClassIds, false, true,
     MetricFamily::kTokenTags, "f1"},
    {TaskKind::kMaskedLm, "masked_lm", LabelKind::kMaskedTokens, false, true, MetricFamily::kTokenAccuracy,
     "accuracy"},
    {TaskKind::kRegression, "regression", LabelKind::kRealValue, true, false, MetricFamily::kRegression, "rmse"},
    {TaskKind::kMultiLabel, "multi_label_classification", LabelKind::kMultiHot, true, false,
     MetricFamily::kMultiLabel, "micro_f1"},
};

constexpr const TaskInfo& Task(TaskKind kind) { return kTasks[static_cast<size_t>(kind)]; }
constexpr const char* TaskKindName(TaskKind kind) { return Task(kind).name; }
// An unknown name is an error listing the known ones.
StatusOr<TaskKind> ParseTaskKind(const std::string& name);
// "sequence_classification, token_classification, masked_lm"
std::string TaskNames();

// Whether labels of `kind` index a label map (a model needs two labels or more).
constexpr bool HasLabelMap(LabelKind kind) { return kind != LabelKind::kMaskedTokens && kind != LabelKind::kRealValue; }
// How messages say what a label is: "one label per text", "labels per token".
const char* LabelKindDescription(LabelKind kind);
// The head's outputs: the vocabulary for masked tokens, else the label map's classes.
constexpr int TaskOutputs(TaskKind kind, int classes, int vocab) {
  if (Task(kind).label == LabelKind::kRealValue) return 1;
  return Task(kind).label == LabelKind::kMaskedTokens ? vocab : classes;
}
// The objective metrics an evaluation of `family` defines (common/objective.h).
std::vector<std::string> ObjectiveMetrics(MetricFamily family);
// Those of kTokenTags that need entity spans (not defined for plain tags).
bool IsSpanMetric(const std::string& name);
// Whether lower is better for an objective metric: a loss or an error.
bool LowerIsBetter(const std::string& name);

}  // namespace polysweep
