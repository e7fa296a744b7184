// Continuing a journaled sweep (a restarted coordinator): the searcher from
// its journaled state, each trial re-adopted, relaunched or left as it is,
// and the scheduler rebuilt by replaying the journal's facts in order.
#include <cmath>

#include "common/worker_command.h"
#include "coordinator/coordinator.h"

namespace polysweep {
namespace {

// Where each trial stands with the scheduler, from its decisions: the step
// it trains to, where it last paused (and whether its owner paused it), and
// the step of a promotion in place of a given attempt.
struct ScheduleFacts {
  std::map<uint64_t, int64_t> trains_to, paused_at;
  std::map<uint64_t, bool> owner_paused;
  std::map<uint64_t, std::pair<uint32_t, int64_t>> continued;  // attempt, step
};

ScheduleFacts ReadSchedule(const std::vector<JournalDecision>& decisions) {
  ScheduleFacts f;
  for (const JournalDecision& d : decisions) {
    switch (d.kind) {
      case DecisionKind::kContinue:
        f.continued[d.trial] = {d.attempt, d.step};
        [[fallthrough]];
      case DecisionKind::kPromote:
      case DecisionKind::kResume:
        f.trains_to[d.trial] = d.stop_at;
        break;
      case DecisionKind::kRung:
      case DecisionKind::kPause:
        f.paused_at[d.trial] = d.step;
        f.owner_paused[d.trial] = d.kind == DecisionKind::kPause;
        break;
      default:
        break;
    }
  }
  return f;
}

}  // namespace

Status Coordinator::Resume() {
  auto trials = journal_->Trials();
  if (!trials.ok()) return trials.status();
  auto decisions = journal_->Decisions();
  if (!decisions.ok()) return decisions.status();
  const ScheduleFacts schedule = ReadSchedule(*decisions);
  // The searcher continues from its journaled state (RNG included); a
  // journal without one (older versions) is replayed: the searcher is
  // deterministic, so replaying it gives the issued trials again.
  auto sweep = journal_->Sweep();
  if (!sweep.ok()) return sweep.status();
  const bool restored = !sweep->searcher_state.empty();
  if (restored) {
    Status loaded = searcher_->LoadState(sweep->searcher_state);
    if (!loaded.ok()) return loaded.With(journal_->path() + ": cannot continue the search; start again with --overwrite");
  }
  int adopted = 0, relaunched = 0, finished = 0, paused = 0;
  for (const JournalTrial& jt : *trials) {
    std::optional<ParamAssignment> params;
    if (restored) {
      auto journaled = ParamsFromJson(jt.hparams_json);
      if (!journaled.ok()) return journaled.status().With(journal_->path() + ": trial " + std::to_string(jt.id));
      params = *journaled;
    } else {
      params = searcher_->Next();
    }
    if (!params || ParamsToJson(*params) != jt.hparams_json) {
      return Status::Error(journal_->path() + ": trial " + std::to_string(jt.id) + " was issued with " +
                           jt.hparams_json + " but the search now gives " +
                           (params ? ParamsToJson(*params) : std::string("no more trials")) +
                           ": the search changed; start again with --overwrite");
    }
    issued_ = jt.id;
    Status applied;
    Trial& t = AddTrial(jt.id, *params, &applied);
    t.attempt = std::max<uint32_t>(jt.attempt, 1);
    t.restarts = jt.restarts;
    t.state = jt.state;
    t.started = jt.started_at > 0 ? jt.started_at : Now();
    if (auto it = schedule.trains_to.find(t.id); it != schedule.trains_to.end()) t.stop_at = it->second;
    if (auto it = schedule.paused_at.find(t.id); it != schedule.paused_at.end()) t.paused_at = it->second;
    if (auto it = schedule.owner_paused.find(t.id); it != schedule.owner_paused.end()) t.owner_paused = it->second;
    if (auto it = schedule.continued.find(t.id); it != schedule.continued.end() && it->second.first == t.attempt) {
      t.continued_at = it->second.second;  // this attempt trains on past that stop
    }
    if (IsFinal(t.state)) {
      ++finished;
    } else if (t.state == TrialState::kPaused) {  // waits for a promotion or the owner's resume
      ++paused;
    } else if (!applied.ok()) {  // journaled before its outcome was: finish it now
      t.end.error = applied.message();
      t.end.failure = wire::FAILURE_BAD_CONFIG;
      FinishTrial(t, ExitInfo::Code(1));
    } else {
      ContinueTrial(t, jt.process, &adopted);
      ++relaunched;
    }
  }
  relaunched -= adopted;
  log_.Info("resumed from " + journal_->path() + ": " + std::to_string(trials->size()) + " trials issued, " +
            std::to_string(finished) + " finished, " + std::to_string(paused) + " paused, " +
            std::to_string(adopted) + " re-adopted, " + std::to_string(relaunched) + " relaunched");
  return ReplaySchedule(*decisions);
}

void Coordinator::ContinueTrial(Trial& t, const std::string& process, int* adopted) {
  const std::string name = "trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt);
  switch (t.state) {
    case TrialState::kRunning:
      t.process = launcher_->Adopt(process, AttemptFlags(config_.name, t.id, t.attempt));
      if (t.process) {
        live_.insert(t.id);
        // Its ranks reconnect and re-announce themselves with their heartbeats;
        // until then they are judged against the start timeout.
        t.launched_at = Now();
        SetState(t, TrialState::kRunning, "re-adopted by a restarted coordinator");
        log_.Info(name + " still runs (" + process + "): re-adopted");
        ++*adopted;
        return;
      }
      // Its processes ended while no coordinator watched: a new attempt from
      // its last checkpoint, without spending the restart budget.
      log_.Warn(name + " is no longer running (" + (process.empty() ? "never started" : process) +
                "): restarting it from its last checkpoint");
      NextAttempt(t);
      LaunchAttempt(t, "restarted: its processes ended while the coordinator was down");
      return;
    case TrialState::kPreempted:
    case TrialState::kInterrupted:
      // Preempted and not yet requeued, or stopped by Ctrl-C: a new attempt
      // from the checkpoint, without spending the restart budget.
      NextAttempt(t);
      LaunchAttempt(t, t.state == TrialState::kPreempted ? "requeued after preemption"
                                                         : "resumed after the sweep was interrupted");
      return;
    default:  // issued, not yet launched
      LaunchAttempt(t, "launched with " + launcher_->name());
  }
}

Status Coordinator::ReplaySchedule(const std::vector<JournalDecision>& decisions) {
  // The scheduler's state is a set of facts: replaying them in journal
  // order rebuilds it exactly.
  auto objectives = journal_->Objectives();
  if (!objectives.ok()) return objectives.status();
  std::map<uint64_t, double> last_score;
  for (const JournalEvaluation& e : *objectives) {
    const double score = Score(ObjectiveValue{e.objective, e.feasible, ""});
    scheduler_->Report(e.trial, e.step, score);
    last_score[e.trial] = score;  // in (trial, attempt, step) order: the latest wins
  }
  // The searcher learns the results it had, in trial order: of trials that
  // ended or paused, and of a running trial its score where it was last
  // promoted without pausing.
  std::map<uint64_t, double> continued_score;
  for (const JournalDecision& d : decisions) {
    if (d.kind == DecisionKind::kContinue) continued_score[d.trial] = d.score;
  }
  for (const auto& [id, t] : trials_) {
    auto it = last_score.find(id);
    if (it != last_score.end() && (IsFinal(t->state) || t->state == TrialState::kPaused)) {
      searcher_->Observe(id, t->params, it->second);
    } else if (auto c = continued_score.find(id); c != continued_score.end()) {
      searcher_->Observe(id, t->params, c->second);
    }
  }
  for (const JournalDecision& d : decisions) {
    auto it = trials_.find(d.trial);
    if (it == trials_.end()) continue;
    Trial& t = *it->second;
    if (d.kind == DecisionKind::kRung || d.kind == DecisionKind::kContinue) scheduler_->Paused(d.trial, d.step, d.score);
    if (d.kind == DecisionKind::kPromote || d.kind == DecisionKind::kResume || d.kind == DecisionKind::kContinue) {
      scheduler_->Promoted(d.trial, d.stop_at);
    }
    // A command the ranks of the running attempt may not have received yet.
    const bool pending = t.state == TrialState::kRunning && d.attempt == t.attempt;
    if (pending && (d.kind == DecisionKind::kPrune || d.kind == DecisionKind::kStop)) {
      t.command = PendingCommand{wire::COMMAND_STOP,
                                 d.kind == DecisionKind::kPrune ? TrialState::kPruned : TrialState::kStopped, false,
                                 d.detail, Now()};
    } else if (pending && d.kind == DecisionKind::kPause) {
      t.command = PendingCommand{wire::COMMAND_PAUSE, TrialState::kStopped, false, d.detail, Now()};
    }
  }
  for (const auto& [id, t] : trials_) {
    if (IsFinal(t->state)) scheduler_->Ended(id, t->state == TrialState::kCompleted);
  }
  return Status::Ok();
}

}  // namespace polysweep
