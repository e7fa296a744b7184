#include "launcher/choose.h"

#include "common/env.h"
#include "launcher/agent_pool.h"
#include "launcher/command.h"
#include "launcher/host_slots.h"

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

// trial.hosts: the pool of its slots, large enough for max_concurrent trials.
StatusOr<MpiHosts> HostsOf(const TrialResources& trial, int max_concurrent, const std::string& bind) {
  auto hosts = LoadHostFile(trial.hosts);
  if (!hosts.ok()) return hosts.status().With("trial.hosts");
  auto pool = std::make_shared<SlotPool>(std::move(*hosts));
  const int needed = trial.ranks * std::max(1, max_concurrent);
  if (pool->total() < needed) {
    return Status::InvalidConfig("trial.hosts: " + trial.hosts + " offers " + std::to_string(pool->total()) +
                                 " slots, and max_concurrent " + std::to_string(max_concurrent) + " x trial.ranks " +
                                 std::to_string(trial.ranks) + " needs " + std::to_string(needed));
  }
  // "tcp://10.1.2.3:*": the address the ranks reach the coordinator at.
  std::string address = bind.rfind("tcp://", 0) == 0 ? bind.substr(6) : bind;
  address = address.substr(0, address.rfind(':'));
  return MpiHosts{std::move(pool), SubnetOf(address)};
}

}  // namespace

StatusOr<ChosenLauncher> MakeTrialLauncher(const TrialResources& trial, const std::string& mpirun, int max_concurrent,
                                           const std::string& bind) {
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
    if (trial.hosts.empty()) return Chosen(MakeLocalMpiLauncher(mpirun));
    auto hosts = HostsOf(trial, max_concurrent, bind);
    if (!hosts.ok()) return hosts.status();
    return Chosen(MakeLocalMpiLauncher(mpirun, std::move(*hosts)));
  }
  if (!trial.hosts.empty()) {
    return Status::InvalidConfig("trial.hosts places the ranks of trial.launcher mpirun; " + kind +
                                 " ranks are placed by " + (kind == "agents" ? "where the agents start" : "Slurm") +
                                 why + ": remove trial.hosts");
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
