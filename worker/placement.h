// Where a trial computes and in which number format: parameters of the
// data-parallel step and the evaluator, not of the code that calls them.
// CPU fp32 is one value among others; it is the only one this build computes
// with (the GPU and mixed-precision values are named so a config or a caller
// can ask for them and be refused clearly). Plain data; no LibTorch.
#pragma once

#include <string>

#include "common/status.h"

namespace polysweep {

enum class DeviceType { kCpu, kCuda };

struct Device {
  DeviceType type = DeviceType::kCpu;
  int index = 0;  // which GPU (kCuda)
  std::string Name() const;  // "cpu", "cuda:1"
};

enum class Precision {
  kFp32,       // parameters, activations and gradients in float32
  kBf16Mixed,  // float32 master weights, bfloat16 compute
  kFp16Mixed,  // float32 master weights, float16 compute with loss scaling
};
const char* PrecisionName(Precision precision);  // "fp32", "bf16-mixed", "fp16-mixed"

struct Placement {
  Device device;
  Precision precision = Precision::kFp32;
};

// Ok for what this build computes with (CPU, fp32); else an error naming
// the value asked for.
Status CheckSupported(const Placement& placement);

}  // namespace polysweep
