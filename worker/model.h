// The transformer-encoder text model: token + position embeddings (and
// token types, for checkpoints that have them; and the sum of a word's
// hashed features, for taggers with model.word_features), a stack
// of post-norm encoder layers (fused query/key/value projection, multi-head
// self-attention with the padding as an additive mask, GELU feed-forward),
// and a task head (worker/heads.h: sequence classification by mean pooling
// and a linear layer, token classification, or masked-language modelling). The
// same architecture as PyTorch's nn.TransformerEncoderLayer (post-norm,
// GELU), written out because LibTorch's C++ layer also computes and averages
// the attention weights it returns, which costs a training step about 40%.
// The shape is plain data (worker/model_shape.h); its EncoderStyle makes
// the same module compute what a BERT, DistilBERT, RoBERTa or XLM-R
// checkpoint computes (worker/hf_model.h). Heavy header (LibTorch):
// include it only where the model is used.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>

#include "common/status.h"
#include "worker/heads.h"
#include "worker/model_shape.h"

namespace polysweep {

class LoraAdapterImpl : public torch::nn::Module {
 public:
  LoraAdapterImpl(int in, int out, int rank, double alpha);
  // The low-rank update of x: (alpha / rank) * x A^T B^T.
  torch::Tensor forward(const torch::Tensor& x);
  // The update as a weight: (alpha / rank) * B A, [out, in].
  torch::Tensor Delta() const;
  // Frees A and B (once folded into an int8 weight).
  void Release();

 private:
  torch::Tensor a_, b_;
  double scale_;
};
TORCH_MODULE(LoraAdapter);

class EncoderLayerImpl : public torch::nn::Module {
 public:
  EncoderLayerImpl(int hidden, int heads, int ffn, double dropout, const LoraSpec& lora = {},
                   const EncoderStyle& style = {});
  // x: [batch, length, hidden]; mask: [batch * heads, 1, length] additive
  // (a large negative number at padding), or undefined for none.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);
  // From now on the projections of `min_inputs` inputs or more run in
  // int8 (worker/int8.h), each with its LoRA adapter folded in; their fp32
  // weights are freed. For inference only: nothing trains them, and saving
  // the model saves no weights for them. Returns how many it quantized.
  int QuantizeInt8(int64_t min_inputs);

 private:
  int heads_;
  double dropout_;
  Activation activation_;
  torch::nn::Linear qkv_{nullptr}, out_{nullptr}, ff1_{nullptr}, ff2_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  LoraAdapter qkv_lora_{nullptr}, out_lora_{nullptr}, ff1_lora_{nullptr}, ff2_lora_{nullptr};
  std::array<c10::IValue, 4> int8_;  // qkv, out, ff1, ff2 packed for int8; None until QuantizeInt8
};
TORCH_MODULE(EncoderLayer);

class EncoderClassifierImpl : public torch::nn::Module {
 public:
  explicit EncoderClassifierImpl(const ModelShape& shape);
  // ids: [batch, length] int64; pad: [batch, length] bool, true at padding;
  // types: [batch, length] int64 token types of text pairs, or undefined
  // (all 0; also what a model without two token types reads).
  // features: [batch, length, kWordFeatures] int64 word feature hashes
  // (worker/batching.h), which a model with shape().word_features needs and
  // others ignore.
  // Returns the head's logits: [batch, classes] for sequence classification,
  // [batch, length, classes or vocab] for the per-token tasks.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& types = {},
                        const torch::Tensor& features = {});
  // The encoder's hidden states [batch, length, hidden].
  torch::Tensor Encode(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& types = {},
                       const torch::Tensor& features = {});
  // The head's logits of the scored targets only, for training and
  // evaluation: a per-token head sees just the positions whose target is not
  // kIgnoreTarget (a masked-LM's vocabulary projection then costs the masked
  // share of the tokens, not all of them).
  struct Scored {
    torch::Tensor logits;   // [n, classes]
    torch::Tensor targets;  // [n]
    torch::Tensor index;    // per-token heads: each row's flat position in [batch * length]
  };
  Scored ForwardScored(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& targets,
                       const torch::Tensor& types = {}, const torch::Tensor& features = {});
  const ModelShape& shape() const { return shape_; }
  TaskHeadImpl& head() { return *head_; }
  // Dynamic int8 quantization of the encoder layers' linear layers of
  // `min_inputs` inputs or more (worker/int8.h: narrower ones lose), for inference (`--quantize int8`); the
  // embeddings and the head stay fp32. Puts the model in eval mode. Returns
  // how many linear layers it quantized (of four per encoder layer).
  StatusOr<int> QuantizeInt8(int64_t min_inputs);

 private:
  // The word feature embedding's rows of `features` [batch, length, k]
  // (word dropout applied in training).
  torch::Tensor WordFeatureRows(const torch::Tensor& features);

  ModelShape shape_;
  torch::nn::Embedding tokens_{nullptr};
  torch::nn::Embedding positions_{nullptr};
  torch::nn::Embedding types_{nullptr};  // style.type_vocab > 0 only
  torch::nn::Embedding word_features_{nullptr};  // shape.word_features > 0 only: row 0 is "no feature"
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  TaskHead head_;
};
TORCH_MODULE(EncoderClassifier);

// Loads weights saved with torch::save into `model`, which must have been
// built with the same architecture: a tensor of another shape is an error
// naming it (LibTorch itself would take the saved shape).
Status LoadModelWeights(EncoderClassifier& model, const std::string& path);

}  // namespace polysweep
