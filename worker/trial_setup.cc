#include "worker/trial_setup.h"

#include <algorithm>

#include "common/wire_config.h"
#include "common/word_features.h"
#include "worker/trainer.h"

namespace polysweep {

namespace {

// The manifest and the train and valid shards of the assignment's data.
Status ReadData(const wire::Assignment& a, TrialSetup* s) {
  const std::string& dir = a.data().shard_dir();
  auto manifest = LoadManifest(dir + "/manifest.json");
  if (!manifest.ok()) return manifest.status();
  s->manifest = std::move(*manifest);
  auto train = ShardSet::Open(s->manifest, dir, kTrain);
  if (!train.ok()) return train.status();
  auto valid = ShardSet::Open(s->manifest, dir, kValid);
  if (!valid.ok()) return valid.status();
  s->train = std::move(*train);
  s->valid = std::move(*valid);
  return Status::Ok();
}

// The task and how its batches are masked; refuses a task whose labels the
// batches cannot carry.
StatusOr<TaskKind> ReadTask(const wire::Assignment& a, const ModelConfig& model, TrialSetup* s) {
  auto parsed = ParseTaskKind(model.task);
  if (!parsed.ok()) return parsed.status().With("model.task").As(StatusCode::kInvalidConfig);
  const TaskKind task = *parsed;
  const LabelKind label = Task(task).label;
  const bool tagged_shards = s->manifest.tag_scheme != TagScheme::kAuto;
  if ((label == LabelKind::kTokenClassIds) != tagged_shards) {
    return Status::DataError(a.data().shard_dir() + "/manifest.json: the shards hold " +
                             (tagged_shards ? "tagged words" : "one label per text") + ", but model.task " +
                             TaskKindName(task) + " needs " + LabelKindDescription(label) + ": shard again");
  }
  if ((label == LabelKind::kRealValue) != s->manifest.real_labels ||
      (label == LabelKind::kMultiHot) != s->manifest.multi_label) {
    const char* held = s->manifest.real_labels   ? "a number per text"
                       : s->manifest.multi_label ? "a set of labels per text"
                                                 : "labels";
    return Status::DataError(a.data().shard_dir() + "/manifest.json: the shards hold " + held + ", but model.task " +
                             TaskKindName(task) + " needs " + LabelKindDescription(label) + ": shard again");
  }
  if (label == LabelKind::kMaskedTokens) {
    if (s->manifest.mask_id < 0) {
      return Status::DataError(a.data().shard_dir() +
                                   "/manifest.json: the tokenizer has no <pad> piece, which masked_lm uses as "
                                   "its mask token; train the tokenizer with polysweep (no data.tokenizer)");
    }
    s->masking = MaskingSpec{s->params.mask_prob, s->manifest.mask_id, s->manifest.vocab_size,
                             static_cast<uint64_t>(s->params.seed)};
  }
  return task;
}

BucketOptions Buckets(const wire::Assignment& a) {
  BucketOptions buckets;
  if (a.bucket_mb() > 0) buckets.bucket_bytes = static_cast<size_t>(a.bucket_mb() * (1 << 20));
  if (a.first_bucket_mb() > 0) buckets.first_bucket_bytes = static_cast<size_t>(a.first_bucket_mb() * (1 << 20));
  if (a.has_overlap()) buckets.overlap = a.overlap();
  return buckets;
}

CheckpointRules Rules(const wire::Assignment& a, const TrainingParams& params) {
  CheckpointRules r;
  r.checkpoints = !a.checkpoint_dir().empty();
  r.max_steps = a.max_steps();
  r.stop_at = a.stop_at_step() > 0 ? std::min(a.stop_at_step(), r.max_steps) : r.max_steps;
  r.eval_every = a.eval_every();
  r.checkpoint_every = a.checkpoint_every();
  r.checkpoint_every_seconds = r.checkpoints ? a.checkpoint_every_seconds() : 0;
  r.keep_best = r.checkpoints && a.keep_best_checkpoints() > 0;
  r.patience = params.early_stopping_patience;
  return r;
}

// The shape of a model fine-tuned from the Hugging Face checkpoint in
// `dir` (checked whole by the sweep before any trial started).
StatusOr<ModelShape> HfShape(const std::string& dir, TaskKind task, int classes, double dropout, const LoraSpec& lora) {
  auto base = OpenHfCheckpoint(dir);
  if (!base.ok()) return base.status().As(StatusCode::kInvalidConfig);
  return HfModelShape(base->config, base->layout, task, classes, dropout, lora);
}

}  // namespace

StatusOr<TrialSetup> SetUpTrial(const wire::Assignment& a) {
  TrialSetup s;
  for (const auto& [name, text] : a.hparams()) {
    Status applied = ApplyHyperparameter(&s.params, name, ParamValue::Parse(text));
    if (!applied.ok()) return applied.As(StatusCode::kInvalidConfig);
  }
  if (Status read = ReadData(a, &s); !read.ok()) return read.As(StatusCode::kDataError);
  const ModelConfig model = ModelFromWire(a.model());
  auto task = ReadTask(a, model, &s);
  if (!task.ok()) return task.status();
  const TrainingParams& p = s.params;
  const int num_labels = static_cast<int>(s.manifest.labels.size());
  const int num_langs = static_cast<int>(s.manifest.languages.size());
  s.max_length = model.max_length;
  const EncoderDims dims{s.manifest.vocab_size, model.layers, model.hidden, model.heads, model.ffn, s.max_length};
  LoraSpec lora;
  if (p.lora) lora = LoraSpec{p.lora_rank, p.lora_alpha, p.lora_targets};
  s.shape = MakeModelShape(dims, *task, num_labels, p.dropout, lora);
  if (!model.init.empty() && IsHfModelDir(model.init)) {
    auto hf = HfShape(model.init, *task, num_labels, p.dropout, lora);
    if (!hf.ok()) return hf.status();
    s.shape = *hf;
    if (s.manifest.vocab_size > s.shape.vocab) {
      return Status::InvalidConfig("the shards' tokenizer has " + std::to_string(s.manifest.vocab_size) +
                                   " ids, the checkpoint " + model.init + " " + std::to_string(s.shape.vocab));
    }
  }
  s.shape.word_features = model.word_features;
  s.shape.word_dropout = p.word_dropout;
  if (model.word_features > 0 && s.train->size() > 0 && s.train->Get(0).feature_width != kWordFeatures) {
    return Status::DataError("model.word_features needs shards with " + std::to_string(kWordFeatures) +
                             " word features per piece (tagged sentences, shard version 4); these have " +
                             (s.train->Get(0).feature_width == 0 ? std::string("none")
                                                                  : std::to_string(s.train->Get(0).feature_width)) +
                             ": shard the data again with `polysweep shard --force`");
  }
  if (p.freeze_layers > s.shape.layers) {
    return Status::InvalidConfig("hyperparameter freeze_layers = " + std::to_string(p.freeze_layers) +
                                 " is more than the model's " + std::to_string(s.shape.layers) +
                                 " layers (model.layers)");
  }
  s.buckets = Buckets(a);
  s.sampling = SamplingPlan{s.train->language_sizes(), a.data().sampling_alpha(), static_cast<uint64_t>(p.seed)};
  s.eval = EvalSpec{*task, num_labels, num_langs, TrialSetup::kPad, s.max_length, s.masking, s.placement.device};
  s.eval.threshold = p.threshold;
  if ((Task(*task).label == LabelKind::kTokenClassIds && HasSpans(s.manifest.tag_scheme)) ||
      Task(*task).label == LabelKind::kMultiHot) {
    s.eval.named_labels = s.manifest.labels;
  }
  s.metric = MetricFromWire(a.metric());
  s.rules = Rules(a, p);
  if (s.rules.stop_at < s.rules.max_steps && !s.rules.checkpoints) {
    return Status::InvalidConfig("stop_at_step " + std::to_string(s.rules.stop_at) +
                                 " needs a checkpoint_dir to pause in");
  }
  return s;
}

}  // namespace polysweep
