// AgentPool: the TrialLauncher of pull mode (trial.launcher: agents). It
// starts nothing: Launch() queues the attempt until an agent (an MPI job of
// polysweep-worker started without a trial, e.g. by slurm/agents.sbatch)
// claims it through the coordinator. A queued attempt's process reports
// started() false, so no start or hang timeout runs before an agent has it.
//
// A claimed attempt ends when its rank 0 reports the end (Finish), when its
// agent claims again without having finished it (the agent's ranks were
// restarted: Abandon), or when the coordinator kills it (the agent stopped
// sending heartbeats). Kill() cannot reach an agent's processes, which run
// wherever the agent was started: the attempt is fenced off instead (a newer
// attempt's number makes the coordinator refuse the old ranks' reports).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "launcher/launcher.h"

namespace polysweep {

class AgentPool : public TrialLauncher {
 public:
  struct Claimed {
    uint64_t trial = 0;
    uint32_t attempt = 0;
    std::string handle;  // the attempt's TrialProcess::handle() from now on
  };

  StatusOr<std::unique_ptr<TrialProcess>> Launch(const LaunchSpec& spec) override;
  // "agent:queued" (no agent had it: nothing runs) gives nullptr; "agent:NAME"
  // gives the attempt back as NAME's, its trial and attempt read from `args`
  // ("--trial" T "--attempt" A); its ranks re-announce themselves.
  std::unique_ptr<TrialProcess> Adopt(const std::string& handle, const std::vector<std::string>& args) override;
  std::string name() const override { return "agents (pull mode)"; }

  // Hands the oldest queued attempt to `agent`; nothing when none waits.
  std::optional<Claimed> Claim(const std::string& agent);
  // Ends the unfinished attempt `agent` holds, if any, as crashed with
  // `cause`; returns its trial (0: it held none).
  uint64_t Abandon(const std::string& agent, const std::string& cause);
  // Rank 0 of the attempt reported its end: the attempt is over.
  void Finish(uint64_t trial, uint32_t attempt);
  int queued() const;

  struct Slot;

 private:
  std::vector<std::shared_ptr<Slot>> slots_;  // unfinished attempts, in launch order
  void Prune();
};

}  // namespace polysweep
