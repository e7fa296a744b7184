#include "worker/metrics.h"

namespace polysweep {
namespace {

// Macro-F1 over labels that occur as truth or prediction in `m` (labels x labels).
double MacroF1(const std::vector<double>& m, int labels, double* accuracy, double* total) {
  double correct = 0, all = 0, f1_sum = 0;
  int counted = 0;
  for (int c = 0; c < labels; ++c) {
    double tp = m[static_cast<size_t>(c) * labels + c], truth = 0, pred = 0;
    for (int k = 0; k < labels; ++k) {
      truth += m[static_cast<size_t>(c) * labels + k];
      pred += m[static_cast<size_t>(k) * labels + c];
    }
    correct += tp;
    all += truth;
    if (truth == 0 && pred == 0) continue;
    ++counted;
    f1_sum += (truth + pred) > 0 ? 2 * tp / (truth + pred) : 0;
  }
  *accuracy = all > 0 ? correct / all : 0;
  *total = all;
  return counted ? f1_sum / counted : 0;
}

}  // namespace

std::unique_ptr<EvalCounts> MakeEvalCounts(MetricFamily family, int num_labels, int num_langs) {
  if (family == MetricFamily::kTokenAccuracy) return std::make_unique<TokenCounts>(num_langs);
  return std::make_unique<ConfusionCounts>(num_labels, num_langs);
}

ConfusionCounts::ConfusionCounts(int num_labels, int num_langs)
    : labels_(num_labels), langs_(num_langs),
      raw_(static_cast<size_t>(num_langs) * num_labels * num_labels + 2, 0.f) {}

void ConfusionCounts::Add(int lang, int label, int predicted, double loss) {
  At(lang, label, predicted) += 1;
  raw_[raw_.size() - 2] += static_cast<float>(loss);
  raw_[raw_.size() - 1] += 1;
}

EvalMetrics ConfusionCounts::Compute() const {
  EvalMetrics out;
  const size_t block = static_cast<size_t>(labels_) * labels_;
  std::vector<double> all(block, 0);
  for (int l = 0; l < langs_; ++l) {
    std::vector<double> m(raw_.begin() + l * block, raw_.begin() + (l + 1) * block);
    for (size_t i = 0; i < block; ++i) all[i] += m[i];
    LanguageMetrics lm;
    double total = 0;
    lm.f1 = MacroF1(m, labels_, &lm.accuracy, &total);
    lm.count = static_cast<int64_t>(total);
    out.languages.push_back(lm);
  }
  double total = 0;
  out.macro_f1 = MacroF1(all, labels_, &out.accuracy, &total);
  const double n = raw_.back();
  out.loss = n > 0 ? raw_[raw_.size() - 2] / n : 0;
  return out;
}

TokenCounts::TokenCounts(int num_langs) : raw_(static_cast<size_t>(num_langs) * 3, 0.f) {}

void TokenCounts::Add(int lang, bool correct, double loss) {
  float* at = &raw_[static_cast<size_t>(lang) * 3];
  at[0] += correct ? 1 : 0;
  at[1] += 1;
  at[2] += static_cast<float>(loss);
}

EvalMetrics TokenCounts::Compute() const {
  EvalMetrics m;
  double correct = 0, count = 0, loss = 0;
  for (size_t l = 0; l < raw_.size() / 3; ++l) {
    const float* at = &raw_[l * 3];
    LanguageMetrics lm;
    lm.count = static_cast<int64_t>(at[1]);
    lm.accuracy = at[1] > 0 ? at[0] / at[1] : 0;
    m.languages.push_back(lm);
    correct += at[0];
    count += at[1];
    loss += at[2];
  }
  m.accuracy = count > 0 ? correct / count : 0;
  m.loss = count > 0 ? loss / count : 0;
  return m;
}

}  // namespace polysweep
