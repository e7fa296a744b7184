#include "common/worker_command.h"

#include "common/hparams.h"

namespace polysweep {

std::vector<std::string> WorkerCommand::Argv() const {
  std::vector<std::string> argv = {binary, WorkerFlags::kCoordinator, coordinator};
  if (!sweep.empty()) {
    argv.push_back(WorkerFlags::kSweep);
    argv.push_back(sweep);
  }
  if (trial > 0) {
    argv.insert(argv.end(), {WorkerFlags::kTrial, std::to_string(trial), WorkerFlags::kAttempt, std::to_string(attempt)});
  }
  if (!agent.empty()) argv.insert(argv.end(), {WorkerFlags::kAgent, agent});
  if (coordinator_timeout_seconds > 0) {
    argv.insert(argv.end(), {WorkerFlags::kCoordinatorTimeout, ParamValue::Number(coordinator_timeout_seconds).ToString()});
  }
  if (!keys_dir.empty()) argv.insert(argv.end(), {WorkerFlags::kKeys, keys_dir});
  return argv;
}

std::vector<std::string> AttemptFlags(const std::string& sweep, uint64_t trial, uint32_t attempt) {
  return {WorkerFlags::kSweep, sweep, WorkerFlags::kTrial, std::to_string(trial), WorkerFlags::kAttempt,
          std::to_string(attempt)};
}

}  // namespace polysweep
