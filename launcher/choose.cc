#include "launcher/choose.h"

#include "common/env.h"
#include "launcher/agent_pool.h"
#include "launcher/command.h"

namespace polysweep {

std::string ResolveLauncher(const TrialResources& trial) {
  if (trial.launcher != "auto") return trial.launcher;
  return GetEnv("SLURM_JOB_ID").empty() ? "mpirun" : "srun";
}

namespace {

StatusOr<ChosenLauncher> Chosen(StatusOr<std::unique_ptr<TrialLauncher>> launcher) {
  if (!launcher.ok()) return launcher.status();
  return ChosenLauncher{std::move(*launcher), nullptr};
}

}  // namespace

StatusOr<ChosenLauncher> MakeTrialLauncher(const TrialResources& trial, const std::string& mpirun) {
  const std::string kind = ResolveLauncher(trial);
  const std::string job = GetEnv("SLURM_JOB_ID");
  const std::string why = trial.launcher != "auto" ? " (trial.launcher: " + trial.launcher + ")"
                          : job.empty()            ? " (trial.launcher: auto, outside a Slurm job)"
                                                   : " (trial.launcher: auto, inside Slurm job " + job + ")";
  if (kind == "mpirun") {
    // Refused here, before the sweep shards its data or journals a trial.
    if (!OnPath(mpirun)) {
      return Status::Error((mpirun.find('/') == std::string::npos ? mpirun + " is not on PATH"
                                                                 : mpirun + " is not an executable file") +
                           why + "; install openmpi-bin, or give its path with --mpirun");
    }
    return Chosen(MakeLocalMpiLauncher(mpirun));
  }
  if (kind == "agents") {
    auto pool = std::make_unique<AgentPool>();
    AgentPool* agents = pool.get();
    return ChosenLauncher{std::move(pool), agents};
  }
  if (kind == "srun") {
    if (!OnPath("srun")) return Status::Error("srun is not on PATH" + why + "; install slurm-client");
    const std::string tasks = GetEnv("SLURM_NTASKS");
    if (!GetEnv("SLURM_JOB_ID").empty() && !tasks.empty() && tasks.find_first_not_of("0123456789") == std::string::npos &&
        trial.ranks > std::stoi(tasks)) {
      return Status::Error("trial.ranks is " + std::to_string(trial.ranks) + " but Slurm job " + GetEnv("SLURM_JOB_ID") +
                           " has " + tasks + " tasks; submit it with at least " + std::to_string(trial.ranks) +
                           " (polysweep submit sizes the job as trial.ranks x max_concurrent)");
    }
    return Chosen(MakeSrunStepLauncher(trial.slurm_args));
  }
  if (kind == "sbatch") {
    if (!OnPath("sbatch")) return Status::Error("sbatch is not on PATH" + why + "; install slurm-client");
    return Chosen(MakeSbatchJobLauncher(trial.slurm_args));
  }
  return Status::Error("trial.launcher: unknown launcher \"" + kind + "\"");
}

}  // namespace polysweep
