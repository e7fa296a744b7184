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

ModelShape PackageShape(const ModelPackage& package) {
  const EncoderDims dims{package.vocab, package.layers, package.hidden, package.heads, package.ffn, package.max_length};
  auto task = ParseTaskKind(package.task);  // checked by the package's parser
  LoraSpec lora;
  if (package.lora_rank > 0) lora = LoraSpec{package.lora_rank, package.lora_alpha, package.lora_targets};
  return MakeModelShape(dims, task.ok() ? *task : TaskKind::kSequenceClassification,
                        static_cast<int>(package.labels.size()), 0, lora);
}

}  // namespace polysweep
