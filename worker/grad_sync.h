// Data-parallel gradient averaging: every gradient is copied into one flat
// buffer, the buffer is all-reduced once, and the average is copied back.
// One extra slot carries the rank's loss, so the mean loss comes for free.
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
  // Makes every parameter's gradient the average over ranks; returns the mean
  // of `local_loss` over ranks.
  StatusOr<double> AllReduceAverage(double local_loss);
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
