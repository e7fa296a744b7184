#include "worker/grad_sync.h"

#include <chrono>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

namespace polysweep {
namespace {

// The head of the flat buffer: [loss sum, example count], padded to 64 bytes.
constexpr int64_t kHead = 16;

}  // namespace

GradientSync::GradientSync(std::vector<torch::Tensor> params, Communicator* comm, BucketOptions options)
    : all_params_(std::move(params)), comm_(comm), options_(options) {
  for (auto it = all_params_.rbegin(); it != all_params_.rend(); ++it) {
    if (it->requires_grad()) params_.push_back(*it);
  }
  const auto device = params_.empty() ? torch::Device(torch::kCPU) : params_.front().device();
  // Buckets: consecutive parameters of the reversed order, closed when the
  // next one would pass the cap (a parameter larger than the cap is a bucket
  // of its own).
  int64_t offset = kHead;
  Bucket current;
  current.offset = 0;
  for (const auto& p : params_) {
    const size_t cap = buckets_.empty() ? options_.first_bucket_bytes : options_.bucket_bytes;
    const int64_t n = p.numel();
    const int64_t bytes = (offset - current.offset + n) * static_cast<int64_t>(sizeof(float));
    if (current.params > 0 && static_cast<size_t>(bytes) > cap) {
      current.count = offset - current.offset;
      buckets_.push_back(current);
      current = Bucket{};
      current.offset = offset;
    }
    bucket_of_.push_back(buckets_.size());
    ++current.params;
    offset += n;
  }
  current.count = offset - current.offset;
  buckets_.push_back(current);
  numel_ = static_cast<size_t>(offset - kHead);
  flat_ = torch::zeros({offset}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  ready_.assign(params_.size(), 0);
  work_.resize(buckets_.size());

  // Gradients alias the flat buffer's storage (plain tensors, not autograd
  // views, so zero_grad and detach work on them as on any gradient).
  torch::NoGradGuard no_grad;
  offset = kHead;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    const torch::Tensor before = p.grad();
    AliasGradient(p, offset);
    if (before.defined()) p.mutable_grad().copy_(before);
    offset += p.numel();
    // The accumulator is kept alive here so the hook stays on it.
    auto accumulator = torch::autograd::impl::grad_accumulator(p);
    hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [this, i](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          OnGradientReady(i);
          return outputs;
        })));
    accumulators_.push_back(std::move(accumulator));
  }
}

void GradientSync::AliasGradient(torch::Tensor& param, int64_t offset) {
  auto grad = torch::empty({0}, flat_.options());
  grad.set_(flat_.storage(), offset, param.sizes(), param.contiguous().strides());
  param.mutable_grad() = grad;
}

GradientSync::~GradientSync() {
  for (auto& w : work_) {
    if (w) (void)w->Wait();
  }
  for (size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hook_keys_[i]);
}

void GradientSync::ZeroGrad(int64_t expected_examples) {
  expected_ = expected_examples;
  flat_.zero_();
  // A gradient someone replaced (set to none, a new tensor) is put back in the buffer.
  int64_t offset = kHead;
  for (auto& p : params_) {
    auto& g = p.mutable_grad();
    const bool aliased = g.defined() && g.data_ptr() == static_cast<void*>(flat_.data_ptr<float>() + offset) &&
                         g.sizes() == p.sizes();
    if (!aliased) AliasGradient(p, offset);
    offset += p.numel();
  }
}

void GradientSync::BeginBackward(double loss_sum, int64_t count, bool last) {
  torch::NoGradGuard no_grad;
  flat_.narrow(0, 0, 2).add_(torch::tensor({static_cast<float>(loss_sum), static_cast<float>(count)},
                                           flat_.options()));
  armed_ = last && options_.overlap;
  std::fill(ready_.begin(), ready_.end(), 0);
  for (auto& b : buckets_) b.pending = b.params;
  next_ = 0;
  started_in_backward_ = 0;
}

void GradientSync::OnGradientReady(size_t index) {
  if (!armed_ || ready_[index]) return;
  ready_[index] = 1;
  if (--buckets_[bucket_of_[index]].pending == 0) StartReadyBuckets();
}

void GradientSync::StartReadyBuckets() {
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) {
    StartBucket(next_++);
    ++started_in_backward_;
  }
}

void GradientSync::StartBucket(size_t b) {
  work_[b] = comm_->StartAllReduceSum(flat_.data_ptr<float>() + buckets_[b].offset,
                                      static_cast<size_t>(buckets_[b].count));
}

StatusOr<double> GradientSync::Finish() {
  torch::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  armed_ = false;
  // The buckets backward did not start go now, in order. The last of them
  // waits for the others and then runs as a blocking all-reduce, which the
  // communicator may run on this thread with no hand-off to its progress
  // thread (its collectives complete in order anyway, so nothing is lost).
  const size_t last_here = next_ < buckets_.size() ? buckets_.size() - 1 : buckets_.size();
  while (next_ < last_here) StartBucket(next_++);
  next_ = buckets_.size();
  Status failed;
  float loss_sum = 0, total = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    Status s;
    if (b == last_here) {
      if (!failed.ok()) continue;  // the communicator is broken: start nothing more
      s = comm_->AllReduceSum(flat_.data_ptr<float>() + buckets_[b].offset, static_cast<size_t>(buckets_[b].count));
    } else {
      s = work_[b]->Wait();
      work_[b].reset();
    }
    if (!s.ok() && failed.ok()) failed = s;
    if (!failed.ok()) continue;  // wait for the rest: their buffers are ours
    if (b == 0) {
      auto head = flat_.narrow(0, 0, 2).to(torch::kCPU);
      loss_sum = head[0].item<float>();
      total = head[1].item<float>();
    }
    // Gradients are of sum * loss_scale(); when the union held other than the
    // expected count, each bucket is rescaled while later ones are in flight.
    const double factor = total > 0 ? 1.0 / (loss_scale() * total) : 1.0;
    const int64_t begin = b == 0 ? kHead : buckets_[b].offset;
    const int64_t end = buckets_[b].offset + buckets_[b].count;
    if (factor != 1.0 && end > begin) flat_.narrow(0, begin, end - begin).mul_(factor);
  }
  finish_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!failed.ok()) return failed;
  return total > 0 ? static_cast<double>(loss_sum / total) : 0.0;
}

Status GradientSync::BroadcastParameters() {
  torch::NoGradGuard no_grad;
  for (auto& p : all_params_) {
    auto c = p.contiguous();
    PS_RETURN_IF_ERROR(comm_->Broadcast(c.data_ptr(), static_cast<size_t>(c.nbytes()), 0));
    if (!c.is_same(p)) p.copy_(c);
  }
  return Status::Ok();
}

}  // namespace polysweep
