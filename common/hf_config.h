// A Hugging Face model directory's config.json, for the encoder families
// polysweep fine-tunes: BERT (and multilingual BERT), DistilBERT, RoBERTa
// and XLM-R. The checkpoint decides the architecture: dimensions, the
// activation, the layer-norm epsilon, the position scheme, the token-type
// vocabulary and dropout are read here, and anything this reader does not
// know how to compute exactly is refused naming the file and the key.
// Plain data; no LibTorch.
#pragma once

#include <string>

#include "common/status.h"

namespace polysweep {

enum class HfFamily { kBert, kDistilBert, kRoberta, kXlmRoberta };
const char* HfFamilyName(HfFamily family);  // its model_type: "bert", "distilbert", ...

// The feed-forward activation (config.json's hidden_act / activation).
enum class Activation { kGelu, kGeluTanh, kRelu };

struct HfModelConfig {
  std::string path;  // the config.json it came from
  HfFamily family = HfFamily::kBert;
  int vocab = 0;
  int layers = 0;
  int hidden = 0;
  int heads = 0;
  int ffn = 0;                // intermediate_size (DistilBERT: hidden_dim)
  int max_positions = 0;      // max_position_embeddings
  int type_vocab = 0;         // type_vocab_size; 0 for DistilBERT (no token types)
  int pad_token_id = 0;
  Activation activation = Activation::kGelu;
  double layer_norm_eps = 1e-12;
  double hidden_dropout = 0.1;
  double attention_dropout = 0.1;
  double classifier_dropout = -1;  // < 0: unset (the family's default: hidden_dropout, DistilBERT seq_classif_dropout)
  // RoBERTa and XLM-R number positions from pad_token_id + 1 and count only
  // tokens that are not padding; the others from 0.
  bool padding_offset_positions() const { return family == HfFamily::kRoberta || family == HfFamily::kXlmRoberta; }
  // The longest input the position table allows.
  int max_length() const { return padding_offset_positions() ? max_positions - pad_token_id - 1 : max_positions; }
};

// True when `dir` holds a config.json (a Hugging Face model directory).
bool IsHfModelDir(const std::string& dir);

// Reads DIR/config.json. Refuses, naming the file and key, a model_type
// outside the four families, a missing or out-of-range dimension, hidden
// not divisible by heads, and an activation or position scheme it cannot
// compute.
StatusOr<HfModelConfig> ReadHfModelConfig(const std::string& dir);
// The same, of a config.json at `path` (an exported model keeps its base's
// as hf_config.json).
StatusOr<HfModelConfig> ReadHfModelConfigFile(const std::string& path);

}  // namespace polysweep
