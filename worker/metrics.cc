#include "worker/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

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

// Accuracy and loss over scored tokens: `raw` holds (correct, count, loss
// sum) per language.
EvalMetrics WordMetrics(const float* raw, size_t langs) {
  EvalMetrics m;
  double correct = 0, count = 0, loss = 0;
  for (size_t l = 0; l < langs; ++l) {
    const float* at = &raw[l * 3];
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

void AddWord(float* at, bool correct, double loss) {
  at[0] += correct ? 1 : 0;
  at[1] += 1;
  at[2] += static_cast<float>(loss);
}

// Precision, recall and F1 of (found, gold, correct) span counts.
void Score(double found, double gold, double correct, double* precision, double* recall, double* f1) {
  *precision = found > 0 ? correct / found : 0;
  *recall = gold > 0 ? correct / gold : 0;
  *f1 = *precision + *recall > 0 ? 2 * *precision * *recall / (*precision + *recall) : 0;
}

// Each name's (found, gold, matched) counts, `counts` in triples: its
// scores as `entities`, the micro figures over all of them, and the macro
// F1 over the names with any (entity types, or multi-label's labels).
void ScoreByName(const std::vector<std::string>& names, const std::vector<double>& counts, EvalMetrics* m) {
  double all[3] = {0, 0, 0}, f1_sum = 0;
  int counted = 0;
  for (size_t k = 0; k < names.size(); ++k) {
    EntityScore e;
    e.type = names[k];
    e.found = static_cast<int64_t>(counts[k * 3]);
    e.support = static_cast<int64_t>(counts[k * 3 + 1]);
    Score(counts[k * 3], counts[k * 3 + 1], counts[k * 3 + 2], &e.precision, &e.recall, &e.f1);
    for (int c = 0; c < 3; ++c) all[c] += counts[k * 3 + c];
    if (e.found + e.support > 0) {
      f1_sum += e.f1;
      ++counted;
    }
    m->entities.push_back(e);
  }
  Score(all[0], all[1], all[2], &m->precision, &m->recall, &m->f1);
  m->macro_f1 = counted ? f1_sum / counted : 0;
}

// Pearson's correlation of x and y; 0 when either is constant.
double Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  if (x.size() < 2) return 0;
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    mx += x[i] / n;
    my += y[i] / n;
  }
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0) : 0;
}

// Each value's rank (1-based), ties given their mean rank, as Spearman's needs.
std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = (static_cast<double>(i + j) / 2) + 1;
    i = j + 1;
  }
  return rank;
}

}  // namespace

RegressionScores ScoreRegression(const std::vector<double>& gold, const std::vector<double>& predicted) {
  RegressionScores s;
  s.count = static_cast<int64_t>(gold.size());
  if (gold.empty()) return s;
  for (size_t i = 0; i < gold.size(); ++i) {
    const double e = predicted[i] - gold[i];
    s.rmse += e * e;
    s.mae += std::fabs(e);
  }
  s.rmse = std::sqrt(s.rmse / static_cast<double>(gold.size()));
  s.mae /= static_cast<double>(gold.size());
  s.pearson = Pearson(predicted, gold);
  s.spearman = Pearson(Ranks(predicted), Ranks(gold));
  return s;
}

RegressionCounts::RegressionCounts(int num_langs, int64_t examples)
    : langs_(num_langs), raw_(static_cast<size_t>(examples) * 3, 0.f) {}

void RegressionCounts::AddValue(int64_t example, int lang, double gold, double predicted) {
  float* at = &raw_[static_cast<size_t>(example) * 3];
  at[0] = static_cast<float>(gold);
  at[1] = static_cast<float>(predicted);
  at[2] = static_cast<float>(lang + 1);
}

EvalMetrics RegressionCounts::Compute() const {
  std::vector<double> gold, predicted;
  std::vector<std::vector<double>> lang_gold(static_cast<size_t>(langs_)), lang_predicted(static_cast<size_t>(langs_));
  for (size_t i = 0; i + 2 < raw_.size(); i += 3) {
    const int lang = static_cast<int>(raw_[i + 2]) - 1;
    if (lang < 0 || lang >= langs_) continue;
    gold.push_back(raw_[i]);
    predicted.push_back(raw_[i + 1]);
    lang_gold[static_cast<size_t>(lang)].push_back(raw_[i]);
    lang_predicted[static_cast<size_t>(lang)].push_back(raw_[i + 1]);
  }
  EvalMetrics m;
  m.regression = ScoreRegression(gold, predicted);
  m.loss = m.regression->rmse * m.regression->rmse;  // the mean squared error, the training loss
  for (int l = 0; l < langs_; ++l) {
    LanguageMetrics lm;
    lm.count = static_cast<int64_t>(lang_gold[static_cast<size_t>(l)].size());
    if (lm.count > 0) lm.regression = ScoreRegression(lang_gold[static_cast<size_t>(l)], lang_predicted[static_cast<size_t>(l)]);
    m.languages.push_back(lm);
  }
  return m;
}

