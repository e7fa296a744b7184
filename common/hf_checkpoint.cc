#include "common/hf_checkpoint.h"

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

std::string Shape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool IsFloat(SafeDType d) {
  return d == SafeDType::kF32 || d == SafeDType::kF16 || d == SafeDType::kBF16 || d == SafeDType::kF64;
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

std::vector<HfWeightSource> HfWeightSources(const HfModelConfig& c, const HfLayout& layout) {
  const FamilyNames& n = NamesOf(c.family);
  const std::string& p = layout.prefix;
  const int64_t h = c.hidden;
  std::vector<HfWeightSource> out;
  // A linear layer (or, with `rows` < 0, a LayerNorm) and its bias.
  auto both = [&](const std::string& ours, std::vector<std::string> theirs, int64_t rows, int64_t columns) {
    HfWeightSource weight{ours + ".weight", {}, rows < 0 ? std::vector<int64_t>{h} : std::vector<int64_t>{rows, columns}};
    HfWeightSource bias{ours + ".bias", {}, {rows < 0 ? h : rows}};
    for (const std::string& t : theirs) {
      weight.tensors.push_back(p + t + ".weight");
      bias.tensors.push_back(p + t + ".bias");
    }
    out.push_back(std::move(weight));
    out.push_back(std::move(bias));
  };
  out.push_back({"tokens.weight", {p + n.word + ".weight"}, {c.vocab, h}});
  out.push_back({"positions.weight", {p + n.position + ".weight"}, {c.max_positions, h}});
  if (n.type != nullptr && c.type_vocab > 0) out.push_back({"types.weight", {p + n.type + ".weight"}, {c.type_vocab, h}});
  both("norm", {n.norm}, -1, 0);
  for (int i = 0; i < c.layers; ++i) {
    const std::string ours = "layers." + std::to_string(i) + ".";
    both(ours + "qkv", {Layer(n.query, i), Layer(n.key, i), Layer(n.value, i)}, h, h);
    both(ours + "out", {Layer(n.out, i)}, h, h);
    both(ours + "norm1", {Layer(n.norm1, i)}, -1, 0);
    both(ours + "ff1", {Layer(n.ff1, i)}, c.ffn, h);
    both(ours + "ff2", {Layer(n.ff2, i)}, h, c.ffn);
    both(ours + "norm2", {Layer(n.norm2, i)}, -1, 0);
  }
  if (layout.pooler) both("head.dense", {"pooler.dense"}, h, h);
  return out;
}

StatusOr<HfCheckpoint> OpenHfCheckpoint(const std::string& dir) {
  auto config = ReadHfModelConfig(dir);
  if (!config.ok()) return config.status();
  auto weights = SafetensorsCheckpoint::Open(dir);
  if (!weights.ok()) return weights.status();
  auto layout = FindHfLayout(*config, *weights);
  if (!layout.ok()) return layout.status();
  return HfCheckpoint{std::move(*config), std::move(*weights), std::move(*layout)};
}

Status CheckHfCheckpoint(const HfModelConfig& config, const HfLayout& layout, const SafetensorsCheckpoint& checkpoint) {
  for (const HfWeightSource& source : HfWeightSources(config, layout)) {
    for (const std::string& name : source.tensors) {
      const SafeTensor* t = checkpoint.Find(name);
      if (t == nullptr) {
        return Status::DataError(checkpoint.source() + ": tensor " + name + " is missing (polysweep's " +
                                 source.parameter + ")");
      }
      if (t->shape != source.part_shape) {
        return Status::DataError(t->file + ": tensor " + name + " has shape " + Shape(t->shape) +
                                 ", config.json says " + Shape(source.part_shape));
      }
      if (!IsFloat(t->dtype)) {
        return Status::DataError(t->file + ": tensor " + name + " is " + SafeDTypeName(t->dtype) +
                                 ", not a floating-point type");
      }
    }
  }
  return Status::Ok();
}

}  // namespace polysweep
