#include "worker/evaluator.h"

#include <algorithm>
#include <vector>

namespace polysweep {

namespace {

constexpr size_t kEvalBatch = 128;

// A regression batch: each example's one output against its target.
void CountValues(const Batch& b, const std::vector<int64_t>& examples, const torch::Tensor& outputs,
                 EvalCounts* counts) {
  const auto predicted = outputs.reshape({-1}).to(torch::kCPU).to(torch::kDouble).contiguous();
  const auto gold = b.labels.to(torch::kDouble).contiguous();
  auto p = predicted.accessor<double, 1>();
  auto g = gold.accessor<double, 1>();
  for (size_t r = 0; r < examples.size(); ++r) {
    const auto i = static_cast<int64_t>(r);
    counts->AddValue(examples[r], b.langs[r], g[i], p[i]);
  }
}

// A multi-label batch: each text's labels above the threshold against its
// own, and its binary cross-entropy summed over the labels.
void CountLabelSets(const Batch& b, const torch::Tensor& logits, double threshold, EvalCounts* counts) {
  namespace F = torch::nn::functional;
  const torch::Tensor out = logits.to(torch::kCPU).to(torch::kFloat);
  const torch::Tensor loss = F::binary_cross_entropy_with_logits(
                                 out, b.labels, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone))
                                 .sum(1);
  const torch::Tensor predicted = torch::sigmoid(out) >= threshold;
  auto gold_a = b.labels.accessor<float, 2>();
  auto pred_a = predicted.accessor<bool, 2>();
  auto loss_a = loss.accessor<float, 1>();
  const auto classes = static_cast<size_t>(b.labels.size(1));
  std::vector<bool> gold(classes), guess(classes);
  for (int64_t r = 0; r < b.labels.size(0); ++r) {
    for (size_t k = 0; k < classes; ++k) {
      gold[k] = gold_a[r][static_cast<int64_t>(k)] > 0.5f;
      guess[k] = pred_a[r][static_cast<int64_t>(k)];
    }
    counts->AddLabelSet(b.langs[static_cast<size_t>(r)], gold, guess, loss_a[r]);
  }
}

// Counts one batch's scored targets: rows of a per-sequence head are the
// batch's examples; those of a per-token head are flat positions (`index`)
// in [batch * length]. Reads the outputs on the CPU.
void CountBatch(const Batch& b, const EncoderClassifierImpl::Scored& scored, EvalCounts* counts) {
  namespace F = torch::nn::functional;
  auto losses = F::cross_entropy(scored.logits, scored.targets, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  auto pred = scored.logits.argmax(-1).to(torch::kCPU);
  auto target = scored.targets.to(torch::kCPU);
  auto loss = losses.to(torch::kCPU);
  auto pred_a = pred.accessor<int64_t, 1>();
  auto target_a = target.accessor<int64_t, 1>();
  auto loss_a = loss.accessor<float, 1>();
  const bool per_token = scored.index.defined();
  auto index = per_token ? scored.index.to(torch::kCPU) : torch::arange(target.size(0), torch::kLong);
  auto index_a = index.accessor<int64_t, 1>();
  const int64_t length = per_token ? b.labels.size(1) : 1;
  // A per-token head's targets come row by row, each row's in order: one
  // sentence's gold and predicted tags at a time, for counts that read them.
  const bool sequences = per_token && counts->reads_sequences();
  std::vector<int> gold, predicted;
  int64_t sentence = -1;
  auto flush = [&] {
    if (!gold.empty()) counts->AddSequence(b.langs[static_cast<size_t>(sentence)], gold, predicted);
    gold.clear();
    predicted.clear();
  };
  for (int64_t i = 0; i < target.size(0); ++i) {
    const int64_t row = index_a[i] / length;
    counts->Add(b.langs[static_cast<size_t>(row)], static_cast<int>(target_a[i]), static_cast<int>(pred_a[i]),
                loss_a[i]);
    if (!sequences) continue;
    if (row != sentence) flush();
    sentence = row;
    gold.push_back(static_cast<int>(target_a[i]));
    predicted.push_back(static_cast<int>(pred_a[i]));
  }
  if (sequences) flush();
}

}  // namespace

Evaluator::Evaluator(const ExampleSource& split, EvalSpec spec, Communicator* comm, Liveness* liveness)
    : split_(split), spec_(std::move(spec)), comm_(comm), liveness_(liveness) {}

StatusOr<EvalMetrics> Evaluator::Evaluate(EncoderClassifier& model, int64_t step) const {
  torch::NoGradGuard no_grad;
  model->eval();
  auto counts =
      MakeEvalCounts(Task(spec_.task).metrics, spec_.num_labels, spec_.num_langs, spec_.named_labels, split_.size());
  const Targets targets = TargetsFor(Task(spec_.task).label, /*training=*/false);
  std::vector<int64_t> mine;
  for (int64_t i = comm_->rank(); i < split_.size(); i += comm_->size()) mine.push_back(i);
  for (size_t begin = 0; begin < mine.size(); begin += kEvalBatch) {
    std::vector<int64_t> idx(mine.begin() + begin, mine.begin() + std::min(mine.size(), begin + kEvalBatch));
    Batch b = MakeBatch(split_, idx, spec_.pad_id, spec_.max_length, targets, spec_.num_labels);
    if (spec_.masking.on()) MaskTokens(&b, spec_.masking, MaskSeed(spec_.masking.seed, -1, 0, static_cast<int>(idx[0])));
    if (liveness_) liveness_->Tick(step);
    const Batch on_device = OnDevice(b, spec_.device);
    if (targets == Targets::kReal) {
      CountValues(b, idx, model->forward(on_device.ids, on_device.pad, on_device.types), counts.get());
      continue;
    }
    if (targets == Targets::kMultiHot) {
      CountLabelSets(b, model->forward(on_device.ids, on_device.pad, on_device.types), spec_.threshold, counts.get());
      continue;
    }
    CountBatch(b,
               model->ForwardScored(on_device.ids, on_device.pad, on_device.labels, on_device.types,
                                    on_device.features),
               counts.get());
  }
  if (comm_->size() > 1) PS_RETURN_IF_ERROR(comm_->AllReduceSum(counts->raw().data(), counts->raw().size()));
  return counts->Compute();
}

}  // namespace polysweep
