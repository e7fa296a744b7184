// The evaluator: one batching loop for every head. Each rank scores its
// share of a split (every world-th example, from its rank), counts what the
// task's metric family counts (worker/metrics.h), and the counts are summed
// over the ranks in one all-reduce, so every rank returns the same metrics.
// A masked-language model's batches are masked by a seed of the batch, not
// the step, so every evaluation masks alike. The batches go to the model's
// device and the head's outputs come back to the CPU before they are read,
// so it works wherever the model computes. Collective: call on every rank.
// Heavy header (LibTorch).
#pragma once

#include <cstdint>

#include "common/shard_set.h"
#include "common/status.h"
#include "worker/comm/communicator.h"
#include "worker/heartbeat.h"
#include "worker/masking.h"
#include "worker/metrics.h"
#include "worker/model.h"
#include "worker/placement.h"

namespace polysweep {

struct EvalSpec {
  TaskKind task = TaskKind::kSequenceClassification;
  int num_labels = 2;
  int num_langs = 1;
  int pad_id = 0;
  int max_length = 64;
  MaskingSpec masking;
  Device device;  // where the model is
  // The label map, for counts that read its names: token classification
  // with entity tags (the spans' types come from the tags) and multi-label
  // (scores per label); empty otherwise.
  std::vector<std::string> named_labels;
  double threshold = 0.5;  // multi-label: a label is predicted at this probability or above
};

class Evaluator {
 public:
  // `split` must outlive the evaluator; `liveness`, when given, is ticked at
  // every batch.
  Evaluator(const ExampleSource& split, EvalSpec spec, Communicator* comm, Liveness* liveness = nullptr);
  // Evaluates `model` (in eval mode, without gradients) at training step `step`.
  StatusOr<EvalMetrics> Evaluate(EncoderClassifier& model, int64_t step) const;

 private:
  const ExampleSource& split_;
  EvalSpec spec_;
  Communicator* comm_;
  Liveness* liveness_;
};

}  // namespace polysweep
