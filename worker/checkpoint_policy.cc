#include "worker/checkpoint_policy.h"

#include <algorithm>
#include <limits>

namespace polysweep {

namespace {
constexpr double kNoScore = -std::numeric_limits<double>::infinity();
}  // namespace

CheckpointPolicy::CheckpointPolicy(const CheckpointRules& rules)
    : rules_(rules), best_score_(kNoScore), last_checkpoint_(Clock::now()) {}

bool CheckpointPolicy::PausedBeforeStart(int64_t first_step) const {
  return first_step > rules_.stop_at && rules_.stop_at < rules_.max_steps;
}

void CheckpointPolicy::Restore(const EarlyStopCount& count) {
  if (count.best_score) best_score_ = *count.best_score;
  evals_since_best_ = count.evals_since_best;
}

EarlyStopCount CheckpointPolicy::Count() const {
  EarlyStopCount c;
  if (best_score_ > kNoScore) c.best_score = best_score_;
  c.evals_since_best = evals_since_best_;
  return c;
}

StepPlan CheckpointPolicy::Plan(int64_t step, bool preempted, bool paused_by_command) const {
  StepPlan p;
  p.step = step;
  p.final = step == rules_.max_steps;
  // Preempted or paused: ends at this step, after its evaluation if it has
  // one (the resumed attempt starts at the next step).
  p.interrupted = (preempted || paused_by_command) && step < rules_.max_steps;
  p.paused = paused_by_command;
  p.rung = step == rules_.stop_at && !p.final;
  // At its stop, rank 0 waits for the scheduler's answer to the evaluation:
  // pause here, or (promoted there and then) train on to a later stop.
  p.ask = p.rung && !p.interrupted;
  p.evaluate = p.final || p.rung || (rules_.eval_every > 0 && step % rules_.eval_every == 0);
  return p;
}

void CheckpointPolicy::Observe(double score) {
  if (score > best_score_) {
    best_score_ = score;
    evals_since_best_ = 0;
  } else {
    ++evals_since_best_;
  }
}

bool CheckpointPolicy::Promote(int64_t continue_to, StepPlan* plan) {
  if (continue_to <= plan->step) return false;
  rules_.stop_at = std::min(continue_to, rules_.max_steps);
  plan->rung = false;
  return true;
}

StepAction CheckpointPolicy::Decide(const StepPlan& p, bool scored, bool timed_due) const {
  using Checkpoint = StepAction::Checkpoint;
  using End = StepAction::End;
  StepAction action;
  const bool early_stop =
      rules_.patience > 0 && evals_since_best_ >= rules_.patience && scored && !p.final && !p.rung;
  const bool due = (rules_.checkpoint_every > 0 && p.step % rules_.checkpoint_every == 0) || timed_due ||
                   (rules_.keep_best && scored);
  if (p.interrupted && !early_stop && !p.rung) {
    action.checkpoint = rules_.checkpoints ? Checkpoint::kCommit : Checkpoint::kNone;
    action.end = p.paused ? End::kPaused : End::kPreempted;
  } else if (early_stop) {
    // Kept like the final step: a checkpoint only for keeping the best.
    action.checkpoint = rules_.keep_best ? Checkpoint::kCommit
                                         : rules_.checkpoints ? Checkpoint::kFlush : Checkpoint::kNone;
    action.end = End::kEarlyStopped;
  } else if (p.rung) {
    action.checkpoint = Checkpoint::kCommit;
    action.end = End::kRung;
  } else if (rules_.checkpoints && due && !p.interrupted && (!p.final || (rules_.keep_best && scored))) {
    // The final step is checkpointed only for keeping the best (the trial is over).
    action.checkpoint = Checkpoint::kSave;
  }
  return action;
}

bool CheckpointPolicy::TimedDue(Clock::time_point now) const {
  return rules_.checkpoint_every_seconds > 0 &&
         std::chrono::duration<double>(now - last_checkpoint_).count() >= rules_.checkpoint_every_seconds;
}

}  // namespace polysweep
