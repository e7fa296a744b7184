// Training hyperparameters a trial can set, fixed in the config's `training`
// block or searched in `search.space`. One table declares each name, its type
// and its valid values; the config parser, the coordinator (which sends the
// resolved set) and the worker all go through it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/search_space.h"
#include "common/status.h"

namespace polysweep {

struct TrainingParams {
  double lr = 5e-4;           // peak learning rate of AdamW
  int batch_size = 32;        // examples per rank per micro-batch
  int grad_accumulation = 1;  // micro-batches per optimizer step
  int warmup_steps = 30;      // linear warmup from 0 to lr
  double warmup_ratio = 0;    // > 0: warmup is this fraction of the steps (overrides warmup_steps)
  std::string lr_schedule = "linear";  // after warmup: linear | cosine decay to 0, or constant
  double weight_decay = 0.01;
  double dropout = 0.1;
  double grad_clip = 1.0;     // max global gradient norm; 0 disables
  bool freeze_embeddings = false;  // token and position embeddings (and their norm) not trained
  int freeze_layers = 0;      // the bottom N encoder layers not trained
  // Layer-wise learning-rate decay: the top layer (and the head) train at
  // the scheduled lr, each layer below at decay times the one above, the
  // embeddings at decay^layers; 1: every parameter at the same lr.
  double layer_lr_decay = 1;
  int early_stopping_patience = 0;  // > 0: end after this many evaluations without a better score
  bool lora = false;          // low-rank adapters: only they (and the head) train
  int lora_rank = 8;
  double lora_alpha = 16;
  std::string lora_targets = "attention";  // attention (qkv, out) | qkv | all (and the feed-forward)
  int seed = 1;
  double mask_prob = 0.15;    // model.task masked_lm: the fraction of tokens masked
  // model.task multi_label_classification: a label is predicted when its
  // probability is at least this.
  double threshold = 0.5;
  // model.word_features: the chance that a piece's whole-word feature (its
  // word's lowercase form) is left out in a training step, so that the
  // tagger learns to tag from endings and shape, as it must for unseen words.
  double word_dropout = 0;
  // > 0: the trial trains this many epochs (a fixed or searched
  // hyperparameter); 0: budget.epochs or budget.max_steps decides.
  double epochs = 0;

  // Warmup steps of a run of `max_steps` steps.
  int64_t WarmupSteps(int64_t max_steps) const;
};

// The learning rate at `step` (1-based) of `max_steps`: linear warmup over
// `warmup` steps, then `schedule` (linear | cosine decay to 0, constant).
double ScheduledLr(const std::string& schedule, double peak, int64_t step, int64_t warmup, int64_t max_steps);

// Names accepted in `training` and `search.space`.
const std::vector<std::string>& KnownHyperparameters();

// Sets `name` to `value`, checking type and range. The message names the
// hyperparameter and the accepted values.
Status ApplyHyperparameter(TrainingParams* params, const std::string& name,
                           const ParamValue& value);

// Applies every entry of `assignment` in order.
Status ApplyAssignment(TrainingParams* params, const ParamAssignment& assignment);

// Every hyperparameter of `params` as text ApplyHyperparameter accepts back:
// what the coordinator sends, so a worker needs no defaults of its own.
std::map<std::string, std::string> FormatHyperparameters(const TrainingParams& params);

}  // namespace polysweep
