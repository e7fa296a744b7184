#include "worker/placement.h"

namespace polysweep {

std::string Device::Name() const { return type == DeviceType::kCpu ? "cpu" : "cuda:" + std::to_string(index); }

const char* PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16Mixed: return "bf16-mixed";
    case Precision::kFp16Mixed: return "fp16-mixed";
  }
  return "?";
}

Status CheckSupported(const Placement& placement) {
  if (placement.device.type != DeviceType::kCpu) {
    return Status::Error("device " + placement.device.Name() + ": this worker trains on the CPU only (device cpu)");
  }
  if (placement.precision != Precision::kFp32) {
    return Status::Error(std::string("precision ") + PrecisionName(placement.precision) +
                         ": this worker trains in fp32 only (precision fp32)");
  }
  return Status::Ok();
}

}  // namespace polysweep
