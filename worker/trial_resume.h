// Resuming a trial where an earlier attempt left it: the newest good
// checkpoint's weights, optimizer state and RNG state (dropout reseeded from
// (seed, rank, step) when it was saved by another number of ranks), the
// reader position, early stopping's count, and rank 0's reports the
// coordinator never acknowledged, replayed. Collective: call on every rank.
// Heavy header (LibTorch).
#pragma once

#include <cstdint>

#include "common/hparams.h"
#include "common/log.h"
#include "common/sampling.h"
#include "common/status.h"
#include "worker/checkpoint.h"
#include "worker/checkpoint_policy.h"
#include "worker/reporter.h"
#include "worker/train_step.h"

namespace polysweep {

// Where the attempt starts.
struct ResumePoint {
  int64_t first_step = 1;
  ReaderPosition start;
  bool reports_unknown = false;  // the checkpoint's manifest does not say which reports were acknowledged
};

// Starts from step 1 when the trial has no checkpoint. `reporter`: rank 0's
// (nullptr on the others).
StatusOr<ResumePoint> ResumeTrial(Checkpointer& checkpoints, DataParallelStep& step, const TrainingParams& params,
                                  int rank, CheckpointPolicy* policy, Reporter* reporter, const Logger& log);

}  // namespace polysweep
