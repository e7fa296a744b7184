// The checkpoint policy of a trial: at which steps it evaluates, saves a
// checkpoint, commits one (saved and flushed on every rank: the trial may
// end there), pauses for the scheduler, or stops early; and early
// stopping's count (evaluations since the best score, NaN never better),
// which every checkpoint keeps. Plain logic over what the ranks agreed on
// (worker/step_agreement.h) and the evaluation's score: every rank computes
// the same decisions. No LibTorch, no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/checkpoint_manifest.h"

namespace polysweep {

struct CheckpointRules {
  bool checkpoints = false;    // the trial has a checkpoint_dir
  int64_t max_steps = 0;
  int64_t stop_at = 0;         // where this attempt stops for the scheduler (max_steps: none)
  int64_t eval_every = 0;      // 0: only at the end and at the rung
  int64_t checkpoint_every = 0;
  double checkpoint_every_seconds = 0;  // rank 0's clock; 0: steps only
  bool keep_best = false;      // every evaluation is followed by a checkpoint
  int patience = 0;            // early_stopping_patience; 0: never stops early
};

// One step's situation once the ranks agreed.
struct StepPlan {
  int64_t step = 0;
  bool final = false;        // the trial's last step
  bool rung = false;         // the scheduler decides here (a stop before the end)
  bool interrupted = false;  // preempted or paused by command, before the end
  bool paused = false;       // interrupted by the coordinator's pause (else by preemption)
  bool ask = false;          // rank 0 asks the scheduler whether to go on past the rung
  bool evaluate = false;
};

// What follows a step.
struct StepAction {
  enum class Checkpoint { kNone, kSave, kCommit, kFlush } checkpoint = Checkpoint::kNone;
  enum class End { kNone, kPaused, kPreempted, kEarlyStopped, kRung } end = End::kNone;
};

class CheckpointPolicy {
 public:
  using Clock = std::chrono::steady_clock;

  explicit CheckpointPolicy(const CheckpointRules& rules);

  int64_t stop_at() const { return rules_.stop_at; }
  // Restarted after committing its stop's checkpoint, before the coordinator
  // heard of the pause: the attempt evaluates there again and pauses.
  bool PausedBeforeStart(int64_t first_step) const;

  // Early stopping's count, continued from a checkpoint and saved with each.
  void Restore(const EarlyStopCount& count);
  EarlyStopCount Count() const;
  int evals_since_best() const { return evals_since_best_; }

  StepPlan Plan(int64_t step, bool preempted, bool paused_by_command) const;
  // Counts an evaluation's score (higher is better) for early stopping.
  void Observe(double score);
  // The scheduler's answer at the rung: a later step moves the stop there
  // (capped at max_steps) and the plan no longer pauses. Returns whether it did.
  bool Promote(int64_t continue_to, StepPlan* plan);
  StepAction Decide(const StepPlan& plan, bool scored, bool timed_due) const;

  // Rank 0's clock for timed checkpoints: restarted when the steps start
  // and after every saved checkpoint.
  bool TimedDue(Clock::time_point now) const;
  void RestartTimer(Clock::time_point now) { last_checkpoint_ = now; }

 private:
  CheckpointRules rules_;
  double best_score_;
  int evals_since_best_ = 0;
  Clock::time_point last_checkpoint_;
};

}  // namespace polysweep
