// Task heads: what the encoder's hidden states [batch, length, hidden] are
// turned into, and the loss against the batch's targets. The encoder is
// shared by every task; a head is the pluggable part (registered as the
// model's "head" module, so its parameters are named head.*: the part
// model.init leaves fresh, LoRA trains, and predict reads).
//
//   sequence_classification: mean-pooled non-padding tokens -> class logits
//     [batch, classes]; targets [batch].
//   token_classification: class logits for every token [batch, length,
//     classes]; targets [batch, length], kIgnoreTarget where there is none
//     (padding, continuation pieces).
//   masked_lm: a dense + GELU + LayerNorm transform and a projection to the
//     vocabulary for every token [batch, length, vocab]; targets [batch,
//     length], the original id at masked positions and kIgnoreTarget elsewhere.
//
// Regression's head is the sequence head with one output, its targets
// [batch] float and its loss the summed squared error. Multi-label's is the
// sequence head, its targets [batch, classes] float indicators and its loss
// the summed binary cross-entropy of every (text, class) logit, counted as
// batch x classes terms (so the mean is torch's BCEWithLogitsLoss, as
// Hugging Face's multi_label_classification trains).
// All other losses are summed cross-entropy over the targets that are not ignored,
// with their count: data-parallel ranks may hold different counts (masked
// tokens differ per rank), and GradientSync turns the sums into the mean over
// the union. The tasks themselves (names, labels, metrics) are
// common/tasks.h's; MakeTaskHead is the one place a task meets its head.
// Heavy header (LibTorch).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "common/status.h"
#include "common/tasks.h"
#include "worker/model_shape.h"

namespace polysweep {

inline constexpr int64_t kIgnoreTarget = -100;

class TaskHeadImpl : public torch::nn::Module {
 public:
  // hidden: [batch, length, hidden]; pad: [batch, length] bool, true at
  // padding. A per-token head maps any [..., hidden] to [..., outputs] and
  // ignores `pad` (it may be undefined).
  virtual torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& pad) = 0;
  // Whether the head predicts one target per token (else one per sequence).
  virtual bool per_token() const = 0;
};
using TaskHead = std::shared_ptr<TaskHeadImpl>;

// The summed cross-entropy of `output` (a head's) against `targets` over the
// targets that are not kIgnoreTarget, and how many there are.
struct LossSum {
  torch::Tensor sum;  // scalar, differentiable
  int64_t count = 0;
};
LossSum HeadLoss(const torch::Tensor& output, const torch::Tensor& targets);

// A head for `kind` over `hidden` features with `outputs` classes
// (TaskOutputs: the vocabulary for masked_lm); `dropout` before the output
// projection. A sequence head pools as `pooling` says (worker/model_shape.h);
// the first-token poolings add a dense layer, head.dense.
TaskHead MakeTaskHead(TaskKind kind, int hidden, int outputs, double dropout, Pooling pooling = Pooling::kMean);

}  // namespace polysweep
