// What the CLI prints: the same StatusReply, from a live coordinator or read
// from the journal, rendered as aligned tables or as JSON.
#pragma once

#include <optional>
#include <string>

#include "polysweep.pb.h"

namespace polysweep {

// The best trial with a metric (by the sweep's metric and mode), if any.
std::optional<wire::TrialSummary> BestTrial(const wire::StatusReply& status);

std::string RenderStatus(const wire::StatusReply& status, const std::string& source);
std::string RenderTrials(const wire::StatusReply& status);
// `checkpoint`: where the best trial's best model is, shown when known.
std::string RenderBest(const wire::StatusReply& status, const std::string& checkpoint = "");

std::string StatusJson(const wire::StatusReply& status, const std::string& source);
std::string TrialsJson(const wire::StatusReply& status);
std::string BestJson(const wire::StatusReply& status, const std::string& checkpoint = "");

}  // namespace polysweep
