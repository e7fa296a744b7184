// What the CLI prints: the same StatusReply, from a live coordinator or read
// from the journal, rendered as aligned tables or as JSON.
#pragma once

#include <optional>
#include <string>

#include "cli/ranking.h"
#include "polysweep.pb.h"

namespace polysweep {

// A message as JSON with the .proto's field names and every field present.
std::string ToJson(const google::protobuf::Message& m);


// How long the sweep still needs, in seconds, if every trial not yet ended
// (and every trial not yet issued) trains to its last step at the rate the
// sweep has done steps so far: an upper bound when a scheduler prunes.
// Negative when there is nothing to estimate from yet.
double EstimateSecondsLeft(const wire::StatusReply& status, double now);

// `ranks_per_trial` (0 when unknown) sizes the resource line.
std::string RenderStatus(const wire::StatusReply& status, const std::string& source, int ranks_per_trial = 0);
std::string RenderTrials(const wire::StatusReply& status);
// The exported best model's score on the held-out test split (what the
// sweep wrote to <output_dir>/model/test-report.json when it ended).
struct TestScore {
  uint64_t trial = 0;  // the trial the model is
  double accuracy = 0, macro_f1 = 0;
  std::optional<double> entity_f1;  // token classification with entity tags: the spans' (micro) F1
  std::optional<double> micro_f1;   // multi-label: the F1 of every (text, label) decision; accuracy is exact match
  int64_t examples = 0;
  std::string report;  // the report's path
};

// `checkpoint`: where the best trial's best model is, shown when known;
// `test`: its test-split score, shown when it is the best trial's.
std::string RenderBest(const wire::StatusReply& status, const std::string& checkpoint = "",
                       const std::optional<TestScore>& test = std::nullopt);

std::string StatusJson(const wire::StatusReply& status, const std::string& source, int ranks_per_trial = 0);
std::string TrialsJson(const wire::StatusReply& status);
// With "top": the best `k` trials, best first.
std::string BestJson(const wire::StatusReply& status, const std::string& checkpoint = "", int k = 1,
                     const std::optional<TestScore>& test = std::nullopt);

}  // namespace polysweep
