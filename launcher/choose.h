// Picks the sweep's TrialLauncher from `trial.launcher` and checks, before
// anything starts, that it can work here.
#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "launcher/launcher.h"
#include "launcher/launcher_names.h"

namespace polysweep {

// "auto" resolves to "srun" inside a Slurm allocation (SLURM_JOB_ID set) and
// to "mpirun" elsewhere.
std::string ResolveLauncher(const TrialResources& trial);

class AgentPool;

struct ChosenLauncher {
  std::unique_ptr<TrialLauncher> launcher;
  AgentPool* agents = nullptr;  // pull mode: `launcher` itself, the pool agents claim trials from
};

// The launcher, or an error naming trial.launcher or trial.ranks: srun or
// sbatch missing from PATH, a trial with more ranks than the allocation it
// would run in (SLURM_NTASKS).
// With trial.hosts (mpirun only), the host file is read and must hold
// `max_concurrent` trials of trial.ranks at once; Open MPI's TCP traffic
// keeps to the subnet of the coordinator's `bind` address when it is one of
// this host's.
StatusOr<ChosenLauncher> MakeTrialLauncher(const TrialResources& trial, const std::string& mpirun,
                                           int max_concurrent = 1, const std::string& bind = "");

}  // namespace polysweep
