#include "worker/model.h"

#include <cmath>

namespace polysweep {

EncoderClassifierImpl::EncoderClassifierImpl(const ModelShape& shape) : shape_(shape) {
  tokens_ = register_module("tokens", torch::nn::Embedding(shape.vocab, shape.hidden));
  positions_ = register_module("positions", torch::nn::Embedding(shape.max_length, shape.hidden));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({shape.hidden})));
  auto layer = torch::nn::TransformerEncoderLayer(
      torch::nn::TransformerEncoderLayerOptions(shape.hidden, shape.heads)
          .dim_feedforward(shape.ffn)
          .dropout(shape.dropout)
          .activation(torch::kGELU));
  encoder_ = register_module("encoder",
                             torch::nn::TransformerEncoder(torch::nn::TransformerEncoderOptions(layer, shape.layers)));
  dropout_ = register_module("dropout", torch::nn::Dropout(shape.dropout));
  head_ = register_module("head", torch::nn::Linear(shape.hidden, shape.classes));
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(tokens_->weight, 0.0, 0.02);
  torch::nn::init::normal_(positions_->weight, 0.0, 0.02);
}

torch::Tensor EncoderClassifierImpl::forward(const torch::Tensor& ids, const torch::Tensor& pad) {
  const int64_t length = ids.size(1);
  auto pos = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
  auto x = tokens_(ids) + positions_(pos).unsqueeze(0);
  x = dropout_(norm_(x));
  // The C++ encoder takes [length, batch, hidden].
  x = encoder_->forward(x.transpose(0, 1), /*src_mask=*/torch::Tensor(), /*src_key_padding_mask=*/pad).transpose(0, 1);
  auto keep = (~pad).unsqueeze(-1).to(x.dtype());
  auto pooled = (x * keep).sum(1) / keep.sum(1).clamp_min(1.0);
  return head_(dropout_(pooled));
}

}  // namespace polysweep
