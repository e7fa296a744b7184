#include "worker/model_shape.h"

namespace polysweep {

bool LoraSpec::Targets(const std::string& name) const {
  if (rank <= 0) return false;
  if (targets == "all") return true;
  if (targets == "qkv") return name == "qkv";
  return name == "qkv" || name == "out";
}

ModelShape MakeModelShape(const EncoderDims& dims, TaskKind task, int classes, double dropout, const LoraSpec& lora) {
  ModelShape shape;
  static_cast<EncoderDims&>(shape) = dims;
  shape.classes = classes;
  shape.task = task;
  shape.dropout = dropout;
  shape.lora = lora;
  return shape;
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

ModelShape PackageShape(const ModelPackage& package) {
  const EncoderDims dims{package.vocab, package.layers, package.hidden, package.heads, package.ffn, package.max_length};
  auto task = ParseTaskKind(package.task);  // checked by the package's parser
  LoraSpec lora;
  if (package.lora_rank > 0) lora = LoraSpec{package.lora_rank, package.lora_alpha, package.lora_targets};
  const TaskKind kind = task.ok() ? *task : TaskKind::kSequenceClassification;
  const int classes = static_cast<int>(package.labels.size());
  ModelShape shape = package.hf ? HfModelShape(*package.hf, HfLayout{"", package.hf_pooler}, kind, classes, 0, lora)
                                : MakeModelShape(dims, kind, classes, 0, lora);
  shape.word_features = package.word_features;
  shape.word_feature_width = package.word_feature_width;
  return shape;
}

}  // namespace polysweep
