// The names the sweep config accepts for what other modules implement,
// assembled from each module's own table: common/ parses the config but
// sits below the coordinator, the launchers and the communicators, so the
// binary that parses a config hands the parser these. Header-only, so the
// config fuzzer (which links common/ alone) parses with the same names.
#pragma once

#include "common/config.h"
#include "coordinator/scheduler_kinds.h"
#include "coordinator/search_algorithms.h"
#include "launcher/launcher_names.h"
#include "worker/comm/backend_names.h"

namespace polysweep {

inline const ConfigNames& RegisteredConfigNames() {
  static const ConfigNames names = {SearchAlgorithms(), SchedulerKinds(), LauncherNames(), CommBackendNames()};
  return names;
}

}  // namespace polysweep
