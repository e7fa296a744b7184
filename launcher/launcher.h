// TrialLauncher: starts the ranks of one trial and watches them. Backends:
// local mpirun, a Slurm srun step inside the coordinator's allocation, a
// Slurm sbatch job per trial, and pull mode (AgentPool: agents ask for trials).
// A TrialProcess owns the whole process tree of its trial: Kill() leaves no
// process of it behind.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace polysweep {

struct LaunchSpec {
  int ranks = 1;
  int threads_per_rank = 1;
  std::vector<std::string> worker_argv;       // polysweep-worker and its flags
  std::map<std::string, std::string> env;     // exported to every rank
  std::string log_path;                       // stdout+stderr of all ranks
  std::string name;                           // unique per attempt: the Slurm step or job name
  uint64_t trial = 0;                         // which trial and attempt this is
  uint32_t attempt = 0;
};

struct ExitInfo {
  int exit_code = 0;    // valid when signal == 0
  int signal = 0;       // the signal that ended the launcher process, if any
  bool adopted = false; // ended after adoption: exit status unknown
  std::string cause;    // the backend's account when it knows more, e.g. "Slurm step 7.2 cancelled due to time limit"
  bool not_started = false;  // the backend could not start the ranks (e.g. Slurm aborted the step's launch)
  bool ok() const { return signal == 0 && exit_code == 0; }
  static ExitInfo Code(int code, std::string cause = "") { return ExitInfo{code, 0, false, std::move(cause)}; }
  static ExitInfo Signal(int sig, std::string cause = "") { return ExitInfo{0, sig, false, std::move(cause)}; }
  // Ended after adoption (exit status unknown), or killed with `sig`.
  static ExitInfo Adopted(int sig = 0, std::string cause = "") { return ExitInfo{0, sig, true, std::move(cause)}; }
  std::string Describe() const;
};

class TrialProcess {
 public:
  virtual ~TrialProcess() = default;
  // Non-blocking: the exit, once the whole trial has ended.
  virtual std::optional<ExitInfo> Poll() = 0;
  // Terminates every process of the trial (TERM, then KILL after `grace_ms`)
  // and reaps it. Blocks at most grace_ms + a little.
  virtual ExitInfo Kill(int grace_ms) = 0;
  // Kill, for a trial found failing while it runs (its ranks hung): the
  // launcher may also look for the cause (a host that no longer answers,
  // as after a crash) and name it in the exit's cause.
  virtual ExitInfo KillFailed(int grace_ms) { return Kill(grace_ms); }
  virtual int pid() const = 0;
  // False while the trial waits for resources to start on (an agent to
  // claim it, in pull mode): no start or hang timeout runs until then.
  virtual bool started() const { return true; }
  // What a later coordinator passes to TrialLauncher::Adopt to find this
  // trial again, e.g. "local:HOST:PGID".
  virtual std::string handle() const = 0;
};

class TrialLauncher {
 public:
  virtual ~TrialLauncher() = default;
  virtual StatusOr<std::unique_ptr<TrialProcess>> Launch(const LaunchSpec& spec) = 0;
  // Takes over a trial another coordinator launched: `handle` is its
  // TrialProcess::handle(), and one of its live processes must have `args`
  // as consecutive arguments (so a reused pid is never mistaken for it).
  // nullptr when nothing of it runs any more. The adopted process is not this
  // process's child: its exit status is unknown, Poll() reports ExitInfo{}
  // with `adopted` set once its last process is gone.
  virtual std::unique_ptr<TrialProcess> Adopt(const std::string& handle, const std::vector<std::string>& args) = 0;
  virtual std::string name() const = 0;
};

class SlotPool;

// mpirun on the hosts of a host file (trial.hosts): each trial's ranks on
// free slots of `pool` (released when the trial ends), and Open MPI's TCP
// traffic (its daemons' and the ranks') kept to `subnet` (CIDR) when known.
struct MpiHosts {
  std::shared_ptr<SlotPool> pool;
  std::string subnet;
};

// Runs `mpirun -np K` on this host, in a session of its own; with `hosts`,
// on the slots the pool gives each trial (`--host a:2,b:2`).
std::unique_ptr<TrialLauncher> MakeLocalMpiLauncher(std::string mpirun = "mpirun", MpiHosts hosts = {});

// Runs each trial as `srun --exact` step of the current Slurm allocation
// (SLURM_JOB_ID), or of a new one when there is none; `extra_args` go to srun.
std::unique_ptr<TrialLauncher> MakeSrunStepLauncher(std::vector<std::string> extra_args = {},
                                                    std::string srun = "srun");

// Submits each trial as its own `sbatch` job whose one step is the ranks;
// `extra_args` go to sbatch (e.g. --partition, --time, --gpus-per-node).
std::unique_ptr<TrialLauncher> MakeSbatchJobLauncher(std::vector<std::string> extra_args = {},
                                                     std::string sbatch = "sbatch");

// The argv each backend runs (exposed for tests and `--dry-run`).
// `placement`: mpirun's --host (empty: this host, oversubscribed);
// `subnet`: the CIDR its TCP traffic keeps to (empty: Open MPI chooses).
std::vector<std::string> LocalMpiArgv(const std::string& mpirun, const LaunchSpec& spec,
                                      const std::string& placement = "", const std::string& subnet = "");
std::vector<std::string> SrunArgv(const std::string& srun, const std::vector<std::string>& extra_args,
                                  const LaunchSpec& spec);
std::vector<std::string> SbatchArgv(const std::string& sbatch, const std::vector<std::string>& extra_args,
                                    const LaunchSpec& spec);

}  // namespace polysweep
