#include "worker/train_step.h"

#include <algorithm>
#include <cmath>

namespace polysweep {

namespace {

// Whether the parameter `name` of the model is frozen by `params`: with
// LoRA everything but the adapters and the head; else the embeddings
// (tokens, positions, word features and their norm) and the bottom layers,
// when asked.
bool Frozen(const std::string& name, const TrainingParams& params) {
  if (params.lora) return name.find("_lora.") == std::string::npos && name.rfind("head.", 0) != 0;
  if (params.freeze_embeddings &&
      (name.rfind("tokens.", 0) == 0 || name.rfind("positions.", 0) == 0 || name.rfind("norm.", 0) == 0 ||
       name.rfind("word_features.", 0) == 0)) {
    return true;
  }
  if (name.rfind("layers.", 0) != 0) return false;
  const int layer = std::stoi(name.substr(7));
  return layer < params.freeze_layers;
}

// AdamW over the trainable parameters of `model`: one group, or with
// layer-wise decay one group per learning-rate factor (their factors in
// `scales`, in the groups' order).
std::unique_ptr<torch::optim::AdamW> MakeOptimizer(EncoderClassifier& model, const TrainingParams& params,
                                                   std::vector<double>* scales) {
  torch::optim::AdamWOptions opts(params.lr);
  opts.weight_decay(params.weight_decay);
  std::vector<std::vector<torch::Tensor>> grouped;
  for (auto& item : model->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    const double scale = LayerLrScale(item.key(), model->shape().layers, params.layer_lr_decay);
    auto at = std::find(scales->begin(), scales->end(), scale);
    if (at == scales->end()) {
      scales->push_back(scale);
      grouped.emplace_back();
      at = scales->end() - 1;
    }
    grouped[static_cast<size_t>(at - scales->begin())].push_back(item.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (size_t g = 0; g < grouped.size(); ++g) {
    auto options = std::make_unique<torch::optim::AdamWOptions>(opts);
    options->lr(params.lr * (*scales)[g]);
    groups.emplace_back(grouped[g], std::move(options));
  }
  return std::make_unique<torch::optim::AdamW>(groups, opts);
}

}  // namespace

double LayerLrScale(const std::string& name, int layers, double decay) {
  if (decay >= 1 || name.rfind("head.", 0) == 0) return 1;
  if (name.rfind("layers.", 0) == 0) return std::pow(decay, layers - 1 - std::stoi(name.substr(7)));
  return std::pow(decay, layers);  // the embeddings: tokens, positions, token types and their norm
}

DataParallelStep::DataParallelStep(const ModelShape& shape, const TrainingParams& params, Communicator* comm,
                                   BucketOptions buckets, Placement placement)
    : params_(params), comm_(comm), placement_(placement) {
  torch::manual_seed(static_cast<uint64_t>(params.seed));
  model_ = EncoderClassifier(shape);
  for (auto& item : model_->named_parameters()) {
    if (Frozen(item.key(), params)) {
      item.value().set_requires_grad(false);
      frozen_numel_ += item.value().numel();
    }
  }
  optimizer_ = MakeOptimizer(model_, params, &lr_scales_);
  sync_ = std::make_unique<GradientSync>(model_->parameters(), comm, buckets);
}

Status DataParallelStep::Init() {
  PS_RETURN_IF_ERROR(CheckSupported(placement_));
  PS_RETURN_IF_ERROR(sync_->BroadcastParameters());
  torch::manual_seed(static_cast<uint64_t>(params_.seed) * 1000003ULL + static_cast<uint64_t>(comm_->rank()) + 1);
  return Status::Ok();
}

StatusOr<double> DataParallelStep::Step(const Batch& batch, double lr) {
  return Step(std::vector<Batch>{batch}, lr);
}

StatusOr<double> DataParallelStep::Step(const std::vector<Batch>& micro_batches, double lr) {
  model_->train();
  // Full batches on every rank: the union's count, known ahead (per-token
  // heads: unknown, the sync learns it).
  sync_->ZeroGrad(model_->head().per_token() ? 0
                                             : static_cast<int64_t>(params_.batch_size) * comm_->size() *
                                                   static_cast<int64_t>(micro_batches.size()));
  for (size_t m = 0; m < micro_batches.size(); ++m) {
    const Batch batch = OnDevice(micro_batches[m], placement_.device);
    const bool last = m + 1 == micro_batches.size();
    if (!batch.labels.defined() || batch.labels.size(0) == 0) {
      sync_->BeginBackward(0, 0, last);
      continue;
    }
    // The backward of the scaled loss sum (the sync makes it the union's mean).
    auto scored = model_->ForwardScored(batch.ids, batch.pad, batch.labels, batch.types, batch.features);
    LossSum loss = HeadLoss(scored.logits, scored.targets);
    if (loss.count == 0) {  // no token of this micro-batch is scored
      sync_->BeginBackward(0, 0, last);
      continue;
    }
    sync_->BeginBackward(loss.sum.item<double>(), loss.count, last);
    (loss.sum * sync_->loss_scale()).backward();
  }
  auto mean_loss = sync_->Finish();
  if (!mean_loss.ok()) return mean_loss.status();
  if (params_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), params_.grad_clip);
  auto& groups = optimizer_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    static_cast<torch::optim::AdamWOptions&>(groups[g].options()).lr(lr * lr_scales_[g]);
  }
  optimizer_->step();
  return *mean_loss;
}

}  // namespace polysweep
