#include "worker/init_weights.h"

#include <torch/script.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "common/model_package.h"
#include "worker/hf_model.h"

namespace polysweep {
namespace {

bool Encoder(const std::string& name) {
  return name.rfind("head.", 0) != 0 && name.find("_lora.") == std::string::npos;
}

// A parameter name of PyTorch's nn.TransformerEncoder layout in polysweep's
// layout ("" when it has no counterpart). polysweep's own names map to
// themselves; a leading "model." (a wrapper) is dropped.
std::string Canonical(std::string name) {
  if (name.rfind("model.", 0) == 0) name = name.substr(6);
  static const std::regex layer(R"(^encoder\.layers\.(\d+)\.(.*)$)");
  std::smatch m;
  if (!std::regex_match(name, m, layer)) return name;
  const std::string prefix = "layers." + m[1].str() + ".", rest = m[2].str();
  static const std::map<std::string, std::string> kRenames = {
      {"self_attn.in_proj_weight", "qkv.weight"}, {"self_attn.in_proj_bias", "qkv.bias"},
      {"self_attn.out_proj.weight", "out.weight"}, {"self_attn.out_proj.bias", "out.bias"},
      {"linear1.weight", "ff1.weight"},           {"linear1.bias", "ff1.bias"},
      {"linear2.weight", "ff2.weight"},           {"linear2.bias", "ff2.bias"},
      {"norm1.weight", "norm1.weight"},           {"norm1.bias", "norm1.bias"},
      {"norm2.weight", "norm2.weight"},           {"norm2.bias", "norm2.bias"}};
  auto it = kRenames.find(rest);
  return it == kRenames.end() ? "" : prefix + it->second;
}

StatusOr<std::map<std::string, torch::Tensor>> FromModelDirectory(const std::string& dir, std::string* what) {
  auto package = LoadModelPackage(dir);
  if (!package.ok()) return package.status();
  EncoderClassifier source(PackageShape(*package));
  PS_RETURN_IF_ERROR(LoadModelWeights(source, dir + "/" + package->weights_file));
  if (package->lora_rank > 0) {
    return Status::Error(dir + ": its encoder was trained with LoRA adapters, which are not merged into it; "
                               "initialise from a model trained without lora");
  }
  *what = "model directory " + dir + (package->sweep.empty() ? "" : " (sweep " + package->sweep + " trial " +
                                                                     std::to_string(package->trial) + ")");
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : source->named_parameters()) out[item.key()] = item.value().detach();
  return out;
}

StatusOr<std::map<std::string, torch::Tensor>> FromTorchScript(const std::string& path, std::string* what) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const std::exception& e) {
    return Status::Error(path + ": not a TorchScript file LibTorch can load: " + std::string(e.what()).substr(0, 300));
  }
  *what = "TorchScript " + path;
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    const std::string name = Canonical(p.name);
    if (!name.empty()) out[name] = p.value.detach();
  }
  return out;
}

// A Hugging Face checkpoint: the model was built with its HfModelShape
// (trial setup), so every tensor lands on a parameter of its shape.
StatusOr<std::string> LoadHfEncoder(EncoderClassifier& model, const std::string& dir) {
  auto base = OpenHfCheckpoint(dir);
  if (!base.ok()) return Status::Error("model.init: " + base.status().message());
  PS_RETURN_IF_ERROR(LoadHfWeights(model, base->config, base->layout, base->weights));
  return std::to_string(HfWeightSources(base->config, base->layout).size()) + " tensors from Hugging Face " +
         HfFamilyName(base->config.family) + " checkpoint " + dir;
}

}  // namespace

StatusOr<std::string> LoadEncoderWeights(EncoderClassifier& model, const std::string& path) {
  if (IsHfModelDir(path)) return LoadHfEncoder(model, path);
  std::string what;
  std::error_code ec;
  StatusOr<std::map<std::string, torch::Tensor>> source = Status::Error("");
  if (std::filesystem::is_directory(path, ec)) {
    source = FromModelDirectory(path, &what);
  } else if (std::filesystem::is_regular_file(path, ec)) {
    source = FromTorchScript(path, &what);
  } else {
    return Status::Error("model.init: " + path + " does not exist");
  }
  if (!source.ok()) return Status::Error("model.init: " + source.status().message());
  torch::NoGradGuard no_grad;
  int copied = 0;
  std::string missing;
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (!Encoder(name)) continue;
    auto it = source->find(name);
    if (it == source->end()) {
      missing += (missing.empty() ? "" : ", ") + name;
      continue;
    }
    torch::Tensor from = it->second;
    torch::Tensor& to = item.value();
    // Longer position embeddings: the first max_length positions.
    if (name == "positions.weight" && from.dim() == 2 && from.size(0) > to.size(0) && from.size(1) == to.size(1)) {
      from = from.narrow(0, 0, to.size(0));
    }
    if (from.sizes() != to.sizes()) {
      std::ostringstream why;
      why << "model.init: " << what << ": " << name << " has shape " << from.sizes() << ", the configured model "
          << to.sizes() << " (model.layers, hidden, heads, ffn, max_length and the tokenizer's vocabulary must match)";
      return Status::Error(why.str());
    }
    to.copy_(from.to(to.dtype()));
    ++copied;
  }
  if (!missing.empty()) {
    return Status::Error("model.init: " + what + " lacks " + missing.substr(0, 400) +
                         " (names as polysweep's model or PyTorch's nn.TransformerEncoder)");
  }
  return std::to_string(copied) + " tensors from " + what;
}

}  // namespace polysweep
