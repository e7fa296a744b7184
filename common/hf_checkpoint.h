// Where polysweep's encoder parameters come from in a Hugging Face
// checkpoint (common/hf_config.h's families, common/safetensors.h's files):
// each parameter's name, the checkpoint tensors it is made of and the shape
// the config gives each. Plain data, so a sweep checks a checkpoint's every
// tensor before any trial starts (CheckHfCheckpoint); worker/hf_model.h
// copies them into the model by the same table. No LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/hf_config.h"
#include "common/safetensors.h"
#include "common/status.h"

namespace polysweep {

// How a checkpoint names its tensors: the prefix its encoder's names start
// with ("bert.", "roberta.", "distilbert." when saved with a task head; ""
// when saved as the bare encoder), and whether it has BERT's pooler.
struct HfLayout {
  std::string prefix;
  bool pooler = false;
};
// Errors when no prefix finds the family's word embeddings.
StatusOr<HfLayout> FindHfLayout(const HfModelConfig& config, const SafetensorsCheckpoint& checkpoint);

// One of the model's parameters and the checkpoint tensors it is made of
// (several for the fused query/key/value projection, stacked along the
// first dimension in order), each of shape `part_shape`.
struct HfWeightSource {
  std::string parameter;             // e.g. layers.0.qkv.weight
  std::vector<std::string> tensors;  // e.g. bert.encoder.layer.0.attention.self.query.weight, ...
  std::vector<int64_t> part_shape;   // what config.json implies for each
};

// Where each encoder parameter of `config`'s family comes from in a
// checkpoint of `layout` (BERT's pooler feeds head.dense when it has one).
std::vector<HfWeightSource> HfWeightSources(const HfModelConfig& config, const HfLayout& layout);

// A Hugging Face model directory opened: its config.json, its weights
// (mapped) and how they are named.
struct HfCheckpoint {
  HfModelConfig config;
  SafetensorsCheckpoint weights;
  HfLayout layout;
};
// Reads DIR/config.json, maps its weights and finds their layout; errors
// name the file (and the tensor or key). Checks no tensor: CheckHfCheckpoint.
StatusOr<HfCheckpoint> OpenHfCheckpoint(const std::string& dir);

// Every source tensor is present, of the shape config.json implies and a
// floating-point type; else an error naming the file and the tensor.
Status CheckHfCheckpoint(const HfModelConfig& config, const HfLayout& layout, const SafetensorsCheckpoint& checkpoint);

}  // namespace polysweep
