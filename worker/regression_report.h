// The report of a regression model on a labelled set: RMSE, MAE, Pearson's
// and Spearman's correlation, overall and per language, as text and JSON
// (what `polysweep evaluate` and the sweep's test split print for
// model.task regression).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "worker/metrics.h"

namespace polysweep {

struct RegressionReport {
  RegressionScores overall;
  std::map<std::string, RegressionScores> by_language;
};

// Collects (language, target, prediction) triples, then scores them.
class RegressionTally {
 public:
  void Add(const std::string& lang, double gold, double predicted);
  RegressionReport Report() const;
  int64_t size() const { return static_cast<int64_t>(gold_.size()); }

 private:
  std::vector<double> gold_, predicted_;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by_language_;
};

//   language      rmse     mae  pearson  spearman  support
//   overall     0.8120  0.6410   0.7210    0.7034      867
//   de          ...
std::string RenderRegressionReport(const RegressionReport& report);
std::string RegressionReportJson(const RegressionReport& report);

}  // namespace polysweep
