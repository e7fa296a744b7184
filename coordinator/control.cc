// The owner's commands (polysweep stop | pause | resume TRIAL): each is
// journaled as a decision before anything acts on it; stop and pause reach
// rank 0 with its next acknowledgement, resume starts a new attempt from the
// paused trial's checkpoint. On a secured sweep only the owner's key may.
#include <cmath>

#include "coordinator/coordinator.h"

namespace polysweep {

void Coordinator::HandleControl(const zmq::message_t& identity, const wire::Envelope& env, const std::string& role) {
  const wire::ControlRequest& req = env.control_request();
  if (options_.security && role != "owner") return Reject(identity, env, "controlling a trial needs the owner's key");
  auto it = trials_.find(req.trial());
  if (it == trials_.end()) return Reject(identity, env, "no trial " + std::to_string(req.trial()));
  Trial& t = *it->second;
  const std::string id = "trial " + std::to_string(t.id);
  const std::string state = TrialStateName(t.state);
  Status done;
  switch (req.command()) {
    case wire::COMMAND_STOP:
      if (t.state == TrialState::kPaused) {
        Status d = journal_->AddDecision({t.id, t.attempt, DecisionKind::kStop, t.paused_at, NAN, t.stop_at,
                                          "stopped by the owner"});
        if (!d.ok()) return Reject(identity, env, "journal: " + d.message());
        log_.Info(id + " stopped by the owner while paused");
        t.owner_paused = false;
        EndTrial(t, TrialState::kStopped, "stopped by the owner");
        break;
      }
      if (!t.process) return Reject(identity, env, id + " is not running (" + state + ")");
      done = SendCommand(t, DecisionKind::kStop,
                         PendingCommand{wire::COMMAND_STOP, TrialState::kStopped, false, "stopped by the owner"});
      break;
    case wire::COMMAND_PAUSE:
      if (!t.process) return Reject(identity, env, id + " is not running (" + state + ")");
      if (t.command.pending()) return Reject(identity, env, id + " already has a command pending");
      done = SendCommand(t, DecisionKind::kPause,
                         PendingCommand{wire::COMMAND_PAUSE, TrialState::kStopped, false, "paused by the owner"});
      break;
    case wire::COMMAND_RESUME: {
      if (t.state != TrialState::kPaused) return Reject(identity, env, id + " is not paused (" + state + ")");
      // Paused at a rung, the owner overrides the scheduler: it trains to the end.
      const bool at_rung = !t.owner_paused;
      const int64_t stop_at = at_rung ? t.max_steps : t.stop_at;
      const std::string why = "resumed by the owner at step " + std::to_string(t.paused_at) + " to train to step " +
                              std::to_string(stop_at);
      done = journal_->AddDecision({t.id, t.attempt, DecisionKind::kResume, t.paused_at, NAN, stop_at, why});
      if (!done.ok()) break;
      t.owner_paused = false;
      if (at_rung) scheduler_->Promoted(t.id, stop_at);
      ResumeTrial(t, stop_at, why);
      break;
    }
    default:
      return Reject(identity, env, "unknown command " + std::to_string(req.command()));
  }
  if (!done.ok()) return Reject(identity, env, "journal: " + done.message());
  wire::Envelope reply;
  reply.mutable_ack();
  Reply(identity, env, std::move(reply));
}

}  // namespace polysweep
