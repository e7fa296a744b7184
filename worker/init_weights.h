// Initialising a model's encoder from saved weights (config `model.init`):
// a polysweep model directory (a sweep's export, or `model.json` with its
// weights), or a TorchScript file (a user's exported model) whose parameters
// are named as polysweep's (tokens, positions, norm, layers.N.qkv, ...) or as
// PyTorch's nn.TransformerEncoder (encoder.layers.N.self_attn.in_proj_weight,
// linear1, ...). Every encoder tensor must be found with the same shape
// (position embeddings may be longer: the first max_length rows are taken);
// the classification head and LoRA adapters start fresh. A Hugging Face
// model directory (config.json) loads through worker/hf_model.h into a model
// built with its HfModelShape. Heavy header.
#pragma once

#include <string>

#include "common/status.h"
#include "worker/model.h"

namespace polysweep {

// Copies the encoder weights of `path` into `model`; returns what was loaded
// ("12 tensors from model directory DIR (sweep S trial T)").
StatusOr<std::string> LoadEncoderWeights(EncoderClassifier& model, const std::string& path);

}  // namespace polysweep
