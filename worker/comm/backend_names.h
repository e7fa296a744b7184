// The communicator backends a trial can name (`trial.backend`):
// worker/comm/factory.cc makes each one built into the worker binary
// (BuiltBackends()). The config accepts every name here, built or not: the
// coordinator's host is not where the workers run, and a worker refuses a
// backend it was built without when the trial starts. Header-only, so the
// CLI, which does not link the communicators, reads the same table.
#pragma once

#include <string>
#include <vector>

namespace polysweep {

inline const std::vector<std::string>& CommBackendNames() {
  static const std::vector<std::string> names = {"mpi", "nccl"};
  return names;
}

}  // namespace polysweep
