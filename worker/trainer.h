// The trial's training loop on one rank: loads the prepared splits, trains
// data-parallel for the assigned steps (warmup, then linear or cosine decay;
// micro-batches accumulated per step; frozen layers left out), evaluates on
// the valid split (sharded over ranks, counts summed), and reports through
// the Reporter (rank 0 only; others pass nullptr). RunTrial composes the
// parts, each in its own file: the setup (worker/trial_setup.h), the step
// (train_step.h), the resume (trial_resume.h), the evaluator (evaluator.h),
// the ranks' step agreement (step_agreement.h), the checkpoint policy
// (checkpoint_policy.h) and the reports (trial_report.h).
#pragma once

#include <atomic>
#include <memory>

#include "common/log.h"
#include "common/status.h"
#include "polysweep.pb.h"
#include "worker/comm/communicator.h"
#include "worker/reporter.h"

namespace polysweep {

struct TrainResult {
  int64_t steps = 0;
  double seconds = 0;
  bool preempted = false;  // stopped at `steps` on a preemption signal, checkpoint committed
  bool paused = false;     // paused at `steps` (its stop_at_step, or on command), checkpoint committed
  bool stopped = false;    // stopped at `steps` on command, no checkpoint
  bool early_stopped = false;  // completed at `steps`: no better score in early_stopping_patience evaluations
};

struct Liveness;

// `liveness`, when given, is ticked at every step and evaluation batch.
// A failure's code classes it (common/failure.h): kInvalidConfig for the
// config, kDataError for the data, kDeadlineExceeded for a collective
// timeout, kResourceExhausted for memory.
// `preempt`, when given, is polled after every step: once it is set on any
// rank, all ranks agree on that step, commit a checkpoint and return early.
// So are the reporter's commands (stop, pause) on rank 0. At the
// assignment's stop_at_step all ranks evaluate, commit and return paused.
// With early_stopping_patience, the ranks (which all compute the same
// all-reduced evaluation) end together once that many evaluations in a row
// have not beaten the best score.
StatusOr<TrainResult> RunTrial(const wire::Assignment& assignment, Communicator* comm, Reporter* reporter,
                               const Logger& log, Liveness* liveness = nullptr,
                               const std::atomic<bool>* preempt = nullptr);

}  // namespace polysweep
