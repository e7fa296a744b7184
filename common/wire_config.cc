#include "common/wire_config.h"

namespace polysweep {

void ModelToWire(const ModelConfig& model, wire::ModelSpec* out) {
  out->set_layers(model.layers);
  out->set_hidden(model.hidden);
  out->set_heads(model.heads);
  out->set_ffn(model.ffn);
  out->set_max_length(model.max_length);
  out->set_init(model.init);
  out->set_task(model.task);
  out->set_word_features(model.word_features);
}

ModelConfig ModelFromWire(const wire::ModelSpec& model) {
  ModelConfig m;
  m.layers = model.layers();
  m.hidden = model.hidden();
  m.heads = model.heads();
  m.ffn = model.ffn();
  m.max_length = model.max_length();
  m.init = model.init();
  if (!model.task().empty()) m.task = model.task();
  m.word_features = model.word_features();
  return m;
}

void MetricToWire(const MetricConfig& metric, wire::MetricSpec* out) {
  out->set_name(metric.name);
  out->set_over(metric.over);
  out->set_maximize(metric.maximize);
  out->set_min_language_f1(metric.min_language_f1);
}

MetricConfig MetricFromWire(const wire::MetricSpec& metric) {
  if (metric.name().empty()) return MetricConfig{};
  return MetricConfig{metric.name(), metric.over(), metric.maximize(), metric.min_language_f1()};
}

void TrialResourcesToWire(const TrialResources& trial, wire::Assignment* out) {
  out->set_threads(trial.threads_per_rank);
  out->set_backend(trial.backend);
  out->set_heartbeat_seconds(trial.heartbeat_seconds);
  out->set_checkpoint_every(trial.checkpoint_every);
  out->set_checkpoint_every_seconds(trial.checkpoint_every_seconds);
  out->set_keep_checkpoints(trial.keep_checkpoints);
  out->set_keep_best_checkpoints(trial.keep_best_checkpoints);
  out->set_synthetic_step_ms(trial.synthetic_step_ms);
  out->set_bucket_mb(trial.bucket_mb);
  out->set_first_bucket_mb(trial.first_bucket_mb);
  out->set_overlap(trial.overlap);
  out->set_collective_timeout_seconds(trial.collective_timeout_seconds);
}

}  // namespace polysweep
