// The CLI commands that watch and steer a sweep: status, trials, best,
// describe, logs, export, top, stop/pause/resume. Each asks the running
// coordinator when one answers and reads the journal read-only otherwise
// (and says which it did).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "cli/dashboard.h"
#include "polysweep.pb.h"

namespace polysweep {

// Prints "polysweep: error: MESSAGE" and returns `code`.
int Fail(const std::string& message, int code = 2);

// The sweep's status: from the running coordinator, else from the journal.
// `source` says which; a coordinator that left its endpoint file but does
// not answer is named on stderr unless `quiet`.
StatusOr<wire::StatusReply> LoadSweepStatus(const std::string& dir, std::string* source, bool quiet = false);
// The sweep directory named by --dir, or the newest under ./runs.
StatusOr<std::string> FindSweepDir(const std::string& given);

// A running coordinator's status; nullopt when none answers.
std::optional<wire::StatusReply> AskCoordinator(const std::string& dir, std::string* endpoint);
// Where the best trial's best model is: its best-scoring checkpoint.
std::string BestTrialCheckpoint(const wire::StatusReply& status, const std::string& dir);

struct WatchOptions {
  std::string dir;               // sweep directory ("" = newest under ./runs)
  std::string output = "table";  // table or json
  int k = 1;                     // best -k
  std::string sort = "id";       // trials --sort
  bool descending = false;       // trials --desc
};

// status, trials or best.
int Watch(const std::string& what, const WatchOptions& options);
int Describe(uint64_t trial, const WatchOptions& options);
// The live full-screen view (one plain frame with `once` or without a
// terminal; with output "json", the status it draws from, once).
int Top(const WatchOptions& options, bool once);
// Prints the trial's log (every rank's lines, or `rank`'s); with `follow`,
// keeps printing what is appended until the trial is no longer running.
// With output "json", one JSON object per line (time, level, trial, attempt,
// rank, host, message).
int Logs(uint64_t trial, const std::string& dir_flag, std::optional<int> rank, bool follow, const std::string& output);
// Every trial as csv or jsonl, to `out_path` ("" or "-": stdout).
int Export(const std::string& dir_flag, const std::string& format, const std::string& out_path);
// Serves the sweep's dashboard until SIGINT or SIGTERM.
int ServeDashboard(const std::string& dir_flag, const DashboardOptions& options);
// The dashboard with the sweep's data as one self-contained HTML file.
int WriteReport(const std::string& dir_flag, const std::string& out_path);
// stop, pause or resume.
int ControlTrial(const std::string& dir_flag, uint32_t trial, wire::Command command, const std::string& output);

}  // namespace polysweep
