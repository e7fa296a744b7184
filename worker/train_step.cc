#include "worker/train_step.h"

namespace polysweep {

Batch MakeBatch(const TokenizedSplit& split, const std::vector<int64_t>& indices, int pad_id) {
  int64_t longest = 1;
  for (int64_t i : indices) longest = std::max(longest, split.length(static_cast<size_t>(i)));
  const int64_t n = static_cast<int64_t>(indices.size());
  Batch b;
  b.ids = torch::full({n, longest}, pad_id, torch::kLong);
  b.pad = torch::ones({n, longest}, torch::kBool);
  b.labels = torch::empty({n}, torch::kLong);
  auto ids = b.ids.accessor<int64_t, 2>();
  auto pad = b.pad.accessor<bool, 2>();
  auto labels = b.labels.accessor<int64_t, 1>();
  for (int64_t r = 0; r < n; ++r) {
    const size_t i = static_cast<size_t>(indices[static_cast<size_t>(r)]);
    const int64_t begin = split.offsets[i], len = split.length(i);
    for (int64_t t = 0; t < len; ++t) {
      ids[r][t] = split.tokens[static_cast<size_t>(begin + t)];
      pad[r][t] = false;
    }
    labels[r] = split.labels[i];
    b.langs.push_back(split.langs[i]);
  }
  return b;
}

DataParallelStep::DataParallelStep(const ModelShape& shape, const TrainingParams& params, Communicator* comm)
    : params_(params), comm_(comm) {
  torch::manual_seed(static_cast<uint64_t>(params.seed));
  model_ = EncoderClassifier(shape);
  torch::optim::AdamWOptions opts(params.lr);
  opts.weight_decay(params.weight_decay);
  optimizer_ = std::make_unique<torch::optim::AdamW>(model_->parameters(), opts);
  sync_ = std::make_unique<GradientSync>(model_->parameters(), comm);
}

Status DataParallelStep::Init() {
  PS_RETURN_IF_ERROR(sync_->BroadcastParameters());
  torch::manual_seed(static_cast<uint64_t>(params_.seed) * 1000003ULL + static_cast<uint64_t>(comm_->rank()) + 1);
  return Status::Ok();
}

StatusOr<double> DataParallelStep::Step(const Batch& batch, double lr) {
  model_->train();
  optimizer_->zero_grad();
  auto logits = model_->forward(batch.ids, batch.pad);
  auto loss = torch::nn::functional::cross_entropy(logits, batch.labels);
  loss.backward();
  auto mean_loss = sync_->AllReduceAverage(loss.item<double>());
  if (!mean_loss.ok()) return mean_loss.status();
  if (params_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), params_.grad_clip);
  for (auto& group : optimizer_->param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
  optimizer_->step();
  return *mean_loss;
}

}  // namespace polysweep
