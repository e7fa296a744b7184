// Classification metrics from confusion counts kept per language, so ranks
// can sum their counts with one all-reduce and compute identical results.
#pragma once

#include <string>
#include <vector>

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

class ConfusionCounts {
 public:
  ConfusionCounts(int num_labels, int num_langs);
  void Add(int lang, int label, int predicted, double loss);
  // Flat view (counts, then loss sum and example count) for an all-reduce.
  std::vector<float>& raw() { return raw_; }
  EvalMetrics Compute() const;

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
class TokenCounts {
 public:
  explicit TokenCounts(int num_langs);
  void Add(int lang, bool correct, double loss);
  // Flat view (per language: correct, count, loss sum) for an all-reduce.
  std::vector<float>& raw() { return raw_; }
  EvalMetrics Compute() const;

 private:
  std::vector<float> raw_;
};

}  // namespace polysweep
