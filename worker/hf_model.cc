#include "worker/hf_model.h"

namespace polysweep {

namespace {

// A view of the checkpoint tensor's bytes (valid while the checkpoint is
// open), or an error when it is not a floating-point type.
StatusOr<torch::Tensor> View(const SafeTensor& t) {
  torch::Dtype dtype;
  switch (t.dtype) {
    case SafeDType::kF32: dtype = torch::kFloat32; break;
    case SafeDType::kF16: dtype = torch::kFloat16; break;
    case SafeDType::kBF16: dtype = torch::kBFloat16; break;
    case SafeDType::kF64: dtype = torch::kFloat64; break;
    default:
      return Status::DataError(t.file + ": tensor " + t.name + " is " + SafeDTypeName(t.dtype) +
                               ", not a floating-point type");
  }
  return torch::from_blob(const_cast<uint8_t*>(t.data), t.shape, torch::TensorOptions().dtype(dtype));
}

}  // namespace

Status LoadHfWeights(EncoderClassifier& model, const HfModelConfig& config, const HfLayout& layout,
                     const SafetensorsCheckpoint& checkpoint) {
  PS_RETURN_IF_ERROR(CheckHfCheckpoint(config, layout, checkpoint));
  auto params = model->named_parameters();
  std::vector<std::pair<torch::Tensor, std::vector<torch::Tensor>>> copies;
  for (const HfWeightSource& source : HfWeightSources(config, layout)) {
    const torch::Tensor* parameter = params.find(source.parameter);
    if (parameter == nullptr) {
      if (source.parameter.rfind("head.", 0) == 0) continue;  // a head without a dense layer (token tasks)
      return Status::Internal("the model has no parameter " + source.parameter + " for " + source.tensors[0]);
    }
    std::vector<int64_t> whole = source.part_shape;
    whole[0] *= static_cast<int64_t>(source.tensors.size());
    if (parameter->sizes().vec() != whole) {
      return Status::Internal(source.parameter + ": the model was not built with HfModelShape of " + config.path);
    }
    std::vector<torch::Tensor> parts;
    for (const std::string& name : source.tensors) {
      auto view = View(*checkpoint.Find(name));
      if (!view.ok()) return view.status();
      parts.push_back(*view);
    }
    copies.emplace_back(*parameter, std::move(parts));
  }
  // Each part is copied (and converted) straight from the mapping into its
  // slice of the parameter.
  torch::NoGradGuard no_grad;
  for (auto& [parameter, parts] : copies) {
    const int64_t rows = parameter.size(0) / static_cast<int64_t>(parts.size());
    for (size_t k = 0; k < parts.size(); ++k) parameter.narrow(0, static_cast<int64_t>(k) * rows, rows).copy_(parts[k]);
  }
  return Status::Ok();
}

}  // namespace polysweep
