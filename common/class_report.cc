#include "common/class_report.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace polysweep {
namespace {

double Ratio(int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }

double F1(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

std::string Row(const std::string& name, const ClassScores& s, bool scores) {
  char buf[256];
  if (scores) {
    std::snprintf(buf, sizeof buf, "%-20s %9.4f %7.4f %9.4f %8lld\n", name.c_str(), s.precision, s.recall, s.f1,
                  static_cast<long long>(s.support));
  } else {
    std::snprintf(buf, sizeof buf, "%-20s %9s %7s %9.4f %8lld\n", name.c_str(), "", "", s.f1,
                  static_cast<long long>(s.support));
  }
  return buf;
}

nlohmann::json ScoresJson(const ClassScores& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
}

nlohmann::json ReportJson(const ClassReport& r) {
  nlohmann::json labels = nlohmann::json::object();
  for (size_t i = 0; i < r.labels.size(); ++i) labels[r.labels[i]] = ScoresJson(r.per_label[i]);
  nlohmann::json j = {{"accuracy", r.accuracy},
                      {"macro", ScoresJson(r.macro)},
                      {"weighted", ScoresJson(r.weighted)},
                      {"support", r.total},
                      {r.kind == ReportKind::kEntities ? "entities" : "labels", labels}};
  if (r.micro) j["micro"] = ScoresJson(*r.micro);
  return j;
}

// Adds one label's scores to the macro and support-weighted sums.
void Accumulate(const ClassScores& s, ClassReport* r) {
  r->macro.precision += s.precision;
  r->macro.recall += s.recall;
  r->macro.f1 += s.f1;
  r->weighted.precision += s.precision * static_cast<double>(s.support);
  r->weighted.recall += s.recall * static_cast<double>(s.support);
  r->weighted.f1 += s.f1 * static_cast<double>(s.support);
}

// The sums into means over `averaged` labels and `support` examples.
void Average(size_t averaged, int64_t support, ClassReport* r) {
  const double a = averaged > 0 ? 1.0 / static_cast<double>(averaged) : 0.0;
  const double w = support > 0 ? 1.0 / static_cast<double>(support) : 0.0;
  r->macro = {r->macro.precision * a, r->macro.recall * a, r->macro.f1 * a, support, support};
  r->weighted = {r->weighted.precision * w, r->weighted.recall * w, r->weighted.f1 * w, support, support};
}

}  // namespace

ClassReport MakeClassReport(const std::vector<std::string>& labels, const Confusion& confusion) {
  const auto& c = confusion.counts();
  const size_t n = labels.size();
  ClassReport r;
  r.labels = labels;
  r.per_label.resize(n);
  int64_t right = 0;
  size_t averaged = 0;
  for (size_t k = 0; k < n; ++k) {
    int64_t predicted = 0, gold = 0;
    for (size_t j = 0; j < n; ++j) {
      predicted += c[j][k];
      gold += c[k][j];
    }
    right += c[k][k];
    r.total += gold;
    ClassScores& s = r.per_label[k];
    s.precision = Ratio(c[k][k], predicted);
    s.recall = Ratio(c[k][k], gold);
    s.f1 = F1(s.precision, s.recall);
    s.support = gold;
    s.predicted = predicted;
    // The macro average is over the labels present (gold or predicted), as
    // scikit-learn's is over the labels of y_true and y_pred.
    if (gold == 0 && predicted == 0) continue;
    ++averaged;
    Accumulate(s, &r);
  }
  r.accuracy = Ratio(right, r.total);
  Average(averaged, r.total, &r);
  return r;
}

namespace {

// Per label (or type) scores from found, gold and matched counts, their
// averages, and the micro figure over all of them.
ClassReport FromMatchCounts(const std::vector<std::string>& types, const SpanCounts& spans) {
  ClassReport r;
  r.labels = types;
  r.per_label.resize(types.size());
  int64_t found = 0, gold = 0, correct = 0;
  size_t averaged = 0;
  for (size_t t = 0; t < types.size(); ++t) {
    ClassScores& s = r.per_label[t];
    s.precision = Ratio(spans.correct[t], spans.found[t]);
    s.recall = Ratio(spans.correct[t], spans.gold[t]);
    s.f1 = F1(s.precision, s.recall);
    s.support = spans.gold[t];
    s.predicted = spans.found[t];
    found += spans.found[t];
    gold += spans.gold[t];
    correct += spans.correct[t];
    if (s.support == 0 && s.predicted == 0) continue;
    ++averaged;
    Accumulate(s, &r);
  }
  Average(averaged, gold, &r);
  const double p = Ratio(correct, found), rc = Ratio(correct, gold);
  r.micro = ClassScores{p, rc, F1(p, rc), gold, found};
  return r;
}

}  // namespace

ClassReport MakeSpanReport(const std::vector<std::string>& types, const SpanCounts& spans, int64_t words_right,
                           int64_t words) {
  ClassReport r = FromMatchCounts(types, spans);
  r.kind = ReportKind::kEntities;
  r.accuracy = Ratio(words_right, words);
  r.total = words;
  return r;
}

ClassReport MakeMultiLabelReport(const std::vector<std::string>& labels, const SpanCounts& counts, int64_t exact,
                                 int64_t examples) {
  ClassReport r = FromMatchCounts(labels, counts);
  r.kind = ReportKind::kLabelSets;
  r.accuracy = Ratio(exact, examples);
  r.total = examples;
  return r;
}

void LabelSetTally::Add(const std::vector<bool>& gold, const std::vector<bool>& predicted) {
  bool all_right = true;
  for (size_t k = 0; k < gold.size() && k < counts.gold.size(); ++k) {
    counts.gold[k] += gold[k];
    counts.found[k] += predicted[k];
    counts.correct[k] += gold[k] && predicted[k];
    all_right = all_right && gold[k] == predicted[k];
  }
  exact += all_right;
  ++examples;
}

std::string RenderClassReport(const ClassReport& r) {
  char head[128];
  std::snprintf(head, sizeof head, "%-20s %9s %7s %9s %8s\n", "label", "precision", "recall", "f1-score", "support");
  std::string out = head;
  for (size_t k = 0; k < r.labels.size(); ++k) {
    if (r.per_label[k].support > 0 || r.per_label[k].predicted > 0) out += Row(r.labels[k], r.per_label[k], true);
  }
  out += "\n";
  if (r.micro) out += Row("micro avg", *r.micro, true);
  const char* accuracy = r.kind == ReportKind::kEntities    ? "word accuracy"
                         : r.kind == ReportKind::kLabelSets ? "exact match"
                                                            : "accuracy";
  out += Row(accuracy, {0, 0, r.accuracy, r.total, r.total}, false);
  out += Row("macro avg", r.macro, true);
  out += Row("weighted avg", r.weighted, true);
  return out;
}

std::string RenderLanguageSummary(const std::map<std::string, ClassReport>& by_language) {
  char buf[160];
  // An entity report's languages: span F1 over all types (micro) where a
  // classification report has the weighted F1; accuracy and support are the
  // words'. A multi-label report's: micro-F1 too, and exact match for accuracy.
  const bool spans = !by_language.empty() && by_language.begin()->second.micro.has_value();
  const bool sets = !by_language.empty() && by_language.begin()->second.kind == ReportKind::kLabelSets;
  const int width = sets ? 11 : 9;
  std::snprintf(buf, sizeof buf, "%-10s %*s %9s %12s %8s\n", "language", width, sets ? "exact-match" : "accuracy",
                "macro-F1", spans ? "micro-F1" : "weighted-F1", "support");
  std::string out = buf;
  for (const auto& [lang, r] : by_language) {
    std::snprintf(buf, sizeof buf, "%-10s %*.4f %9.4f %12.4f %8lld\n", lang.c_str(), width, r.accuracy, r.macro.f1,
                  r.micro ? r.micro->f1 : r.weighted.f1, static_cast<long long>(r.total));
    out += buf;
  }
  return out;
}

std::string ClassReportJson(const ClassReport& overall, const std::map<std::string, ClassReport>& by_language) {
  nlohmann::json j = ReportJson(overall);
  j["languages"] = nlohmann::json::object();
  for (const auto& [lang, r] : by_language) j["languages"][lang] = ReportJson(r);
  return j.dump(2) + "\n";
}

}  // namespace polysweep
