// The CLI's detailed views: one trial described (`polysweep describe`), the
// trials ranked and sorted (`best -k`, `trials --sort`), and every trial
// exported (`polysweep export --format csv|jsonl`). Each has a readable and a
// JSON form, from the same data.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "cli/ranking.h"
#include "coordinator/journal.h"
#include "polysweep.pb.h"

namespace polysweep {

// A checkpoint directory of a trial as its manifest describes it.
struct CheckpointEntry {
  std::string dir;
  int64_t step = 0;
  std::optional<double> score;  // the oriented objective (higher is better)
  double wall_time = 0;
  bool complete = true;         // has a readable manifest
};

// What `describe` shows beyond the journal: files next to it.
struct TrialFiles {
  std::string log_path;                     // "" when there is no log (yet)
  std::vector<CheckpointEntry> checkpoints;  // newest first
  std::string best_checkpoint;              // what export-model would take
};

// The log and checkpoints of `trial` under the sweep directory `dir`.
TrialFiles FindTrialFiles(const std::string& dir, uint64_t trial);

std::string RenderDescribe(const wire::StatusReply& status, const wire::TrialSummary& trial,
                           const JournalTrialHistory& history, const TrialFiles& files);
std::string DescribeJson(const wire::StatusReply& status, const wire::TrialSummary& trial,
                         const JournalTrialHistory& history, const TrialFiles& files);

// The best `k` as a table with their worst language.
std::string RenderTopTrials(const wire::StatusReply& status, int k);

// Sort keys of `trials --sort`: id, state, step, loss, metric (best first),
// samples_per_sec, attempt, or any hyperparameter's name. An error lists them.
Status SortTrials(wire::StatusReply* status, const std::string& key, bool descending);

// One row per trial: id, state, attempt, outcome, reason, step, max_steps,
// loss, samples_per_sec, metric, accuracy, macro_f1, valid_loss, started_at,
// finished_at, one column per hyperparameter and one f1_<lang> and acc_<lang>
// per language (of the trial's newest evaluation).
std::string ExportCsv(const wire::StatusReply& status);
// The same fields as one JSON object per line (hyperparameters and languages
// nested).
std::string ExportJsonl(const wire::StatusReply& status);

}  // namespace polysweep
