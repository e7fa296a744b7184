#include "worker/heads.h"

namespace polysweep {

namespace F = torch::nn::functional;

namespace {

// A linear projection whose parameters are the head's own "weight" and
// "bias" (so a classifier's are head.weight and head.bias), initialised as
// torch::nn::Linear initialises its own.
class ProjectionHead : public TaskHeadImpl {
 public:
  ProjectionHead(int hidden, int outputs, double dropout) : dropout_(dropout) {
    torch::nn::Linear init(hidden, outputs);
    weight_ = register_parameter("weight", init->weight.detach().clone());
    bias_ = register_parameter("bias", init->bias.detach().clone());
  }

 protected:
  torch::Tensor Project(const torch::Tensor& x) {
    return F::linear(F::dropout(x, F::DropoutFuncOptions().p(dropout_).training(is_training())), weight_, bias_);
  }

 private:
  double dropout_;
  torch::Tensor weight_, bias_;
};

class SequenceClassificationHead : public ProjectionHead {
 public:
  using ProjectionHead::ProjectionHead;
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& pad) override {
    auto keep = (~pad).unsqueeze(-1).to(hidden.dtype());
    return Project((hidden * keep).sum(1) / keep.sum(1).clamp_min(1.0));
  }
  bool per_token() const override { return false; }
};

// The first token through a dense layer and an activation, as BERT's pooler,
// RoBERTa's classification head and DistilBERT's pre-classifier do.
class FirstTokenHead : public ProjectionHead {
 public:
  FirstTokenHead(int hidden, int outputs, double dropout, Pooling pooling)
      : ProjectionHead(hidden, outputs, dropout), dropout_(dropout), pooling_(pooling) {
    dense_ = register_module("dense", torch::nn::Linear(hidden, hidden));
  }
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor&) override {
    auto first = hidden.select(1, 0);
    if (pooling_ == Pooling::kRobertaHead) {
      first = F::dropout(first, F::DropoutFuncOptions().p(dropout_).training(is_training()));
    }
    auto pooled = dense_(first);
    return Project(pooling_ == Pooling::kDistilBertHead ? torch::relu(pooled) : torch::tanh(pooled));
  }
  bool per_token() const override { return false; }

 private:
  double dropout_;
  Pooling pooling_;
  torch::nn::Linear dense_{nullptr};
};

class TokenClassificationHead : public ProjectionHead {
 public:
  using ProjectionHead::ProjectionHead;
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor&) override { return Project(hidden); }
  bool per_token() const override { return true; }
};

// As BERT's prediction head: dense, GELU, LayerNorm, then the vocabulary.
class MaskedLmHead : public TaskHeadImpl {
 public:
  MaskedLmHead(int hidden, int vocab) {
    transform_ = register_module("transform", torch::nn::Linear(hidden, hidden));
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
    decoder_ = register_module("decoder", torch::nn::Linear(hidden, vocab));
  }
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor&) override {
    return decoder_(norm_(F::gelu(transform_(hidden))));
  }
  bool per_token() const override { return true; }

 private:
  torch::nn::Linear transform_{nullptr}, decoder_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};

}  // namespace

LossSum HeadLoss(const torch::Tensor& output, const torch::Tensor& targets) {
  if (targets.is_floating_point() && targets.dim() == 2) {  // multi-label: each class's binary cross-entropy
    return LossSum{F::binary_cross_entropy_with_logits(
                       output, targets, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)),
                   targets.numel()};
  }
  if (targets.is_floating_point()) {  // regression: squared error of the one output
    return LossSum{F::mse_loss(output.reshape({-1}), targets, F::MSELossFuncOptions().reduction(torch::kSum)),
                   targets.size(0)};
  }
  auto flat_targets = targets.reshape({-1});
  auto flat_output = output.reshape({flat_targets.size(0), output.size(-1)});
  LossSum loss;
  loss.sum = F::cross_entropy(flat_output, flat_targets,
                              F::CrossEntropyFuncOptions().reduction(torch::kSum).ignore_index(kIgnoreTarget));
  loss.count = targets.dim() == 1 ? targets.size(0) : (targets != kIgnoreTarget).sum().item<int64_t>();
  return loss;
}

TaskHead MakeTaskHead(TaskKind kind, int hidden, int outputs, double dropout, Pooling pooling) {
  switch (kind) {
    case TaskKind::kTokenClassification: return std::make_shared<TokenClassificationHead>(hidden, outputs, dropout);
    case TaskKind::kMaskedLm: return std::make_shared<MaskedLmHead>(hidden, outputs);
    case TaskKind::kSequenceClassification:
    case TaskKind::kMultiLabel:  // a logit per class
    case TaskKind::kRegression: break;  // one output: the value
  }
  if (pooling != Pooling::kMean) return std::make_shared<FirstTokenHead>(hidden, outputs, dropout, pooling);
  return std::make_shared<SequenceClassificationHead>(hidden, outputs, dropout);
}

}  // namespace polysweep
