// Data-parallel gradient averaging: every gradient is copied into one flat
// buffer, the buffer is all-reduced once, and the average is copied back.
// Ranks may hold different numbers of examples (the last step of an epoch is
// split as evenly as possible, some ranks may get none): each rank's mean
// gradient is weighted by its example count, so the result is the gradient of
// the mean loss over the union of the ranks' batches. Two extra slots carry
// the loss and the count.
// (Bucketed, overlapped all-reduce during the backward pass is the next step;
// it replaces this class behind the same two calls.)
#pragma once

#include <torch/torch.h>

#include <vector>

#include "common/status.h"
#include "worker/comm/communicator.h"

namespace polysweep {

class GradientSync {
 public:
  GradientSync(std::vector<torch::Tensor> params, Communicator* comm);
  // `local_loss` is this rank's mean loss over `local_count` examples (and its
  // gradients are those of that mean; any value when the count is 0). Makes
  // every gradient the union-batch gradient; returns the union mean loss.
  StatusOr<double> AllReduceAverage(double local_loss, int64_t local_count);
  // Copies rank 0's parameter values to every rank.
  Status BroadcastParameters();
  size_t numel() const { return numel_; }

 private:
  std::vector<torch::Tensor> params_;
  Communicator* comm_;
  size_t numel_ = 0;
  torch::Tensor flat_;
};

}  // namespace polysweep
