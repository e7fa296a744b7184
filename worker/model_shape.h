// The shape of the encoder classifier (worker/model.h) as plain data, and
// the one place it is assembled: from a trial's assignment (the trainer), an
// exported model directory (predict, model.init) or a benchmark's options,
// every caller gives the encoder's dimensions, the task, its classes, the
// dropout and the adapters to MakeModelShape. No LibTorch.
#pragma once

#include <string>

#include "common/hf_checkpoint.h"
#include "common/hf_config.h"
#include "common/model_package.h"
#include "common/tasks.h"

namespace polysweep {

// Low-rank adapters (LoRA): a linear layer's frozen weight W gains
// (alpha / rank) * B A, with A [rank, in] random and B [out, rank] zero, so
// training starts from the base model exactly and only A and B learn.
struct LoraSpec {
  int rank = 0;                       // 0: no adapters
  double alpha = 16;
  std::string targets = "attention";  // attention (qkv, out) | qkv | all (qkv, out, ff1, ff2)
  // Whether the layer's linear `name` (qkv, out, ff1, ff2) gets an adapter.
  bool Targets(const std::string& name) const;
};

// The encoder's dimensions: what model.json's "model" and a config's model
// section describe.
struct EncoderDims {
  int vocab = 8000;
  int layers = 2;
  int hidden = 128;
  int heads = 4;
  int ffn = 256;
  int max_length = 64;
};

// How a sequence head reduces the hidden states to one vector, and what it
// puts between that vector and the class projection, as each family's own
// classifier does:
//   kMean            the mean of the non-padding tokens (polysweep's encoder)
//   kBertPooler      the first token, dense + tanh (BERT's pooler, whose
//                    weights the checkpoint has), dropout
//   kRobertaHead     the first token, dropout, dense + tanh, dropout
//                    (RobertaClassificationHead; the dense starts fresh)
//   kDistilBertHead  the first token, dense + ReLU, dropout (DistilBERT's
//                    pre_classifier; starts fresh)
enum class Pooling { kMean, kBertPooler, kRobertaHead, kDistilBertHead };

// What a pretrained checkpoint's architecture fixes beyond its dimensions
// (worker/hf_model.h reads it from config.json). The defaults are
// polysweep's own encoder.
struct EncoderStyle {
  int type_vocab = 0;        // token-type embeddings (every token type 0); 0: none
  double norm_eps = 1e-5;    // every LayerNorm's epsilon
  int position_rows = 0;     // rows of the position table; 0: max_length
  // >= 0: RoBERTa's positions: a non-padding token's is position_pad + its
  // count among the non-padding tokens so far, padding's is position_pad.
  // < 0: 0, 1, 2, ...
  int position_pad = -1;
  Activation activation = Activation::kGelu;  // of the feed-forward layers
  Pooling pooling = Pooling::kMean;
};

// The encoder's dimensions and what sits on them.
struct ModelShape : EncoderDims {
  int classes = 2;  // the head's outputs; masked_lm: ignored (the vocabulary)
  TaskKind task = TaskKind::kSequenceClassification;
  double dropout = 0.1;
  LoraSpec lora;
  EncoderStyle style;
  // Token classification: rows of the word feature embedding
  // (common/word_features.h) the hashes are folded into; 0: none.
  int word_features = 0;
  // How many of each piece's hashes it reads, the first N: all of them, or
  // the word's own for a model exported before the context features.
  int word_feature_width = kWordFeatures;
  double word_dropout = 0;  // training only: the chance a piece's whole-word feature is left out
};

ModelShape MakeModelShape(const EncoderDims& dims, TaskKind task, int classes, double dropout,
                          const LoraSpec& lora = {});

// The model shape of `config` with a `task` head of `classes` outputs.
// `dropout` < 0 takes the checkpoint's (its hidden dropout). A sequence head
// pools as the family's classifier does: BERT through its pooler when
// `layout` has one (else as RoBERTa), RoBERTa and XLM-R through a fresh
// dense + tanh, DistilBERT through a fresh dense + ReLU.
ModelShape HfModelShape(const HfModelConfig& config, const HfLayout& layout, TaskKind task, int classes,
                        double dropout, const LoraSpec& lora = {});

// The architecture an exported model directory describes (no dropout); a
// model fine-tuned from a Hugging Face checkpoint has its base's.
ModelShape PackageShape(const ModelPackage& package);

}  // namespace polysweep
