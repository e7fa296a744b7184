// Evaluation metrics from counts kept per language, so ranks can sum their
// counts with one all-reduce and compute identical results. Which counts a
// task keeps is its MetricFamily (common/tasks.h): confusion counts for
// classification, scored-token counts for the per-token tasks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/tasks.h"

namespace polysweep {

struct LanguageMetrics {
  double f1 = 0;        // macro-F1 over the labels seen in this language
  double accuracy = 0;
  int64_t count = 0;
};

struct EvalMetrics {
  double accuracy = 0;
  double macro_f1 = 0;  // over all labels with support or predictions
  double loss = 0;      // mean cross-entropy
  std::vector<LanguageMetrics> languages;  // by language id
};

// What an evaluation counts, one scored target at a time.
class EvalCounts {
 public:
  virtual ~EvalCounts() = default;
  // One target of an example in `lang`, the head's prediction, and its loss.
  virtual void Add(int lang, int target, int predicted, double loss) = 0;
  // Flat view for an all-reduce (summed over ranks).
  virtual std::vector<float>& raw() = 0;
  virtual EvalMetrics Compute() const = 0;
};

// The counts of `family` for `num_labels` classes in `num_langs` languages.
std::unique_ptr<EvalCounts> MakeEvalCounts(MetricFamily family, int num_labels, int num_langs);

class ConfusionCounts : public EvalCounts {
 public:
  ConfusionCounts(int num_labels, int num_langs);
  void Add(int lang, int label, int predicted, double loss) override;
  // Flat view (counts, then loss sum and example count) for an all-reduce.
  std::vector<float>& raw() override { return raw_; }
  EvalMetrics Compute() const override;

 private:
  float& At(int lang, int label, int predicted) {
    return raw_[(static_cast<size_t>(lang) * labels_ + label) * labels_ + predicted];
  }
  int labels_;
  int langs_;
  std::vector<float> raw_;
};

// Per-token metrics (masked-language modelling, token classification):
// accuracy and mean loss over the scored tokens, per language and overall.
// No F1: macro_f1 and the languages' f1 stay 0.
class TokenCounts : public EvalCounts {
 public:
  explicit TokenCounts(int num_langs);
  void Add(int lang, bool correct, double loss);
  void Add(int lang, int target, int predicted, double loss) override { Add(lang, target == predicted, loss); }
  // Flat view (per language: correct, count, loss sum) for an all-reduce.
  std::vector<float>& raw() override { return raw_; }
  EvalMetrics Compute() const override;

 private:
  std::vector<float> raw_;
};

}  // namespace polysweep
