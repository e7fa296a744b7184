// The transformer-encoder text classifier: token + position embeddings, a
// stack of encoder layers, mean pooling over non-padding tokens, a linear
// head. Heavy header (LibTorch): include it only where the model is used.
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
  torch::nn::TransformerEncoder encoder_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(EncoderClassifier);

}  // namespace polysweep
