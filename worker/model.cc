#include "worker/model.h"

#include <array>
#include <cmath>
#include <map>
#include <sstream>
#include <tuple>

#include "worker/int8.h"

namespace polysweep {

namespace F = torch::nn::functional;

namespace {

torch::nn::LayerNormOptions Norm(int hidden, const EncoderStyle& style) {
  return torch::nn::LayerNormOptions({hidden}).eps(style.norm_eps);
}

torch::Tensor Activate(const torch::Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::kGeluTanh: return torch::gelu(x, "tanh");
    case Activation::kRelu: return torch::relu(x);
    case Activation::kGelu: break;
  }
  return torch::gelu(x);
}

// A linear layer's output, with its adapter's update when it has one; the
// int8 layer when it was quantized (the adapter folded into it).
torch::Tensor Project(torch::nn::Linear& linear, LoraAdapter& adapter, const c10::IValue& int8, const torch::Tensor& x) {
  if (!int8.isNone()) return LinearInt8(x, int8);
  return adapter ? linear(x) + adapter(x) : linear(x);
}

}  // namespace

LoraAdapterImpl::LoraAdapterImpl(int in, int out, int rank, double alpha) : scale_(alpha / rank) {
  a_ = register_parameter("a", torch::empty({rank, in}));
  b_ = register_parameter("b", torch::zeros({out, rank}));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(a_, std::sqrt(5.0));  // as nn.Linear, like the reference LoRA
}

torch::Tensor LoraAdapterImpl::forward(const torch::Tensor& x) {
  return torch::matmul(torch::matmul(x, a_.t()), b_.t()) * scale_;
}

torch::Tensor LoraAdapterImpl::Delta() const { return torch::matmul(b_, a_) * scale_; }

void LoraAdapterImpl::Release() {
  a_.set_data(torch::empty({0}));
  b_.set_data(torch::empty({0}));
}

EncoderLayerImpl::EncoderLayerImpl(int hidden, int heads, int ffn, double dropout, const LoraSpec& lora,
                                   const EncoderStyle& style)
    : heads_(heads), dropout_(dropout), activation_(style.activation) {
  qkv_ = register_module("qkv", torch::nn::Linear(hidden, 3 * hidden));
  out_ = register_module("out", torch::nn::Linear(hidden, hidden));
  ff1_ = register_module("ff1", torch::nn::Linear(hidden, ffn));
  ff2_ = register_module("ff2", torch::nn::Linear(ffn, hidden));
  norm1_ = register_module("norm1", torch::nn::LayerNorm(Norm(hidden, style)));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(Norm(hidden, style)));
  for (auto [name, adapter, in, out] : {std::tuple{"qkv", &qkv_lora_, hidden, 3 * hidden},
                                        std::tuple{"out", &out_lora_, hidden, hidden},
                                        std::tuple{"ff1", &ff1_lora_, hidden, ffn},
                                        std::tuple{"ff2", &ff2_lora_, ffn, hidden}}) {
    if (lora.Targets(name)) {
      *adapter = register_module(std::string(name) + "_lora", LoraAdapter(in, out, lora.rank, lora.alpha));
    }
  }
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
  auto qkv = Project(qkv_, qkv_lora_, int8_[0], x).view({batch, length, 3, heads_, head_dim}).permute({2, 0, 3, 1, 4});
  auto q = (qkv[0] * (1.0 / std::sqrt(static_cast<double>(head_dim)))).reshape({batch * heads_, length, head_dim});
  auto k = qkv[1].reshape({batch * heads_, length, head_dim});
  auto v = qkv[2].reshape({batch * heads_, length, head_dim});
  auto scores = mask.defined() ? torch::baddbmm(mask, q, k.transpose(1, 2)) : torch::bmm(q, k.transpose(1, 2));
  auto attention = F::dropout(torch::softmax(scores, -1), F::DropoutFuncOptions().p(dropout_).training(train));
  auto context = torch::bmm(attention, v).view({batch, heads_, length, head_dim}).transpose(1, 2).reshape(
      {batch, length, hidden});
  auto h = norm1_(x + F::dropout(Project(out_, out_lora_, int8_[1], context), F::DropoutFuncOptions().p(dropout_).training(train)));
  auto ff = Project(ff2_, ff2_lora_, int8_[3],
                    F::dropout(Activate(Project(ff1_, ff1_lora_, int8_[2], h), activation_),
                               F::DropoutFuncOptions().p(dropout_).training(train)));
  return norm2_(h + F::dropout(ff, F::DropoutFuncOptions().p(dropout_).training(train)));
}

