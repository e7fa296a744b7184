// Dynamic int8 quantization of linear layers for inference, on LibTorch's own
// quantized kernels: the weights quantized once (symmetric, per output
// channel) and packed; each call quantizes its activations per batch,
// multiplies in int8 and returns fp32, as PyTorch's quantize_dynamic does.
// Heavy header (LibTorch).
#pragma once

#include <torch/torch.h>

#include "common/status.h"

namespace polysweep {

// Chooses the quantized engine this LibTorch has (x86's oneDNN, then FBGEMM,
// then QNNPACK); an error when it has none.
Status SelectInt8Engine();

// `weight` [out, in] and `bias` [out] quantized and packed for LinearInt8.
c10::IValue PackInt8Linear(const torch::Tensor& weight, const torch::Tensor& bias);

// x [..., in] through the packed layer: [..., out], fp32.
torch::Tensor LinearInt8(const torch::Tensor& x, const c10::IValue& packed);

}  // namespace polysweep
