#include "worker/regression_report.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace polysweep {
namespace {

std::string Line(const std::string& name, const RegressionScores& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-10s %8.4f %8.4f %8.4f %9.4f %8lld\n", name.c_str(), s.rmse, s.mae, s.pearson,
                s.spearman, static_cast<long long>(s.count));
  return buf;
}

nlohmann::json Json(const RegressionScores& s) {
  return {{"rmse", s.rmse}, {"mae", s.mae}, {"pearson", s.pearson}, {"spearman", s.spearman}, {"support", s.count}};
}

}  // namespace

void RegressionTally::Add(const std::string& lang, double gold, double predicted) {
  gold_.push_back(gold);
  predicted_.push_back(predicted);
  auto& [g, p] = by_language_[lang];
  g.push_back(gold);
  p.push_back(predicted);
}

RegressionReport RegressionTally::Report() const {
  RegressionReport r;
  r.overall = ScoreRegression(gold_, predicted_);
  for (const auto& [lang, v] : by_language_) r.by_language[lang] = ScoreRegression(v.first, v.second);
  return r;
}

std::string RenderRegressionReport(const RegressionReport& r) {
  char head[128];
  std::snprintf(head, sizeof head, "%-10s %8s %8s %8s %9s %8s\n", "language", "rmse", "mae", "pearson", "spearman",
                "support");
  std::string out = std::string(head) + Line("overall", r.overall);
  for (const auto& [lang, s] : r.by_language) out += Line(lang, s);
  return out;
}

std::string RegressionReportJson(const RegressionReport& r) {
  nlohmann::json j = Json(r.overall);
  j["languages"] = nlohmann::json::object();
  for (const auto& [lang, s] : r.by_language) j["languages"][lang] = Json(s);
  return j.dump(2) + "\n";
}

}  // namespace polysweep
