#include "worker/agent.h"

#include "common/env.h"

namespace polysweep {

std::string AgentName(const std::string& requested, const std::string& host, int pid) {
  if (!requested.empty()) return requested;
  const std::string array = GetEnv("SLURM_ARRAY_JOB_ID");
  if (!array.empty()) return "slurm-" + array + "_" + GetEnv("SLURM_ARRAY_TASK_ID");
  if (!GetEnv("SLURM_JOB_ID").empty()) return "slurm-" + GetEnv("SLURM_JOB_ID");
  return host + ":" + std::to_string(pid);
}

StatusOr<wire::Offer> ClaimTrial(RequestClient& client, const AgentIdentity& me, uint64_t number,
                                 std::chrono::milliseconds outage_timeout, const Logger& log) {
  using Clock = std::chrono::steady_clock;
  wire::Envelope env;
  env.set_sweep(me.sweep);
  wire::Claim* claim = env.mutable_claim();
  claim->set_agent(me.name);
  claim->set_world_size(me.world_size);
  claim->set_host(me.host);
  claim->set_pid(me.pid);
  claim->set_slurm_step(me.slurm_step);
  claim->set_number(number);
  const auto deadline = Clock::now() + outage_timeout;
  bool warned = false;
  while (true) {
    auto reply = client.Call(env, std::chrono::milliseconds(3000));
    if (reply.ok()) {
      if (reply->has_reject()) return Status::Error("the coordinator refused agent " + me.name + ": " + reply->reject().reason());
      if (!reply->has_offer()) return Status::Error("the coordinator answered a claim without an offer");
      return reply->offer();
    }
    if (Clock::now() >= deadline) {
      return Status::Error("no coordinator answered agent " + me.name + " for " +
                           std::to_string(outage_timeout.count() / 1000) + " s (--coordinator-timeout): " +
                           reply.status().message());
    }
    if (!warned) {
      log.Warn("coordinator does not answer (" + reply.status().message() + "); asking again for up to " +
               std::to_string(outage_timeout.count() / 1000) + " s");
      warned = true;
    }
  }
}

}  // namespace polysweep
