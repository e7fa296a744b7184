// Pull mode (trial.launcher: agents): the coordinator launches nothing;
// attempts queue in the AgentPool and agents (MPI jobs started by the user,
// e.g. a Slurm job array) claim them. A claim is rank 0's Hello: it is
// answered with the trial's Assignment, or told to wait, or that the sweep
// is done. A resent claim gets the same answer.
#include "coordinator/coordinator.h"

namespace polysweep {

void Coordinator::HandleClaim(const zmq::message_t& identity, const wire::Envelope& env) {
  const wire::Claim& c = env.claim();
  if (!agents_) {
    return Reject(identity, env, "sweep " + config_.name + " starts its own trials (trial.launcher: " +
                                     config_.trial.launcher + "); agents serve a sweep with trial.launcher: agents");
  }
  if (!env.sweep().empty() && env.sweep() != config_.name) {
    return Reject(identity, env, "this coordinator runs sweep " + config_.name + ", not " + env.sweep());
  }
  if (c.world_size() != config_.trial.ranks) {
    return Reject(identity, env, "agent " + c.agent() + " has " + std::to_string(c.world_size()) +
                                     " ranks but trial.ranks is " + std::to_string(config_.trial.ranks) +
                                     ": start each agent with " + std::to_string(config_.trial.ranks) +
                                     " ranks (srun --ntasks, mpirun -np)");
  }
  // A resent claim (its answer was lost or late) gets the same answer.
  const std::string process = c.agent() + " " + c.host() + " " + std::to_string(c.pid());
  if (auto it = last_claim_.find(process); it != last_claim_.end() && it->second.first == c.number()) {
    wire::Envelope again;
    again.mutable_offer()->ParseFromString(it->second.second);
    return Reply(identity, env, std::move(again));
  }
  const std::string where = c.agent() + " (" + c.host() + " pid " + std::to_string(c.pid()) +
                            (c.slurm_step().empty() ? "" : ", Slurm step " + c.slurm_step()) + ")";
  if (agents_seen_.insert(c.agent()).second) log_.Info("agent " + where + " connected");
  const uint64_t held = agents_->Abandon(
      c.agent(), "agent " + c.agent() + " asked for a new trial without finishing this one: its ranks were restarted");
  if (held) log_.Warn("agent " + where + " no longer runs trial " + std::to_string(held) + ": its ranks were restarted");
  wire::Envelope reply;
  wire::Offer* offer = reply.mutable_offer();
  offer->set_sweep(config_.name);
  std::optional<AgentPool::Claimed> claimed;
  if (draining_since_ == 0 && !sweep_over_) {
    claimed = agents_->Claim(c.agent());
    if (!claimed) {
      // The agent may have just ended its trial: account for ended attempts
      // and queue what follows now, rather than have it ask again later.
      ReapTrials();
      LaunchReadyTrials();
      claimed = agents_->Claim(c.agent());
    }
  }
  if (claimed) {
    Trial& t = *trials_.at(claimed->trial);
    t.launched_at = Now();  // the start timeout runs from here
    t.waiting = false;
    Status p = journal_->SetProcess(t.id, t.attempt, claimed->handle);
    if (!p.ok()) log_.Error(p.message());
    SetState(t, TrialState::kRunning, "claimed by agent " + where);
    log_.Info("trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt) + " claimed by agent " + where);
    // The claim is rank 0's Hello: it is known from now on, and gets its assignment here.
    t.ranks[0] = RankLiveness{0, 0, Now(), c.host(), c.pid()};
    if (!c.slurm_step().empty()) {
      Status s = journal_->SetSlurmStep(t.id, c.slurm_step());
      if (!s.ok()) log_.Error(s.message());
    }
    offer->set_trial(t.id);
    offer->set_attempt(t.attempt);
    *offer->mutable_assignment() = MakeAssignment(t);
  } else if (sweep_over_) {
    offer->set_done(true);
    agents_dismissed_.insert(c.agent());
  } else {
    offer->set_wait_ms(250);
  }
  last_claim_[process] = {c.number(), offer->SerializeAsString()};
  // Claimed trials are journaled before the agent learns of them.
  Reply(identity, env, std::move(reply));
}

void Coordinator::DismissAgents() {
  sweep_over_ = true;
  const double until = Now() + options_.agents_linger_seconds;
  while (agents_dismissed_.size() < agents_seen_.size() && Now() < until) {
    if (options_.stop && options_.stop->load()) break;
    transport_.Wait(options_.poll_interval_ms);
    while (HandleMessage()) {
    }
  }
  if (!agents_seen_.empty()) {
    log_.Info("sweep over: " + std::to_string(agents_dismissed_.size()) + " of " +
              std::to_string(agents_seen_.size()) + " agents told to exit");
  }
}

}  // namespace polysweep
