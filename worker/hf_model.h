// A Hugging Face encoder checkpoint (BERT, multilingual BERT, DistilBERT,
// RoBERTa, XLM-R) as polysweep's encoder classifier: the shape its
// config.json decides (common/hf_config.h), and its safetensors weights
// (common/safetensors.h) copied into the model under polysweep's names.
// The encoder computes what the original computes (post-norm layers, the
// family's activation, epsilon and position scheme, token types); the task
// head starts fresh, except BERT's pooler, which the checkpoint has.
// Heavy header (LibTorch).
#pragma once

#include <string>
#include <vector>

#include "common/hf_config.h"
#include "common/safetensors.h"
#include "common/status.h"
#include "worker/model.h"

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

// The model shape of `config` with a `task` head of `classes` outputs.
// `dropout` < 0 takes the checkpoint's (its hidden dropout). A sequence head
// pools as the family's classifier does: BERT through its pooler when
// `layout` has one (else as RoBERTa), RoBERTa and XLM-R through a fresh
// dense + tanh, DistilBERT through a fresh dense + ReLU.
ModelShape HfModelShape(const HfModelConfig& config, const HfLayout& layout, TaskKind task, int classes,
                        double dropout, const LoraSpec& lora = {});

// One of the model's parameters and the checkpoint tensors it is made of
// (several for the fused query/key/value projection, stacked in order).
struct HfWeightSource {
  std::string parameter;             // e.g. layers.0.qkv.weight
  std::vector<std::string> tensors;  // e.g. bert.encoder.layer.0.attention.self.query.weight, ...
};

// Where each encoder parameter of `config`'s family comes from in a
// checkpoint of `layout` (BERT's pooler feeds head.dense when it has one).
std::vector<HfWeightSource> HfWeightSources(const HfModelConfig& config, const HfLayout& layout);

// Copies the checkpoint's encoder (and pooler) weights into `model`, built
// with HfModelShape(config, ...), converting F16 and BF16 to the model's
// dtype. A missing tensor, a shape other than the config's, or a dtype that
// is not a float is an error naming the file and the tensor; on error the
// model is left as it was built.
Status LoadHfWeights(EncoderClassifier& model, const HfModelConfig& config, const HfLayout& layout,
                     const SafetensorsCheckpoint& checkpoint);

}  // namespace polysweep
