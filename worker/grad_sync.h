// Data-parallel gradient averaging with bucketed, overlapped all-reduce.
//
// Every gradient is a view into one flat buffer (no pack/unpack copies):
// autograd accumulates straight into it. The buffer is split into buckets of
// consecutive parameters, laid out in reverse order of the model's parameters
// because that is roughly the order backward produces their gradients; the
// first bucket is small so communication starts early. A post-hook on each
// parameter's gradient accumulator counts down its bucket, and a bucket whose
// gradients are all ready starts its all-reduce on the communicator (whose
// backend progresses it on its own thread) while backward goes on. Buckets
// start strictly in order, so every rank issues the same collectives in the
// same order whatever order its gradients arrive in; Finish() starts those not
// started yet (parameters without a gradient this step, or a rank with no
// examples) and waits.
//
// Ranks may hold different numbers of examples (the last step of an epoch,
// some ranks none): the backward runs on each rank's loss sum times
// loss_scale() (1 / the union's expected example count), the first bucket
// carries the loss sum and the example count, and when the union's count is
// not the expected one Finish() rescales, so the result is always the
// gradient of the mean loss over the union of the ranks' batches (and in the
// common case no pass over the gradients is spent on it). Micro-batches
// accumulate the same way: the backwards before the last do not communicate.
// Heavy header (LibTorch): include it only where the model is used.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "common/status.h"
#include "worker/comm/communicator.h"

namespace torch::autograd {
struct Node;
}

namespace polysweep {

struct BucketOptions {
  size_t bucket_bytes = 25u << 20;       // like PyTorch DDP's bucket_cap_mb
  size_t first_bucket_bytes = 1u << 20;  // the first bucket starts communication early
  bool overlap = true;                   // false: every bucket starts after backward
};

class GradientSync {
 public:
  // Parameters that do not require a gradient (frozen) take no part.
  GradientSync(std::vector<torch::Tensor> params, Communicator* comm, BucketOptions options = {});
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Zeroes every gradient (one fill of the flat buffer); call before the
  // first micro-batch of an optimizer step. `expected_examples`: the union's
  // example count this step when every rank's batches are full (0: unknown).
  void ZeroGrad(int64_t expected_examples = 0);
  // What each rank's loss sum is multiplied by before its backward.
  double loss_scale() const { return expected_ > 0 ? 1.0 / static_cast<double>(expected_) : 1.0; }
  // Call before the backward of a micro-batch of `count` examples whose loss
  // sum over them is `loss_sum` (backward runs on loss_sum * loss_scale()). `last`: the last
  // micro-batch before the optimizer step; its backward starts the buckets.
  void BeginBackward(double loss_sum, int64_t count, bool last);
  // After the last backward: starts the buckets not started yet, waits for
  // all, and makes every gradient the union-batch mean gradient. Returns the
  // union's mean loss (0 when no rank had an example).
  StatusOr<double> Finish();
  // Copies rank 0's parameter values to every rank.
  Status BroadcastParameters();

  size_t numel() const { return numel_; }
  size_t buckets() const { return buckets_.size(); }
  // Buckets whose all-reduce started during the last backward (overlapped).
  size_t started_in_backward() const { return started_in_backward_; }
  // Seconds spent in Finish() so far: the communication backward did not hide.
  double finish_seconds() const { return finish_seconds_; }

 private:
  struct Bucket {
    int64_t offset = 0;  // in floats, into flat_
    int64_t count = 0;
    int params = 0;      // parameters in it
    int pending = 0;     // not yet ready this backward
  };
  // Makes `param`'s gradient the flat buffer's floats from `offset`.
  void AliasGradient(torch::Tensor& param, int64_t offset);
  void OnGradientReady(size_t index);
  void StartReadyBuckets();
  void StartBucket(size_t b);

  std::vector<torch::Tensor> all_params_;  // as given: broadcast at the start
  std::vector<torch::Tensor> params_;      // in layout order (reversed), trainable only
  Communicator* comm_;
  BucketOptions options_;
  torch::Tensor flat_;
  size_t numel_ = 0;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;  // per parameter
  std::vector<char> ready_;        // per parameter, this backward
  std::vector<std::unique_ptr<CommWork>> work_;
  size_t next_ = 0;                // next bucket to start
  int64_t expected_ = 0;
  bool armed_ = false;
  size_t started_in_backward_ = 0;
  double finish_seconds_ = 0;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> hook_keys_;
};

}  // namespace polysweep
