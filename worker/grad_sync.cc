#include "worker/grad_sync.h"

namespace polysweep {

GradientSync::GradientSync(std::vector<torch::Tensor> params, Communicator* comm)
    : params_(std::move(params)), comm_(comm) {
  for (const auto& p : params_) numel_ += static_cast<size_t>(p.numel());
  flat_ = torch::zeros({static_cast<int64_t>(numel_ + 2)}, torch::kFloat32);
}

StatusOr<double> GradientSync::AllReduceAverage(double local_loss, int64_t local_count) {
  torch::NoGradGuard no_grad;
  const float weight = static_cast<float>(local_count);
  int64_t offset = 0;
  for (auto& p : params_) {
    const int64_t n = p.numel();
    auto slot = flat_.narrow(0, offset, n);
    if (p.grad().defined() && local_count > 0) torch::mul_out(slot, p.grad().reshape({-1}), weight);
    else slot.zero_();
    offset += n;
  }
  float* extra = flat_.data_ptr<float>() + offset;
  extra[0] = local_count > 0 ? static_cast<float>(local_loss) * weight : 0.f;
  extra[1] = weight;
  if (comm_->size() > 1) PS_RETURN_IF_ERROR(comm_->AllReduceSum(flat_.data_ptr<float>(), numel_ + 2));
  const float total = extra[1];
  if (total > 0) flat_.narrow(0, 0, offset).div_(total);
  offset = 0;
  for (auto& p : params_) {
    const int64_t n = p.numel();
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    p.grad().copy_(flat_.narrow(0, offset, n).view_as(p));
    offset += n;
  }
  return total > 0 ? static_cast<double>(extra[0] / total) : 0.0;
}

Status GradientSync::BroadcastParameters() {
  torch::NoGradGuard no_grad;
  for (auto& p : params_) {
    auto c = p.contiguous();
    PS_RETURN_IF_ERROR(comm_->Broadcast(c.data_ptr(), static_cast<size_t>(c.nbytes()), 0));
    if (!c.is_same(p)) p.copy_(c);
  }
  return Status::Ok();
}

}  // namespace polysweep
