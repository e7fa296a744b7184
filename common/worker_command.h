// The command line of polysweep-worker, defined once: the coordinator's
// launchers build it, the worker parses it (worker/main.cc), and a
// restarted coordinator recognises its ranks by it (the --sweep, --trial and
// --attempt of a process it adopts).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace polysweep {

struct WorkerFlags {
  static constexpr const char* kCoordinator = "--coordinator";  // endpoint, e.g. tcp://host:port
  static constexpr const char* kSweep = "--sweep";
  static constexpr const char* kTrial = "--trial";              // without it the job is an agent
  static constexpr const char* kAttempt = "--attempt";          // the fencing token
  static constexpr const char* kAgent = "--agent";              // an agent's name
  static constexpr const char* kCoordinatorTimeout = "--coordinator-timeout";  // seconds
  static constexpr const char* kKeys = "--keys";                // the sweep's key directory (CURVE)
};

struct WorkerCommand {
  std::string binary = "polysweep-worker";
  std::string coordinator;
  std::string sweep;
  uint64_t trial = 0;       // 0: an agent that asks for trials
  uint32_t attempt = 0;
  std::string agent;
  double coordinator_timeout_seconds = 0;  // 0: the worker's default
  std::string keys_dir;                    // "": plain TCP

  // binary, then the flags that are set.
  std::vector<std::string> Argv() const;
};

// The flags that name one attempt of one trial of `sweep`, as they appear
// in its ranks' (and its mpirun's) command lines.
std::vector<std::string> AttemptFlags(const std::string& sweep, uint64_t trial, uint32_t attempt);

}  // namespace polysweep
