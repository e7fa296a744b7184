// Trials ranked by the sweep's objective, as every view ranks them: the
// best trial, the top K, the model a sweep exports.
#pragma once

#include <optional>
#include <vector>

#include "common/trial_state.h"
#include "polysweep.pb.h"

namespace polysweep {

// Trials with a usable metric, best first (feasible before infeasible, then
// by the sweep's metric and mode, then by id); failed trials are not ranked.
std::vector<wire::TrialSummary> RankTrials(const wire::StatusReply& status);

// The best trial with a metric (by the sweep's metric and mode), if any.
std::optional<wire::TrialSummary> BestTrial(const wire::StatusReply& status);

// A summary's trial state (the journal's spelling parsed; pending if it is
// not one), and whether the sweep of `status` is running.
TrialState StateOf(const wire::TrialSummary& trial);
bool SweepRunning(const wire::StatusReply& status);

}  // namespace polysweep
