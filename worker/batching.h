// Batching: what the training order (common/sampling.h) is drawn from, and
// the tensors a step or an evaluation reads. A batch is built from examples
// by index (any ExampleSource) and holds their tokens padded to the longest
// example, the padding mask, the head's targets and each example's language.
// The prefetcher (worker/prefetcher.h), the evaluator and the tests build
// batches here; nothing here trains. Heavy header (LibTorch).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/shard_set.h"
#include "common/tasks.h"
#include "worker/placement.h"

namespace polysweep {

// What the sampler needs of a training split.
struct SamplingPlan {
  std::vector<int64_t> language_sizes;  // of the source, in its language order
  double alpha = 1.0;
  uint64_t seed = 0;
  int64_t epoch_size() const;
};

struct Batch {
  torch::Tensor ids;     // [batch, length] int64, padded to the longest example
  torch::Tensor pad;     // [batch, length] bool
  torch::Tensor labels;  // the head's targets: [batch] int64, or [batch, length] for per-token tasks (Targets)
  // [batch, length] int64 token types (1 from a text pair's second text on,
  // as BERT's), or undefined when no example of the batch is a pair.
  torch::Tensor types;
  // [batch, length, kWordFeatures] int64 word feature hashes of tagged
  // sentences (common/word_features.h; kNoFeature at padding and the frame),
  // or undefined when the examples carry none.
  torch::Tensor features;
  std::vector<int32_t> langs;
};

// What a batch's targets are: one class per text (the first of each
// example's label span; masked_lm's are made from the tokens by
// MaskTokens), or a tag per token (token classification; kUntaggedPiece is
// kIgnoreTarget), where a word's later pieces (common/tagged.h's
// kLaterPiece) are trained on but never scored.
// A regression's target is a number per text (float); a multi-label
// classifier's an indicator per class ([batch, classes] float, 1 where the
// text has the label).
enum class Targets { kPerText, kPerTokenTraining, kPerTokenScoring, kReal, kMultiHot };
// The targets of a task whose label is `kind`, for training or scoring.
Targets TargetsFor(LabelKind kind, bool training);

// Builds a batch of `indices` from `source`, keeping at most `max_length`
// tokens of each and padding to the longest example of the batch only.
// kMultiHot targets have `classes` columns.
Batch MakeBatch(const ExampleSource& source, const std::vector<int64_t>& indices, int pad_id, int max_length,
                Targets targets = Targets::kPerText, int classes = 0);

// `batch` with its tensors on `device` (the same tensors when they are there).
Batch OnDevice(const Batch& batch, const Device& device);

}  // namespace polysweep
