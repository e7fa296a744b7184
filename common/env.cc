#include "common/env.h"

#include <sched.h>

#include <algorithm>

namespace polysweep {

int AvailableCpus() {
  const std::string slurm = GetEnv("SLURM_CPUS_ON_NODE");
  if (!slurm.empty() && std::atoi(slurm.c_str()) > 0) return std::atoi(slurm.c_str());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

}  // namespace polysweep
