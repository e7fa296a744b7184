// Pull mode, the agent's side: an agent is an MPI job of polysweep-worker
// started without a trial. Its rank 0 asks the coordinator for a trial
// (Claim), tells the other ranks what it got, and all ranks run that trial
// exactly as launched ranks would; then rank 0 asks again, until the
// coordinator says the sweep is done.
#pragma once

#include <chrono>
#include <string>

#include "common/log.h"
#include "common/status.h"
#include "common/wire.h"

namespace polysweep {

struct AgentIdentity {
  std::string name;        // stable across the agent's restarts
  std::string sweep;       // the sweep it serves; empty: whatever the coordinator runs
  std::string host;
  int pid = 0;
  int world_size = 1;
  std::string slurm_step;
};

// The agent's name: `requested` if set, else its Slurm job ("JOB" or
// "ARRAYJOB_TASK", the same for every srun step of the job), else host:pid.
std::string AgentName(const std::string& requested, const std::string& host, int pid);

// Rank 0: asks for a trial (claim `number`, counting from 1), resending while the coordinator does not answer,
// for up to `outage_timeout`. A rejection is an error at once.
StatusOr<wire::Offer> ClaimTrial(RequestClient& client, const AgentIdentity& me, uint64_t number,
                                 std::chrono::milliseconds outage_timeout, const Logger& log);

}  // namespace polysweep
