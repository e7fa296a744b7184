#include "worker/hf_model.h"

#include <sstream>

namespace polysweep {

namespace {

// One family's tensor names, relative to the encoder's prefix; a layer's
// contain "{i}".
struct FamilyNames {
  const char* word;
  const char* position;
  const char* type;  // nullptr: none
  const char* norm;
  const char* query;
  const char* key;
  const char* value;
  const char* out;
  const char* norm1;
  const char* ff1;
  const char* ff2;
  const char* norm2;
};

constexpr FamilyNames kBertNames = {
    "embeddings.word_embeddings", "embeddings.position_embeddings", "embeddings.token_type_embeddings",
    "embeddings.LayerNorm", "encoder.layer.{i}.attention.self.query", "encoder.layer.{i}.attention.self.key",
    "encoder.layer.{i}.attention.self.value", "encoder.layer.{i}.attention.output.dense",
    "encoder.layer.{i}.attention.output.LayerNorm", "encoder.layer.{i}.intermediate.dense",
    "encoder.layer.{i}.output.dense", "encoder.layer.{i}.output.LayerNorm"};

constexpr FamilyNames kDistilBertNames = {
    "embeddings.word_embeddings", "embeddings.position_embeddings", nullptr, "embeddings.LayerNorm",
    "transformer.layer.{i}.attention.q_lin", "transformer.layer.{i}.attention.k_lin",
    "transformer.layer.{i}.attention.v_lin", "transformer.layer.{i}.attention.out_lin",
    "transformer.layer.{i}.sa_layer_norm", "transformer.layer.{i}.ffn.lin1", "transformer.layer.{i}.ffn.lin2",
    "transformer.layer.{i}.output_layer_norm"};

const FamilyNames& NamesOf(HfFamily family) { return family == HfFamily::kDistilBert ? kDistilBertNames : kBertNames; }

std::string Layer(const char* pattern, int layer) {
  std::string s = pattern;
  const auto at = s.find("{i}");
  if (at != std::string::npos) s.replace(at, 3, std::to_string(layer));
  return s;
}

std::string Shape(torch::IntArrayRef shape) {
  std::ostringstream s;
  s << shape;
  return s.str();
}

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

// Views of the parameter's sources, checked against the shape the config
// gave the parameter (each a slice of it along the first dimension).
StatusOr<std::vector<torch::Tensor>> Sources(const HfWeightSource& source, const torch::Tensor& parameter,
                                             const SafetensorsCheckpoint& checkpoint) {
  std::vector<int64_t> part_shape = parameter.sizes().vec();
  part_shape[0] /= static_cast<int64_t>(source.tensors.size());
  std::vector<torch::Tensor> parts;
  for (const std::string& name : source.tensors) {
    const SafeTensor* t = checkpoint.Find(name);
    if (t == nullptr) {
      return Status::DataError(checkpoint.source() + ": tensor " + name + " is missing (polysweep's " +
                               source.parameter + ")");
    }
    if (t->shape != part_shape) {
      return Status::DataError(t->file + ": tensor " + name + " has shape " + Shape(t->shape) + ", config.json says " +
                               Shape(part_shape));
    }
    auto view = View(*t);
    if (!view.ok()) return view.status();
    parts.push_back(*view);
  }
  return parts;
}

}  // namespace

StatusOr<HfLayout> FindHfLayout(const HfModelConfig& config, const SafetensorsCheckpoint& checkpoint) {
  const std::string word = std::string(NamesOf(config.family).word) + ".weight";
  for (const char* prefix : {"", "bert.", "roberta.", "distilbert."}) {
    if (checkpoint.Find(prefix + word) == nullptr) continue;
    HfLayout layout{prefix, false};
    layout.pooler = config.family == HfFamily::kBert && checkpoint.Find(layout.prefix + "pooler.dense.weight") != nullptr;
    return layout;
  }
  return Status::DataError(checkpoint.source() + ": tensor " + word + " is missing (with or without a bert., roberta. "
                           "or distilbert. prefix): not a " + HfFamilyName(config.family) + " checkpoint");
}

ModelShape HfModelShape(const HfModelConfig& config, const HfLayout& layout, TaskKind task, int classes,
                        double dropout, const LoraSpec& lora) {
  const EncoderDims dims{config.vocab, config.layers, config.hidden, config.heads, config.ffn, config.max_length()};
  ModelShape shape = MakeModelShape(dims, task, classes, dropout < 0 ? config.hidden_dropout : dropout, lora);
  EncoderStyle& style = shape.style;
  style.type_vocab = config.type_vocab;
  style.norm_eps = config.layer_norm_eps;
  style.position_rows = config.max_positions;
  style.position_pad = config.padding_offset_positions() ? config.pad_token_id : -1;
  style.activation = config.activation;
  switch (config.family) {
    case HfFamily::kBert: style.pooling = layout.pooler ? Pooling::kBertPooler : Pooling::kRobertaHead; break;
    case HfFamily::kDistilBert: style.pooling = Pooling::kDistilBertHead; break;
    case HfFamily::kRoberta:
    case HfFamily::kXlmRoberta: style.pooling = Pooling::kRobertaHead; break;
  }
  return shape;
}

std::vector<HfWeightSource> HfWeightSources(const HfModelConfig& config, const HfLayout& layout) {
  const FamilyNames& n = NamesOf(config.family);
  const std::string& p = layout.prefix;
  std::vector<HfWeightSource> out;
  auto both = [&](const std::string& ours, std::vector<std::string> theirs) {
    for (const char* kind : {"weight", "bias"}) {
      HfWeightSource s{ours + "." + kind, {}};
      for (const std::string& t : theirs) s.tensors.push_back(p + t + "." + kind);
      out.push_back(std::move(s));
    }
  };
  out.push_back({"tokens.weight", {p + n.word + ".weight"}});
  out.push_back({"positions.weight", {p + n.position + ".weight"}});
  if (n.type != nullptr && config.type_vocab > 0) out.push_back({"types.weight", {p + n.type + ".weight"}});
  both("norm", {n.norm});
  for (int i = 0; i < config.layers; ++i) {
    const std::string ours = "layers." + std::to_string(i) + ".";
    both(ours + "qkv", {Layer(n.query, i), Layer(n.key, i), Layer(n.value, i)});
    both(ours + "out", {Layer(n.out, i)});
    both(ours + "norm1", {Layer(n.norm1, i)});
    both(ours + "ff1", {Layer(n.ff1, i)});
    both(ours + "ff2", {Layer(n.ff2, i)});
    both(ours + "norm2", {Layer(n.norm2, i)});
  }
  if (layout.pooler) both("head.dense", {"pooler.dense"});
  return out;
}

Status LoadHfWeights(EncoderClassifier& model, const HfModelConfig& config, const HfLayout& layout,
                     const SafetensorsCheckpoint& checkpoint) {
  auto params = model->named_parameters();
  // Every source is found and checked before any is copied; each is then
  // copied (and converted) straight from the mapping into its parameter.
  std::vector<std::pair<torch::Tensor, std::vector<torch::Tensor>>> copies;
  for (const HfWeightSource& source : HfWeightSources(config, layout)) {
    const torch::Tensor* parameter = params.find(source.parameter);
    if (parameter == nullptr) {
      if (source.parameter.rfind("head.", 0) == 0) continue;  // a head without a dense layer (token tasks)
      return Status::Internal("the model has no parameter " + source.parameter + " for " + source.tensors[0]);
    }
    auto parts = Sources(source, *parameter, checkpoint);
    if (!parts.ok()) return parts.status();
    copies.emplace_back(*parameter, std::move(*parts));
  }
  torch::NoGradGuard no_grad;
  for (auto& [parameter, parts] : copies) {
    const int64_t rows = parameter.size(0) / static_cast<int64_t>(parts.size());
    for (size_t k = 0; k < parts.size(); ++k) parameter.narrow(0, static_cast<int64_t>(k) * rows, rows).copy_(parts[k]);
  }
  return Status::Ok();
}

}  // namespace polysweep
