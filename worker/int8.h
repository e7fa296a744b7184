// Dynamic int8 quantization of linear layers for inference, on LibTorch's own
// quantized kernels: the weights quantized once (symmetric, per output
// channel) and packed; each call quantizes its activations per batch,
// multiplies in int8 and returns fp32, as PyTorch's quantize_dynamic does.
// Heavy header (LibTorch).
#pragma once

#include <torch/torch.h>

#include "common/status.h"

namespace polysweep {

// The narrowest layer worth quantizing, in input features. A quantized call
// costs about 1 ms whatever its size (oneDNN, one core): a 128 -> 384
// projection of 960 rows took 1.1 ms in int8 against 0.5 ms in fp32, a
// 768 -> 2304 one 8.1 ms against 14.4 ms. Narrower layers stay fp32.
constexpr int64_t kInt8MinInputs = 512;

// What --quantize asks of a loaded model.
struct QuantizeOptions {
  bool int8 = false;
  int64_t min_inputs = kInt8MinInputs;  // --int8-min-inputs: narrower layers stay fp32
};

// Chooses the quantized engine this LibTorch has (x86's oneDNN, then FBGEMM,
// then QNNPACK); an error when it has none.
Status SelectInt8Engine();

// `weight` [out, in] and `bias` [out] quantized and packed for LinearInt8.
c10::IValue PackInt8Linear(const torch::Tensor& weight, const torch::Tensor& bias);

// x [..., in] through the packed layer: [..., out], fp32.
torch::Tensor LinearInt8(const torch::Tensor& x, const c10::IValue& packed);

}  // namespace polysweep
