// Trial setup: everything a trial needs before its first step, read from
// its assignment and checked once. The hyperparameters, the manifest and the
// train and valid shards, the task (from the registry, common/tasks.h) and
// how its batches are masked, the model's shape (MakeModelShape), where and
// in which precision it computes, the gradient buckets, the evaluator's spec,
// the objective, and the checkpoint policy's rules. On failure the error
// names what is wrong and its code says whether the config
// (kInvalidConfig) or the data (kDataError) is at fault. Reads files; no
// collective. Heavy header (LibTorch), for the trainer only.
#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "common/hparams.h"
#include "common/manifest.h"
#include "common/shard_set.h"
#include "polysweep.pb.h"
#include "worker/batching.h"
#include "worker/checkpoint_policy.h"
#include "worker/evaluator.h"
#include "worker/grad_sync.h"
#include "worker/model_shape.h"
#include "worker/placement.h"

namespace polysweep {

struct TrialSetup {
  TrainingParams params;
  Manifest manifest;
  std::unique_ptr<ShardSet> train;
  std::unique_ptr<ShardSet> valid;
  ModelShape shape;
  MaskingSpec masking;
  Placement placement;  // CPU, fp32
  BucketOptions buckets;
  SamplingPlan sampling;
  EvalSpec eval;
  MetricConfig metric;  // scored as the coordinator scores it (keep_best_checkpoints)
  CheckpointRules rules;
  int max_length = 0;
  static constexpr int kPad = 0;  // padded positions are masked, any id serves
};

StatusOr<TrialSetup> SetUpTrial(const wire::Assignment& assignment);

}  // namespace polysweep
