// Evaluation metrics from counts kept per language, so ranks can sum their
// counts with one all-reduce and compute identical results. Which counts a
// task keeps is its MetricFamily (common/tasks.h): confusion counts for
// classification, scored-token counts for the per-token tasks.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/tagged.h"
#include "common/tasks.h"

namespace polysweep {

// A regression's figures over a set of predictions.
struct RegressionScores {
  double rmse = 0, mae = 0;
  double pearson = 0, spearman = 0;  // 0 when either side is constant
  int64_t count = 0;
};
// The figures of predictions `predicted` of `gold` (as many).
RegressionScores ScoreRegression(const std::vector<double>& gold, const std::vector<double>& predicted);

struct LanguageMetrics {
  double f1 = 0;        // macro-F1 over the labels seen in this language
  double accuracy = 0;
  int64_t count = 0;
  std::optional<RegressionScores> regression;
};

// One entity type's spans (token classification with entity tags), or one
// label's decisions (multi-label: found = texts predicted with it, support
// = texts that carry it).
struct EntityScore {
  std::string type;
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  // gold spans
  int64_t found = 0;    // predicted spans
};

struct EvalMetrics {
  double accuracy = 0;
  double macro_f1 = 0;  // over all labels with support or predictions; entity tags: over entity types
  double loss = 0;      // mean cross-entropy
  // Entity tags: exact-match spans over all types (conlleval's overall
  // figures); each language's f1 is its spans' F1.
  double precision = 0, recall = 0, f1 = 0;
  std::vector<EntityScore> entities;       // by type, sorted by name
  // Regression (then set): the predictions' errors and their correlations
  // with the targets; each language's rmse and pearson too.
  std::optional<RegressionScores> regression;
  std::vector<LanguageMetrics> languages;  // by language id
};

// What an evaluation counts, one scored target at a time.
class EvalCounts {
 public:
  virtual ~EvalCounts() = default;
  // One target of an example in `lang`, the head's prediction, and its loss.
  virtual void Add(int lang, int target, int predicted, double loss) = 0;
  // A sentence's tags, gold and predicted, word by word (per-token tasks
  // whose counts keep spans; others ignore it).
  virtual void AddSequence(int lang, const std::vector<int>& gold, const std::vector<int>& predicted) {}
  // Whether AddSequence counts anything (else the evaluator skips building sentences).
  virtual bool reads_sequences() const { return false; }
  // Regression: example `example`'s target and prediction (others ignore it).
  virtual void AddValue(int64_t example, int lang, double gold, double predicted) {}
  // Multi-label: one text's labels, gold and predicted (an indicator per
  // label), and its binary cross-entropy summed over the labels (others
  // ignore it).
  virtual void AddLabelSet(int lang, const std::vector<bool>& gold, const std::vector<bool>& predicted,
                           double loss) {}
  // Flat view for an all-reduce (summed over ranks).
  virtual std::vector<float>& raw() = 0;
  virtual EvalMetrics Compute() const = 0;
};

// The counts of `family` for `num_labels` classes in `num_langs` languages;
// kTokenTags reads entity spans from the tags `labels` (none: plain tags),
// kMultiLabel names its per-label scores by them.
// kRegression keeps every prediction of the split's `examples`.
std::unique_ptr<EvalCounts> MakeEvalCounts(MetricFamily family, int num_labels, int num_langs,
                                           const std::vector<std::string>& labels = {}, int64_t examples = 0);

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

// Token classification: word accuracy and loss as TokenCounts, and, with
// entity tags, spans found, gold and matched per (language, type).
class TagCounts : public EvalCounts {
 public:
  TagCounts(int num_langs, SpanTags tags);
  void Add(int lang, int target, int predicted, double loss) override;
  void AddSequence(int lang, const std::vector<int>& gold, const std::vector<int>& predicted) override;
  bool reads_sequences() const override { return !tags_.types.empty(); }
  // Flat view (TokenCounts' layout, then per language and type: found,
  // gold, correct) for an all-reduce.
  std::vector<float>& raw() override { return raw_; }
  EvalMetrics Compute() const override;

 private:
  size_t SpanAt(int lang, size_t type) const {
    return static_cast<size_t>(langs_) * 3 + (static_cast<size_t>(lang) * tags_.types.size() + type) * 3;
  }
  SpanTags tags_;
  int langs_;
  std::vector<float> raw_;
};

// Multi-label: per language, the texts, those whose whole set of labels is
// right, and the loss; per (language, label), the texts predicted with the
// label, carrying it, and both. Micro F1 (precision, recall) over every
// decision, macro F1 over the labels present, each label's scores as
// `entities`, and per language its micro F1 and exact-match accuracy.
class LabelSetCounts : public EvalCounts {
 public:
  LabelSetCounts(int num_langs, std::vector<std::string> labels);
  void Add(int lang, int target, int predicted, double loss) override {}
  void AddLabelSet(int lang, const std::vector<bool>& gold, const std::vector<bool>& predicted, double loss) override;
  // Flat view: per language (texts, exact, loss sum, then per label: found, gold, correct).
  std::vector<float>& raw() override { return raw_; }
  EvalMetrics Compute() const override;

 private:
  size_t Stride() const { return 3 + labels_.size() * 3; }
  std::vector<std::string> labels_;
  int langs_;
  std::vector<float> raw_;
};

// Regression: every example's target, prediction and language, at the
// example's index, so the ranks' evaluations (each of its own examples,
// zeros elsewhere) sum into the whole split's: Spearman's correlation
// needs every prediction, not sums. Float32 on the wire.
class RegressionCounts : public EvalCounts {
 public:
  RegressionCounts(int num_langs, int64_t examples);
  void Add(int lang, int target, int predicted, double loss) override {}
  void AddValue(int64_t example, int lang, double gold, double predicted) override;
  // Flat view: per example (gold, predicted, language + 1; 0: not scored).
  std::vector<float>& raw() override { return raw_; }
  EvalMetrics Compute() const override;

 private:
  int langs_;
  std::vector<float> raw_;
};

}  // namespace polysweep
