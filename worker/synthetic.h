// A synthetic trial (trial.synthetic_step_ms > 0): no data, no model. Each
// step waits the given time; evaluations score the hyperparameters with a
// fixed function (best at lr = 1e-3, worse with dropout, rising over the
// steps like a learning curve), with per-language scores. Reports, commands
// and preemption behave as in a real trial, so sweeps of thousands of trials
// measure what the coordinator, the journal and the launcher cost.
#pragma once

#include <atomic>

#include "common/status.h"
#include "polysweep.pb.h"
#include "worker/comm/communicator.h"
#include "worker/reporter.h"
#include "worker/trainer.h"

namespace polysweep {

struct Liveness;

StatusOr<TrainResult> RunSyntheticTrial(const wire::Assignment& assignment, Communicator* comm, Reporter* reporter,
                                        Liveness* liveness = nullptr, const std::atomic<bool>* preempt = nullptr);

// The synthetic objective at `step` of `max_steps` (in [0, 1]).
double SyntheticQuality(double lr, double dropout, int64_t step, int64_t max_steps);

}  // namespace polysweep
