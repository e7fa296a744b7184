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

}  // namespace polysweep
