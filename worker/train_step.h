// One data-parallel training step: forward, backward, gradient all-reduce,
// clipping, AdamW update. Every rank holds the same weights before and after.
// Where it computes and in which precision is its Placement
// (worker/placement.h). Heavy header (LibTorch).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "common/hparams.h"
#include "common/status.h"
#include "worker/batching.h"
#include "worker/grad_sync.h"
#include "worker/model.h"
#include "worker/placement.h"

namespace polysweep {

// The factor of the scheduled learning rate the parameter `name` trains at
// under layer-wise decay `decay` (training.layer_lr_decay) in a model of
// `layers` layers: 1 for the top layer and the head, decay^(layers-1-i) for
// layer i, decay^layers for the embeddings.
double LayerLrScale(const std::string& name, int layers, double decay);

class DataParallelStep {
 public:
  // Builds the model with `params.seed` on every rank; Init() then copies
  // rank 0's weights to all ranks (dropout streams differ per rank
  // afterwards). Parameters frozen by `params` (freeze_embeddings,
  // freeze_layers) get no gradient, no optimizer state and no all-reduce.
  // With layer_lr_decay < 1 the optimizer has a parameter group per
  // learning-rate factor (LayerLrScale).
  DataParallelStep(const ModelShape& shape, const TrainingParams& params, Communicator* comm,
                   BucketOptions buckets = {}, Placement placement = {});
  // Refuses a placement this build does not compute with (before any
  // collective, so every rank refuses alike).
  Status Init();
  // One optimizer step on this rank's micro-batches (gradients accumulate
  // over them; any may be empty, e.g. on some ranks in the last step of an
  // epoch) at learning rate `lr`; returns the mean loss over all ranks'
  // examples (targets, for a per-token head). The update is that of one
  // batch holding all of them.
  StatusOr<double> Step(const std::vector<Batch>& micro_batches, double lr);
  StatusOr<double> Step(const Batch& batch, double lr);

  EncoderClassifier& model() { return model_; }
  torch::optim::AdamW& optimizer() { return *optimizer_; }
  GradientSync& sync() { return *sync_; }
  const Placement& placement() const { return placement_; }
  // Elements of the frozen parameters (no gradient, no update).
  int64_t frozen_numel() const { return frozen_numel_; }

 private:
  TrainingParams params_;
  Communicator* comm_;
  Placement placement_;
  int64_t frozen_numel_ = 0;
  EncoderClassifier model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<double> lr_scales_;  // of each of the optimizer's parameter groups
  std::unique_ptr<GradientSync> sync_;
};

}  // namespace polysweep