int EncoderLayerImpl::QuantizeInt8(int64_t min_inputs) {
  torch::NoGradGuard no_grad;
  int quantized = 0;
  const std::array<std::pair<torch::nn::Linear*, LoraAdapter*>, 4> linears = {
      std::pair{&qkv_, &qkv_lora_}, {&out_, &out_lora_}, {&ff1_, &ff1_lora_}, {&ff2_, &ff2_lora_}};
  for (size_t i = 0; i < linears.size(); ++i) {
    auto& [linear, adapter] = linears[i];
    if ((*linear)->weight.size(1) < min_inputs) continue;
    ++quantized;
    const torch::Tensor weight = *adapter ? (*linear)->weight + (*adapter)->Delta() : (*linear)->weight;
    int8_[i] = PackInt8Linear(weight, (*linear)->bias);
    // The fp32 weights are not read again: give their memory back.
    (*linear)->weight.set_data(torch::empty({0}));
    if (*adapter) (*adapter)->Release();
  }
  return quantized;
}

EncoderClassifierImpl::EncoderClassifierImpl(const ModelShape& shape) : shape_(shape) {
  tokens_ = register_module("tokens", torch::nn::Embedding(shape.vocab, shape.hidden));
  const EncoderStyle& style = shape.style;
  positions_ = register_module(
      "positions", torch::nn::Embedding(style.position_rows > 0 ? style.position_rows : shape.max_length, shape.hidden));
  if (style.type_vocab > 0) types_ = register_module("types", torch::nn::Embedding(style.type_vocab, shape.hidden));
  if (shape.word_features > 0) {
    word_features_ = register_module(
        "word_features",
        torch::nn::Embedding(torch::nn::EmbeddingOptions(shape.word_features + 1, shape.hidden).padding_idx(0)));
  }
  norm_ = register_module("norm", torch::nn::LayerNorm(Norm(shape.hidden, style)));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int l = 0; l < shape.layers; ++l) {
    layers_->push_back(EncoderLayer(shape.hidden, shape.heads, shape.ffn, shape.dropout, shape.lora, style));
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(shape.dropout));
  head_ = register_module("head", MakeTaskHead(shape.task, shape.hidden,
                                               TaskOutputs(shape.task, shape.classes, shape.vocab), shape.dropout,
                                               style.pooling));
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(tokens_->weight, 0.0, 0.02);
  torch::nn::init::normal_(positions_->weight, 0.0, 0.02);
  if (word_features_) {
    torch::nn::init::normal_(word_features_->weight, 0.0, 0.02);
    word_features_->weight[0].zero_();
  }
}

torch::Tensor EncoderClassifierImpl::forward(const torch::Tensor& ids, const torch::Tensor& pad,
                                             const torch::Tensor& types, const torch::Tensor& features) {
  return head_->forward(Encode(ids, pad, types, features), pad);
}

EncoderClassifierImpl::Scored EncoderClassifierImpl::ForwardScored(const torch::Tensor& ids, const torch::Tensor& pad,
                                                                   const torch::Tensor& targets,
                                                                   const torch::Tensor& types,
                                                                   const torch::Tensor& features) {
  auto hidden = Encode(ids, pad, types, features);
  if (!head_->per_token()) return {head_->forward(hidden, pad), targets, {}};
  auto index = (targets.reshape({-1}) != kIgnoreTarget).nonzero().squeeze(1);
  auto selected = hidden.reshape({-1, hidden.size(-1)}).index_select(0, index);
  return {head_->forward(selected, {}), targets.reshape({-1}).index_select(0, index), index};
}

