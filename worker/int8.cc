#include "worker/int8.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>

namespace polysweep {

namespace {

// Calls the quantized operator `name` through the dispatcher, boxed: its
// packed-weights type is a TorchScript class LibTorch does not export.
c10::IValue CallQuantized(const char* name, torch::jit::Stack stack) {
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
  op.callBoxed(&stack);
  return stack.at(0);
}

}  // namespace

Status SelectInt8Engine() {
  const auto& engines = at::globalContext().supportedQEngines();
  for (at::QEngine e : {at::QEngine::ONEDNN, at::QEngine::FBGEMM, at::QEngine::QNNPACK}) {
    if (std::find(engines.begin(), engines.end(), e) != engines.end()) {
      at::globalContext().setQEngine(e);
      return Status::Ok();
    }
  }
  return Status::InvalidConfig("--quantize int8: this LibTorch was built without a quantized engine");
}

c10::IValue PackInt8Linear(const torch::Tensor& weight, const torch::Tensor& bias) {
  torch::NoGradGuard no_grad;
  const torch::Tensor w = weight.detach().to(torch::kFloat).contiguous();
  // Symmetric per output channel: each row's largest magnitude maps to 127.
  const torch::Tensor scales = (w.abs().amax(1) / 127.0).clamp_min(1e-12).to(torch::kDouble);
  const torch::Tensor zeros = torch::zeros({w.size(0)}, torch::kLong);
  const torch::Tensor q = at::quantize_per_channel(w, scales, zeros, 0, torch::kQInt8);
  return CallQuantized("quantized::linear_prepack", {q, c10::optional<at::Tensor>(bias.detach().contiguous())});
}

torch::Tensor LinearInt8(const torch::Tensor& x, const c10::IValue& packed) {
  const auto in = x.size(-1);
  auto shape = x.sizes().vec();
  torch::Tensor y = CallQuantized("quantized::linear_dynamic", {x.reshape({-1, in}).contiguous(), packed, false}).toTensor();
  shape.back() = y.size(-1);
  return y.view(shape);
}

}  // namespace polysweep
