// The per-class report every fine-tuning tutorial ends with: precision,
// recall, F1 and support of each label, accuracy, and the macro and
// support-weighted averages (as scikit-learn's classification_report counts
// them), overall and per language. Built from confusion counts, so the same
// report serves `polysweep evaluate` and any other scoring of a labelled
// set. Plain data; no LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/tagged.h"

namespace polysweep {

struct ClassScores {
  double precision = 0;  // 0 when nothing was predicted as the class
  double recall = 0;     // 0 when the class has no support
  double f1 = 0;
  int64_t support = 0;   // examples whose gold label is the class
  int64_t predicted = 0; // examples predicted as the class
};

// What a report's rows count.
enum class ReportKind {
  kClasses,    // one label per example (MakeClassReport)
  kEntities,   // entity spans of tagged words (MakeSpanReport)
  kLabelSets,  // each example's set of labels (MakeMultiLabelReport)
};

struct ClassReport {
  ReportKind kind = ReportKind::kClasses;
  std::vector<std::string> labels;
  std::vector<ClassScores> per_label;  // by label index
  double accuracy = 0;
  ClassScores macro;     // unweighted mean over the labels with support or predictions
  ClassScores weighted;  // mean weighted by support
  int64_t total = 0;
  // An entity report (MakeSpanReport): the labels are entity types, the
  // scores count exact-match spans, `micro` is the overall figure over all
  // spans (conlleval's; seqeval's micro avg), and accuracy is the words'
  // (of `total` words; the types' support counts gold spans).
  // A multi-label report (MakeMultiLabelReport): `micro` is over every
  // (example, label) decision, and accuracy is the share of the `total`
  // examples whose whole set of labels is right (exact match).
  std::optional<ClassScores> micro;
};

// Confusion counts of one set of examples: counts[gold][predicted].
class Confusion {
 public:
  explicit Confusion(size_t labels) : counts_(labels, std::vector<int64_t>(labels, 0)) {}
  void Add(size_t gold, size_t predicted) { ++counts_[gold][predicted]; }
  const std::vector<std::vector<int64_t>>& counts() const { return counts_; }

 private:
  std::vector<std::vector<int64_t>> counts_;
};

ClassReport MakeClassReport(const std::vector<std::string>& labels, const Confusion& confusion);
// The entity report of token classification with entity tags, as seqeval's
// classification_report: per type, spans found, gold and matched; the
// words' tag accuracy (`words_right` of `words`) with it.
ClassReport MakeSpanReport(const std::vector<std::string>& types, const SpanCounts& spans, int64_t words_right,
                           int64_t words);

// The report of multi-label classification, as scikit-learn's
// classification_report of multi-label targets: per label, the examples
// predicted with it (`counts.found`), carrying it (`gold`) and both
// (`correct`); `exact` of `examples` had their whole set right.
ClassReport MakeMultiLabelReport(const std::vector<std::string>& labels, const SpanCounts& counts, int64_t exact,
                                 int64_t examples);

// Multi-label counts of a set of examples, for MakeMultiLabelReport.
struct LabelSetTally {
  SpanCounts counts;
  int64_t exact = 0, examples = 0;
  explicit LabelSetTally(size_t labels = 0) : counts(labels) {}
  // One example's gold and predicted labels: an indicator per label.
  void Add(const std::vector<bool>& gold, const std::vector<bool>& predicted);
  ClassReport Report(const std::vector<std::string>& labels) const {
    return MakeMultiLabelReport(labels, counts, exact, examples);
  }
};

// The report as a text table:
//   label           precision  recall  f1-score  support
//   ...
//   accuracy                            0.8125       16
//   macro avg          0.8000  0.7917    0.7889       16
//   weighted avg       ...
std::string RenderClassReport(const ClassReport& report);

// One line per language: accuracy, macro-F1, weighted F1 and support.
std::string RenderLanguageSummary(const std::map<std::string, ClassReport>& by_language);

// The whole report as JSON text: overall and per language, every label's scores.
std::string ClassReportJson(const ClassReport& overall, const std::map<std::string, ClassReport>& by_language);

}  // namespace polysweep
