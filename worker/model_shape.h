// The shape of the encoder classifier (worker/model.h) as plain data, and
// the one place it is assembled: from a trial's assignment (the trainer), an
// exported model directory (predict, model.init) or a benchmark's options,
// every caller gives the encoder's dimensions, the task, its classes, the
// dropout and the adapters to MakeModelShape. No LibTorch.
#pragma once

#include <string>

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

// The encoder's dimensions and what sits on them.
struct ModelShape : EncoderDims {
  int classes = 2;  // the head's outputs; masked_lm: ignored (the vocabulary)
  TaskKind task = TaskKind::kSequenceClassification;
  double dropout = 0.1;
  LoraSpec lora;
};

ModelShape MakeModelShape(const EncoderDims& dims, TaskKind task, int classes, double dropout,
                          const LoraSpec& lora = {});

// The architecture an exported model directory describes (no dropout).
ModelShape PackageShape(const ModelPackage& package);

}  // namespace polysweep
