// `polysweep sweep CONFIG` (and `polysweep pretrain`): shards the data,
// opens or continues the journal, runs the coordinator (with its dashboard)
// to the sweep's end, prints the trials and the best, and exports the best
// model. Refuses, before anything is written, what cannot run.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "cli/dashboard.h"

namespace polysweep {

struct SweepCommand {
  std::string config_path;
  bool overwrite = false;       // start again instead of continuing a journal
  std::string worker;           // polysweep-worker; "" for the one next to this binary
  std::string mpirun = "mpirun";
  std::optional<DashboardOptions> dashboard;  // none: no dashboard
  bool pretrain = false;        // `polysweep pretrain`: a masked-language model
  const std::atomic<bool>* stop = nullptr;   // Ctrl-C: interrupt the sweep
  const std::atomic<bool>* drain = nullptr;  // SIGUSR1: checkpoint every trial and requeue
  // Called once the sweep is ready to run (data sharded, journal open):
  // where the caller installs the handlers that set `stop` and `drain`.
  std::function<void()> on_ready;
  std::string hostfile;  // --hostfile: trial.hosts, over the config's
};

struct ShardOutcome;
class Logger;
// One line on what sharding did (or that the shards were up to date).
void LogShards(const ShardOutcome& shards, const Logger& log);

// The process's exit code: 0 when a best trial exists, 1 when none or on a
// coordinator fault, 2 on bad input, 130 when interrupted.
int RunSweepCommand(const SweepCommand& command);

}  // namespace polysweep
