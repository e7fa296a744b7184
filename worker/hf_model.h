// A Hugging Face encoder checkpoint (BERT, multilingual BERT, DistilBERT,
// RoBERTa, XLM-R) as polysweep's encoder classifier: the shape its
// config.json decides (common/hf_config.h), and its safetensors weights
// (common/safetensors.h) copied into the model under polysweep's names
// (common/hf_checkpoint.h says which tensor feeds which parameter).
// The encoder computes what the original computes (post-norm layers, the
// family's activation, epsilon and position scheme, token types); the task
// head starts fresh, except BERT's pooler, which the checkpoint has.
// Heavy header (LibTorch).
#pragma once

#include <string>
#include <vector>

#include "common/hf_checkpoint.h"
#include "common/hf_config.h"
#include "common/safetensors.h"
#include "common/status.h"
#include "worker/model.h"

namespace polysweep {

// Copies the checkpoint's encoder (and pooler) weights into `model`, built
// with HfModelShape(config, layout, ...), converting F16 and BF16 to the
// model's dtype. The checkpoint is checked first (CheckHfCheckpoint: a
// missing tensor, a shape other than the config's, a dtype that is not a
// float is an error naming the file and the tensor), so on error the model
// is left as it was built.
Status LoadHfWeights(EncoderClassifier& model, const HfModelConfig& config, const HfLayout& layout,
                     const SafetensorsCheckpoint& checkpoint);

}  // namespace polysweep
