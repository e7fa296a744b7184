// Schedulers decide the fate of running trials: how far a new trial trains
// before its first decision, which trials stop early, and which paused trials
// are promoted to train further from their checkpoint.
//
// Scores are "higher is better" (the coordinator negates minimised metrics).
// A scheduler holds only sets of facts (evaluations, rung results,
// promotions, ends); the same facts in any order give the same state, so a
// restarted coordinator rebuilds it by replaying its journal.
//
//   fifo       every trial trains to its full budget.
//   asha       asynchronous successive halving with promotions (as Determined
//              does): a trial pauses at each rung (grace × rf^k units: steps,
//              or epochs with scheduler.unit epochs) with a
//              checkpoint; a paused trial in the top 1/rf of its rung is
//              promoted and resumes from its checkpoint to the next rung.
//   hyperband  asynchronous Hyperband: `brackets` ASHA instances whose first
//              rungs are grace × rf^b; trials are dealt to brackets in turn.
//   median     median stopping: at an evaluation at or after `grace` units, a
//              trial whose best score is below the median of the other trials'
//              running means at that point stops (once `min_trials` reported).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "coordinator/scheduler_kinds.h"

namespace polysweep {

struct Promotion {
  uint64_t trial = 0;
  int64_t stop_at = 0;  // the step it trains to next
  int rung = 0;         // the rung it was promoted from
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string name() const = 0;
  // The trial's training steps per unit of the scheduler's grace
  // (scheduler.unit epochs: its steps per epoch, which its batch size
  // decides); rungs then count units, and each trial stops at its own step
  // for a rung. Called for every trial, new or replayed, before FirstStop.
  // Unset: 1 (the unit is the step).
  virtual void SetStepsPerUnit(uint64_t trial, double steps) = 0;
  // The step a new trial of `max_steps` steps first stops at for a decision
  // (max_steps: no pause). Pure: the same trial always gets the same answer.
  virtual int64_t FirstStop(uint64_t trial, int64_t max_steps) const = 0;
  // An evaluation of a running trial. True: stop it now (it will not improve
  // enough to matter).
  virtual bool Report(uint64_t trial, int64_t step, double score) = 0;
  // The trial reached the stop it was given and paused there with `score`.
  virtual void Paused(uint64_t trial, int64_t step, double score) = 0;
  // The trial ended (completed, failed, stopped): never promoted again.
  // `full_budget`: it completed all its steps.
  virtual void Ended(uint64_t trial, bool full_budget) = 0;
  // A paused trial to resume now, or nullopt. `idle` says no trial runs and
  // no new trial will come: the scheduler then promotes the best trial of its
  // highest rung until one trial has trained its full budget, so a sweep
  // always ends with a fully trained best trial. Records the promotion.
  virtual std::optional<Promotion> Promote(bool idle) = 0;
  // Replays a promotion decided by an earlier coordinator.
  virtual void Promoted(uint64_t trial, int64_t stop_at) = 0;
  // The trial reached its stop at `step` with `score` and waits there for
  // the answer. If pausing it would make it the very trial Promote(idle)
  // picks next, records its rung result and its promotion (as Paused then
  // Promote would) and returns the promotion: it trains on without pausing.
  // Otherwise records nothing: it pauses as planned, and Paused follows.
  virtual std::optional<Promotion> Continue(uint64_t trial, int64_t step, double score, bool idle) {
    (void)trial, (void)step, (void)score, (void)idle;
    return std::nullopt;
  }
};

// The stops of a trial of `max_steps` steps: grace × rf^k below max_steps,
// then max_steps.
std::vector<int64_t> RungSteps(int64_t grace, double reduction_factor, int64_t max_steps);

std::unique_ptr<Scheduler> MakeScheduler(const SchedulerConfig& config);

}  // namespace polysweep