std::unique_ptr<EvalCounts> MakeEvalCounts(MetricFamily family, int num_labels, int num_langs,
                                           const std::vector<std::string>& labels, int64_t examples) {
  if (family == MetricFamily::kRegression) return std::make_unique<RegressionCounts>(num_langs, examples);
  if (family == MetricFamily::kTokenAccuracy) return std::make_unique<TokenCounts>(num_langs);
  if (family == MetricFamily::kTokenTags) return std::make_unique<TagCounts>(num_langs, SpanTags::FromLabels(labels));
  if (family == MetricFamily::kMultiLabel) return std::make_unique<LabelSetCounts>(num_langs, labels);
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

void TokenCounts::Add(int lang, bool correct, double loss) { AddWord(&raw_[static_cast<size_t>(lang) * 3], correct, loss); }

EvalMetrics TokenCounts::Compute() const { return WordMetrics(raw_.data(), raw_.size() / 3); }

TagCounts::TagCounts(int num_langs, SpanTags tags)
    : tags_(std::move(tags)), langs_(num_langs),
      raw_(static_cast<size_t>(num_langs) * (3 + tags_.types.size() * 3), 0.f) {}

void TagCounts::Add(int lang, int target, int predicted, double loss) {
  AddWord(&raw_[static_cast<size_t>(lang) * 3], target == predicted, loss);
}

void TagCounts::AddSequence(int lang, const std::vector<int>& gold, const std::vector<int>& predicted) {
  if (tags_.types.empty()) return;
  SpanCounts c(tags_.types.size());
  c.Add(ExtractSpans(gold, tags_), ExtractSpans(predicted, tags_));
  for (size_t t = 0; t < tags_.types.size(); ++t) {
    float* at = &raw_[SpanAt(lang, t)];
    at[0] += static_cast<float>(c.found[t]);
    at[1] += static_cast<float>(c.gold[t]);
    at[2] += static_cast<float>(c.correct[t]);
  }
}

EvalMetrics TagCounts::Compute() const {
  EvalMetrics m = WordMetrics(raw_.data(), static_cast<size_t>(langs_));
  if (tags_.types.empty()) return m;
  const size_t types = tags_.types.size();
  std::vector<double> by_type(types * 3, 0);
  for (int l = 0; l < langs_; ++l) {
    double lang[3] = {0, 0, 0};
    for (size_t t = 0; t < types; ++t) {
      const float* at = &raw_[SpanAt(l, t)];
      for (int k = 0; k < 3; ++k) {
        lang[k] += at[k];
        by_type[t * 3 + k] += at[k];
      }
    }
    double p, r;
    Score(lang[0], lang[1], lang[2], &p, &r, &m.languages[static_cast<size_t>(l)].f1);
  }
  ScoreByName(tags_.types, by_type, &m);
  return m;
}

LabelSetCounts::LabelSetCounts(int num_langs, std::vector<std::string> labels)
    : labels_(std::move(labels)), langs_(num_langs), raw_(static_cast<size_t>(num_langs) * Stride(), 0.f) {}

void LabelSetCounts::AddLabelSet(int lang, const std::vector<bool>& gold, const std::vector<bool>& predicted,
                                 double loss) {
  float* at = &raw_[static_cast<size_t>(lang) * Stride()];
  bool exact = true;
  for (size_t k = 0; k < labels_.size(); ++k) {
    float* label = at + 3 + k * 3;
    label[0] += predicted[k];
    label[1] += gold[k];
    label[2] += gold[k] && predicted[k];
    exact = exact && gold[k] == predicted[k];
  }
  at[0] += 1;
  at[1] += exact;
  at[2] += static_cast<float>(loss);
}

EvalMetrics LabelSetCounts::Compute() const {
  EvalMetrics m;
  const size_t n = labels_.size();
  std::vector<double> by_label(n * 3, 0);
  double texts = 0, exact = 0, loss = 0;
  for (int l = 0; l < langs_; ++l) {
    const float* at = &raw_[static_cast<size_t>(l) * Stride()];
    double lang[3] = {0, 0, 0};
    for (size_t k = 0; k < n * 3; ++k) {
      by_label[k] += at[3 + k];
      lang[k % 3] += at[3 + k];
    }
    LanguageMetrics lm;
    lm.count = static_cast<int64_t>(at[0]);
    lm.accuracy = at[0] > 0 ? at[1] / at[0] : 0;
    double p, r;
    Score(lang[0], lang[1], lang[2], &p, &r, &lm.f1);
    m.languages.push_back(lm);
    texts += at[0];
    exact += at[1];
    loss += at[2];
  }
  ScoreByName(labels_, by_label, &m);
  m.accuracy = texts > 0 ? exact / texts : 0;
  m.loss = texts > 0 && n > 0 ? loss / (texts * static_cast<double>(n)) : 0;
  return m;
}

}  // namespace polysweep
