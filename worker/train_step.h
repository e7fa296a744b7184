// One data-parallel training step: forward, backward, gradient all-reduce,
// clipping, AdamW update. Every rank holds the same weights before and after.
// Heavy header (LibTorch).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "common/hparams.h"
#include "common/status.h"
#include "common/shard_set.h"
#include "worker/grad_sync.h"
#include "worker/model.h"

namespace polysweep {

struct Batch {
  torch::Tensor ids;     // [batch, length] int64, padded to the longest example
  torch::Tensor pad;     // [batch, length] bool
  torch::Tensor labels;  // the head's targets: [batch] int64, or [batch, length] for per-token tasks
  std::vector<int32_t> langs;
};

// Builds a batch of `indices` from `source`, keeping at most `max_length`
// tokens of each and padding to the longest example of the batch only.
Batch MakeBatch(const ExampleSource& source, const std::vector<int64_t>& indices, int pad_id, int max_length);

class DataParallelStep {
 public:
  // Builds the model with `params.seed` on every rank; Init() then copies
  // rank 0's weights to all ranks (dropout streams differ per rank
  // afterwards). Parameters frozen by `params` (freeze_embeddings,
  // freeze_layers) get no gradient, no optimizer state and no all-reduce.
  DataParallelStep(const ModelShape& shape, const TrainingParams& params, Communicator* comm,
                   BucketOptions buckets = {});
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
  // Elements of the frozen parameters (no gradient, no update).
  int64_t frozen_numel() const { return frozen_numel_; }

 private:
  TrainingParams params_;
  Communicator* comm_;
  int64_t frozen_numel_ = 0;
  EncoderClassifier model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<GradientSync> sync_;
};

}  // namespace polysweep
