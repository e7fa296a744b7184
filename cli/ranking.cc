#include "cli/ranking.h"

#include <algorithm>
#include <cmath>

#include "coordinator/journal.h"

namespace polysweep {

std::vector<wire::TrialSummary> RankTrials(const wire::StatusReply& s) {
  std::vector<wire::TrialSummary> ranked;
  for (const auto& t : s.trials()) {
    if (t.has_metric() && StateOf(t) != TrialState::kFailed && std::isfinite(t.metric())) ranked.push_back(t);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
    if (a.infeasible() != b.infeasible()) return !a.infeasible();
    if (a.metric() != b.metric()) return s.maximize() ? a.metric() > b.metric() : a.metric() < b.metric();
    return a.id() < b.id();
  });
  return ranked;
}

std::optional<wire::TrialSummary> BestTrial(const wire::StatusReply& status) {
  // A trial that meets the metric's constraints beats any that does not.
  auto ranked = RankTrials(status);
  if (ranked.empty()) return std::nullopt;
  return ranked.front();
}

TrialState StateOf(const wire::TrialSummary& trial) {
  return ParseTrialState(trial.state()).value_or(TrialState::kPending);
}

bool SweepRunning(const wire::StatusReply& status) {
  return ParseSweepState(status.state()) == SweepState::kRunning;
}

}  // namespace polysweep
