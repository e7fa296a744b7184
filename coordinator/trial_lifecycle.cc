// How an attempt ends and what follows: the outcome a command or rank 0's
// report gives it, a pause (at a rung or on request), a requeue after a
// preemption, a relaunch the backend asked for, a restart after a crash or
// a hang while the restart budget lasts, and the trial's end. Also the
// commands the coordinator sends (stop, pause, drain) and promotion at a stop.
#include <cmath>
#include <csignal>
#include <cstdio>

#include "common/failure.h"
#include "coordinator/coordinator.h"

namespace polysweep {

void Coordinator::FinishTrial(Trial& t, const ExitInfo& ended) {
  ExitInfo exit = ended;
  // Rank 0 reported the end without an error: the attempt's work is done
  // (and a checkpoint its end names is committed), so how its processes went
  // afterwards (a rank stopped or killed on its way out, the attempt killed
  // for hanging there) does not change the trial's outcome.
  if (t.end.reported && t.end.error.empty() && !exit.ok()) {
    log_.Warn("trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt) + " ended (" + exit.Describe() +
              (t.failure.empty() ? "" : ", " + t.failure) + ") after it reported its end: the end stands");
    exit = ExitInfo::Code(0);
    t.failure.clear();
  }
  const bool no_error = t.end.error.empty();
  const PendingCommand& command = t.command;
  // Told to stop: it ends as the command said, however its processes ended
  // (a rank that ignored the command is killed after the hang timeout).
  if (command.command == wire::COMMAND_STOP && no_error) {
    log_.Info("trial " + std::to_string(t.id) + " " + TrialStateName(command.outcome) + ": " + command.reason);
    return EndTrial(t, command.outcome, command.reason);
  }
  // Stopped with a checkpoint because the coordinator's job ends: it goes on
  // from there when the sweep is continued.
  if (command.command == wire::COMMAND_PAUSE && command.drain && no_error) {
    return InterruptTrial(t, t.end.paused ? "checkpoint committed at step " + std::to_string(t.paused_at) +
                                                " before the coordinator's job ended"
                                          : "stopped before the coordinator's job ended; continues from its last checkpoint");
  }
  // Paused at its stop or on request (a rank that ignored the pause command
  // was killed: its last checkpoint is where it resumes from).
  if ((t.end.paused && exit.ok() && no_error) || (command.command == wire::COMMAND_PAUSE && no_error)) {
    if (!t.end.paused) t.paused_at = t.last_progress.step();
    return PauseTrial(t);
  }
  // Preempted on request with a checkpoint committed: requeue at once as a
  // new attempt, without spending the restart budget. Synthetic trials keep
  // no checkpoint: theirs start over.
  if (t.end.preempted_at && exit.ok() && no_error) {
    const int64_t step = *t.end.preempted_at;
    log_.Info("trial " + std::to_string(t.id) + " preempted at step " + std::to_string(step) + "; requeued");
    SetState(t, TrialState::kPreempted,
             config_.trial.synthetic_step_ms > 0
                 ? "preempted at step " + std::to_string(step) + " (a synthetic trial: it starts over)"
                 : "checkpoint committed at step " + std::to_string(step));
    NextAttempt(t);
    LaunchAttempt(t, "requeued after preemption at step " + std::to_string(step));
    return;
  }
  // The backend could not start the ranks (Slurm aborted the step's launch):
  // nothing of the trial ran, so it is launched again without spending a
  // restart, a few times.
  constexpr int kLaunchRetries = 3;
  if (exit.not_started && t.ranks.empty() && t.launch_retries < kLaunchRetries) {
    ++t.launch_retries;
    const std::string why = exit.Describe() + "; launching again (" + std::to_string(t.launch_retries) + "/" +
                            std::to_string(kLaunchRetries) + ")";
    log_.Warn("trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt) + ": " + why);
    NextAttempt(t);
    LaunchAttempt(t, why);
    return;
  }
  if (RestartAfterCrash(t, exit)) return;
  if (exit.ok() && t.end.reported && no_error) return EndCompleted(t);
  const std::string error = !no_error          ? t.end.error
                            : !t.failure.empty() ? t.failure
                            : !exit.ok()         ? "worker " + exit.Describe() + " (see " + t.log_path + ")"
                                                 : "workers exited without reporting the end of training";
  const wire::FailureClass failure =
      !no_error          ? (t.end.failure != wire::FAILURE_UNSPECIFIED ? t.end.failure : wire::FAILURE_ERROR)
      : !t.failure.empty() ? wire::FAILURE_HANG
      : exit.cause.find("NODE_FAIL") != std::string::npos ? wire::FAILURE_NODE_FAILURE
                                                        : wire::FAILURE_CRASHED_RANK;
  EndTrial(t, TrialState::kFailed, error, failure);
  log_.Error("trial " + std::to_string(t.id) + " failed: " + error);
}

bool Coordinator::RestartAfterCrash(Trial& t, const ExitInfo& exit) {
  // A crash (ranks died without reporting an error of their own) is retried
  // from the last checkpoint while the trial's restart budget lasts; errors
  // the worker reported (bad data, bad config) would only happen again.
  const bool crashed = t.end.error.empty() && !t.end.reported;
  if (!crashed || t.restarts >= config_.trial.max_restarts) return false;
  ++t.restarts;
  Status r = journal_->SetRestarts(t.id, t.restarts);
  if (!r.ok()) log_.Error(r.message());
  const std::string why = "attempt " + std::to_string(t.attempt) + " failed: " +
                          (t.failure.empty() ? "worker " + exit.Describe() : t.failure);
  log_.Warn("trial " + std::to_string(t.id) + " " + why + "; restart " + std::to_string(t.restarts) + "/" +
            std::to_string(config_.trial.max_restarts) + " from its last checkpoint");
  NextAttempt(t);
  LaunchAttempt(t, "restart " + std::to_string(t.restarts) + "/" + std::to_string(config_.trial.max_restarts) +
                       " after " + why);
  return true;
}

void Coordinator::EndCompleted(Trial& t) {
  if (t.end.early_stopped_at) {
    const int64_t step = *t.end.early_stopped_at;
    const std::string why = "early stop at step " + std::to_string(step) + " of " + std::to_string(t.max_steps) +
                            ": no better " + MetricLabel(config_.metric) + " in " +
                            std::to_string(t.training.early_stopping_patience) + " evaluations";
    Status d = journal_->AddDecision({t.id, t.attempt, DecisionKind::kEarlyStop, step, t.last_score, t.max_steps, why});
    if (!d.ok()) log_.Error(d.message());
    log_.Info("trial " + std::to_string(t.id) + " " + why);
  }
  const double score = t.last_eval ? Objective(*t.last_eval).value : NAN;
  EndTrial(t, TrialState::kCompleted, "");
  char buf[200];
  std::snprintf(buf, sizeof buf, "trial %llu completed in %.1f s: %s %.4f", static_cast<unsigned long long>(t.id),
                Now() - t.started, MetricLabel(config_.metric).c_str(), score);
  log_.Info(buf);
}

void Coordinator::EndTrial(Trial& t, TrialState outcome, const std::string& error, wire::FailureClass failure) {
  CheckTransition(t, outcome, error);
  // The journal's reason: a failure's class, or how else the trial ended.
  const std::string reason = outcome == TrialState::kFailed      ? FailureClassName(failure)
                             : outcome == TrialState::kCompleted ? ""
                                                                 : TrialStateName(outcome);
  Status s = journal_->FinishTrial(t.id, t.attempt, outcome, error, reason);
  if (!s.ok()) log_.Error(s.message());
  t.state = outcome;
  t.process.reset();
  scheduler_->Ended(t.id, outcome == TrialState::kCompleted);
  if (outcome != TrialState::kFailed) searcher_->Observe(t.id, t.params, t.last_score);
}

void Coordinator::InterruptTrial(Trial& t, const std::string& why) {
  t.process.reset();
  SetState(t, TrialState::kInterrupted, why);
  log_.Info("trial " + std::to_string(t.id) + " " + why);
}

void Coordinator::ResumeTrial(Trial& t, int64_t stop_at, const std::string& why) {
  log_.Info("trial " + std::to_string(t.id) + " " + why);
  NextAttempt(t);
  t.stop_at = stop_at;
  LaunchAttempt(t, why);
}

void Coordinator::PauseTrial(Trial& t) {
  t.process.reset();
  const int64_t step = t.paused_at;
  if (!t.command.pending() && t.continued_at >= 0 && step == t.continued_at) {
    // Promoted at its stop, but its ranks paused there all the same (a
    // preemption signal arrived at that step): the promotion stands, and a
    // new attempt takes it on from the checkpoint.
    SetState(t, TrialState::kPaused, "paused at step " + std::to_string(step) + " as it was promoted");
    ResumeTrial(t, t.stop_at, "resumed from its checkpoint at step " + std::to_string(step) +
                                  " to train to step " + std::to_string(t.stop_at) + " (promoted there)");
    return;
  }
  std::string why;
  if (t.command.command == wire::COMMAND_PAUSE) {
    t.owner_paused = true;
    why = "paused at step " + std::to_string(step) + ": " + t.command.reason + " (polysweep resume " +
          std::to_string(t.id) + " continues it)";
  } else {
    // At its stop: the scheduler's result for this rung is the evaluation there.
    const bool evaluated = t.last_eval && t.last_eval->step() == step;
    const ObjectiveValue objective = evaluated ? Objective(*t.last_eval) : ObjectiveValue{NAN, true, ""};
    char buf[200];
    std::snprintf(buf, sizeof buf, "paused at step %lld for the %s scheduler: %s %.4f%s", static_cast<long long>(step),
                  scheduler_->name().c_str(), MetricLabel(config_.metric).c_str(), objective.value,
                  objective.feasible ? "" : " (infeasible)");
    why = buf;
    Status d = journal_->AddDecision({t.id, t.attempt, DecisionKind::kRung, step, Score(objective), t.stop_at, why});
    if (!d.ok()) log_.Error(d.message());
    scheduler_->Paused(t.id, step, Score(objective));
    searcher_->Observe(t.id, t.params, Score(objective));  // what it scored so far
  }
  SetState(t, TrialState::kPaused, why);
  log_.Info("trial " + std::to_string(t.id) + " " + why);
}

Status Coordinator::ContinueAtStop(Trial& t, int64_t step, const ObjectiveValue& objective) {
  if (!config_.scheduler.promote_in_place || t.stop_at >= t.max_steps || t.command.pending()) return Status::Ok();
  // Idle as LaunchReadyTrials would see it once this trial paused.
  const bool idle = searcher_done_ && LiveTrials().size() <= 1;
  const double score = Score(objective);
  std::optional<Promotion> p = scheduler_->Continue(t.id, step, score, idle);
  if (!p) return Status::Ok();
  const int64_t stop_at = std::min(p->stop_at, t.max_steps);
  char buf[240];
  std::snprintf(buf, sizeof buf,
                "promoted from rung %d (step %lld, %s %.4f%s) as it reached it: trains on to step %lld without pausing",
                p->rung, static_cast<long long>(step), MetricLabel(config_.metric).c_str(), objective.value,
                objective.feasible ? "" : " (infeasible)", static_cast<long long>(stop_at));
  // Journaled before the answer goes: a restarted coordinator gives it again.
  PS_RETURN_IF_ERROR(journal_->AddDecision({t.id, t.attempt, DecisionKind::kContinue, step, score, stop_at, buf}));
  t.stop_at = stop_at;
  t.continued_at = step;
  searcher_->Observe(t.id, t.params, score);  // what it scored so far, as at a pause
  log_.Info("trial " + std::to_string(t.id) + " " + buf);
  return Status::Ok();
}

Status Coordinator::SendCommand(Trial& t, DecisionKind kind, PendingCommand command, int64_t step) {
  // Journaled before it is sent: a restarted coordinator sends it again.
  if (step < 0) step = t.last_progress.step();
  PS_RETURN_IF_ERROR(journal_->AddDecision({t.id, t.attempt, kind, step, NAN, t.stop_at, command.reason}));
  command.at = Now();
  t.command = std::move(command);
  log_.Info("trial " + std::to_string(t.id) + ": " + (t.command.command == wire::COMMAND_STOP ? "stop" : "pause") +
            " sent at step " + std::to_string(t.last_progress.step()) + " (" + t.command.reason + ")");
  return Status::Ok();
}

void Coordinator::StartDrain() {
  draining_since_ = Now();
  int asked = 0;
  for (auto& [id, t] : trials_) {
    if (!t->process || !t->process->started() || t->command.pending()) continue;
    PendingCommand drain{wire::COMMAND_PAUSE, TrialState::kInterrupted, true,
                         "checkpoint and stop: the coordinator's job is about to end"};
    Status s = SendCommand(*t, DecisionKind::kDrain, std::move(drain));
    if (!s.ok()) log_.Error(s.message());
    ++asked;
  }
  log_.Warn("draining: " + std::to_string(asked) + " running trials asked to checkpoint and stop within " +
            std::to_string(static_cast<int>(options_.drain_seconds)) + " s; no new trial starts");
}

}  // namespace polysweep