torch::Tensor EncoderClassifierImpl::WordFeatureRows(const torch::Tensor& features) {
  // Hash h lands in row 1 + h mod buckets; kNoFeature (0) in row 0, which is zero.
  auto rows = torch::where(features == 0, torch::zeros_like(features), features.remainder(shape_.word_features) + 1);
  if (is_training() && shape_.word_dropout > 0) {  // the whole-word feature (index 0) left out of some pieces
    const auto keep = torch::rand({features.size(0), features.size(1)}, torch::TensorOptions().device(features.device()));
    rows.select(2, 0).mul_((keep >= shape_.word_dropout).to(torch::kLong));
  }
  return rows;
}

torch::Tensor EncoderClassifierImpl::Encode(const torch::Tensor& ids, const torch::Tensor& pad,
                                            const torch::Tensor& types, const torch::Tensor& features) {
  const int64_t batch = ids.size(0), length = ids.size(1);
  torch::Tensor embedded;
  if (shape_.style.position_pad >= 0) {
    auto real = (~pad).to(torch::kLong);
    embedded = tokens_(ids) + positions_(torch::cumsum(real, 1) * real + shape_.style.position_pad);
  } else {
    auto pos = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
    embedded = tokens_(ids) + positions_(pos).unsqueeze(0);
  }
  // Token types where the model has two or more (BERT's); type 0 otherwise
  // (RoBERTa and XLM-R have one: a pair is told apart by its separators).
  if (types_) {
    const bool typed = types.defined() && types_->weight.size(0) > 1;
    embedded = embedded + (typed ? types_(types) : types_->weight[0]);
  }
  if (word_features_) {
    TORCH_CHECK(features.defined() && features.dim() == 3 && features.size(1) == length,
                "this model reads word features (model.word_features), and the batch has none");
    TORCH_CHECK(features.size(2) >= shape_.word_feature_width, "this model reads ", shape_.word_feature_width,
                " word features per piece, and the batch has ", features.size(2),
                ": shard the data again with `polysweep shard --force`");
    embedded = embedded + word_features_(WordFeatureRows(features.narrow(2, 0, shape_.word_feature_width))).sum(2);
  }
  auto x = dropout_(norm_(embedded));
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
  return x;
}

StatusOr<int> EncoderClassifierImpl::QuantizeInt8(int64_t min_inputs) {
  PS_RETURN_IF_ERROR(SelectInt8Engine());
  int quantized = 0;
  try {
    for (const auto& layer : *layers_) quantized += layer->as<EncoderLayer>()->QuantizeInt8(min_inputs);
  } catch (const c10::Error& e) {
    return Status::Error(std::string("--quantize int8: ") + e.what_without_backtrace());
  }
  eval();
  return quantized;
}

Status LoadModelWeights(EncoderClassifier& model, const std::string& path) {
  std::map<std::string, std::vector<int64_t>> expected;
  for (const auto& item : model->named_parameters()) expected[item.key()] = item.value().sizes().vec();
  {
    // The loaded tensors replace the parameters' storage. Freed now, the
    // initial weights do not sit beside the loaded ones: a BERT-base's load
    // peaks at one copy of its weights, not two. (Uninitialized memory is
    // not resident until written.)
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.set_data(torch::empty(p.sizes(), p.options()));
  }
  try {
    torch::load(model, path);
  } catch (const c10::Error& e) {
    return Status::Error(path + ": does not load into the model: " + e.what_without_backtrace());
  }
  for (const auto& item : model->named_parameters()) {
    if (item.value().sizes().vec() == expected[item.key()]) continue;
    std::ostringstream why;
    why << path << ": " << item.key() << " has shape " << item.value().sizes() << ", the model "
        << torch::IntArrayRef(expected[item.key()]) << ": saved with another architecture";
    return Status::Error(why.str());
  }
  return Status::Ok();
}

}  // namespace polysweep
