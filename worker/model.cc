#include "worker/model.h"

#include <cmath>

namespace polysweep {

namespace F = torch::nn::functional;

EncoderLayerImpl::EncoderLayerImpl(int hidden, int heads, int ffn, double dropout)
    : heads_(heads), dropout_(dropout) {
  qkv_ = register_module("qkv", torch::nn::Linear(hidden, 3 * hidden));
  out_ = register_module("out", torch::nn::Linear(hidden, hidden));
  ff1_ = register_module("ff1", torch::nn::Linear(hidden, ffn));
  ff2_ = register_module("ff2", torch::nn::Linear(ffn, hidden));
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
  // As nn.MultiheadAttention initialises its packed projection.
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(qkv_->weight);
  torch::nn::init::zeros_(qkv_->bias);
  torch::nn::init::zeros_(out_->bias);
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t batch = x.size(0), length = x.size(1), hidden = x.size(2), head_dim = hidden / heads_;
  const bool train = is_training();
  // [batch, length, 3, heads, head_dim] -> three [batch * heads, length, head_dim]
  auto qkv = qkv_(x).view({batch, length, 3, heads_, head_dim}).permute({2, 0, 3, 1, 4});
  auto q = (qkv[0] * (1.0 / std::sqrt(static_cast<double>(head_dim)))).reshape({batch * heads_, length, head_dim});
  auto k = qkv[1].reshape({batch * heads_, length, head_dim});
  auto v = qkv[2].reshape({batch * heads_, length, head_dim});
  auto scores = mask.defined() ? torch::baddbmm(mask, q, k.transpose(1, 2)) : torch::bmm(q, k.transpose(1, 2));
  auto attention = F::dropout(torch::softmax(scores, -1), F::DropoutFuncOptions().p(dropout_).training(train));
  auto context = torch::bmm(attention, v).view({batch, heads_, length, head_dim}).transpose(1, 2).reshape(
      {batch, length, hidden});
  auto h = norm1_(x + F::dropout(out_(context), F::DropoutFuncOptions().p(dropout_).training(train)));
  auto ff = ff2_(F::dropout(F::gelu(ff1_(h)), F::DropoutFuncOptions().p(dropout_).training(train)));
  return norm2_(h + F::dropout(ff, F::DropoutFuncOptions().p(dropout_).training(train)));
}

EncoderClassifierImpl::EncoderClassifierImpl(const ModelShape& shape) : shape_(shape) {
  tokens_ = register_module("tokens", torch::nn::Embedding(shape.vocab, shape.hidden));
  positions_ = register_module("positions", torch::nn::Embedding(shape.max_length, shape.hidden));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({shape.hidden})));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int l = 0; l < shape.layers; ++l) {
    layers_->push_back(EncoderLayer(shape.hidden, shape.heads, shape.ffn, shape.dropout));
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(shape.dropout));
  head_ = register_module("head", torch::nn::Linear(shape.hidden, shape.classes));
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(tokens_->weight, 0.0, 0.02);
  torch::nn::init::normal_(positions_->weight, 0.0, 0.02);
}

torch::Tensor EncoderClassifierImpl::forward(const torch::Tensor& ids, const torch::Tensor& pad) {
  const int64_t batch = ids.size(0), length = ids.size(1);
  auto pos = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
  auto x = dropout_(norm_(tokens_(ids) + positions_(pos).unsqueeze(0)));
  // Padding as an additive mask over keys, one row per (example, head); none
  // when nothing in the batch is padded. Large and finite: an example that is
  // all padding gets uniform attention, not NaN.
  torch::Tensor mask;
  if (pad.any().item<bool>()) {
    mask = torch::zeros({batch, 1, 1, length}, x.options())
               .masked_fill(pad.view({batch, 1, 1, length}), -1e9)
               .expand({batch, shape_.heads, 1, length})
               .reshape({batch * shape_.heads, 1, length});
  }
  for (const auto& layer : *layers_) x = layer->as<EncoderLayer>()->forward(x, mask);
  auto keep = (~pad).unsqueeze(-1).to(x.dtype());
  auto pooled = (x * keep).sum(1) / keep.sum(1).clamp_min(1.0);
  return head_(dropout_(pooled));
}

}  // namespace polysweep
