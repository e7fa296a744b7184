// The transformer-encoder text classifier: token + position embeddings, a
// stack of post-norm encoder layers (fused query/key/value projection,
// multi-head self-attention with the padding as an additive mask, GELU
// feed-forward), mean pooling over non-padding tokens, a linear head. The
// same architecture as PyTorch's nn.TransformerEncoderLayer (post-norm,
// GELU), written out because LibTorch's C++ layer also computes and averages
// the attention weights it returns, which costs a training step about 40%.
// Heavy header (LibTorch): include it only where the model is used.
#pragma once

#include <torch/torch.h>

namespace polysweep {

struct ModelShape {
  int vocab = 8000;
  int classes = 2;
  int layers = 2;
  int hidden = 128;
  int heads = 4;
  int ffn = 256;
  int max_length = 64;
  double dropout = 0.1;
};

class EncoderLayerImpl : public torch::nn::Module {
 public:
  EncoderLayerImpl(int hidden, int heads, int ffn, double dropout);
  // x: [batch, length, hidden]; mask: [batch * heads, 1, length] additive
  // (a large negative number at padding), or undefined for none.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

 private:
  int heads_;
  double dropout_;
  torch::nn::Linear qkv_{nullptr}, out_{nullptr}, ff1_{nullptr}, ff2_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
};
TORCH_MODULE(EncoderLayer);

class EncoderClassifierImpl : public torch::nn::Module {
 public:
  explicit EncoderClassifierImpl(const ModelShape& shape);
  // ids: [batch, length] int64; pad: [batch, length] bool, true at padding.
  // Returns logits [batch, classes].
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& pad);

 private:
  ModelShape shape_;
  torch::nn::Embedding tokens_{nullptr};
  torch::nn::Embedding positions_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(EncoderClassifier);

}  // namespace polysweep
