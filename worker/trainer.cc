#include "worker/trainer.h"

#include <chrono>
#include <limits>

#include "common/hparams.h"
#include "common/objective.h"
#include "common/manifest.h"
#include "common/shard_set.h"
#include "worker/checkpoint.h"
#include "worker/heartbeat.h"
#include "worker/init_weights.h"
#include "worker/masking.h"
#include "worker/metrics.h"
#include "worker/prefetcher.h"
#include "worker/train_step.h"

namespace polysweep {

namespace {

// How a masked-language model is evaluated: the same masks every time.
struct Masking {
  double prob = 0;  // 0: not a masked-language model
  int mask_id = 0;
  int vocab = 0;
  uint64_t seed = 0;
};

// Per-token evaluation (masked_lm): accuracy and loss over the masked
// tokens, per language, of this rank's shard, summed over ranks.
StatusOr<EvalMetrics> EvaluateTokens(EncoderClassifier& model, const ExampleSource& split, const Masking& masking,
                                     int num_langs, int pad_id, int max_length, Communicator* comm,
                                     Liveness* liveness, int64_t step) {
  TokenCounts counts(num_langs);
  constexpr size_t kEvalBatch = 128;
  std::vector<int64_t> mine;
  for (int64_t i = comm->rank(); i < split.size(); i += comm->size()) mine.push_back(i);
  for (size_t begin = 0; begin < mine.size(); begin += kEvalBatch) {
    std::vector<int64_t> idx(mine.begin() + begin, mine.begin() + std::min(mine.size(), begin + kEvalBatch));
    Batch b = MakeBatch(split, idx, pad_id, max_length);
    // Masks seeded by the batch, not the step: every evaluation masks alike.
    MaskTokens(&b, masking.prob, masking.mask_id, masking.vocab, MaskSeed(masking.seed, -1, 0, static_cast<int>(idx[0])));
    if (liveness) liveness->Tick(step);
    auto scored = model->ForwardScored(b.ids, b.pad, b.labels);
    auto losses = torch::nn::functional::cross_entropy(
        scored.logits, scored.targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    auto pred = scored.logits.argmax(-1);
    auto pred_a = pred.accessor<int64_t, 1>();
    auto target_a = scored.targets.accessor<int64_t, 1>();
    auto index_a = scored.index.accessor<int64_t, 1>();
    auto loss_a = losses.accessor<float, 1>();
    const int64_t length = b.labels.size(1);
    for (int64_t i = 0; i < scored.targets.size(0); ++i) {
      counts.Add(b.langs[static_cast<size_t>(index_a[i] / length)], pred_a[i] == target_a[i], loss_a[i]);
    }
  }
  if (comm->size() > 1) PS_RETURN_IF_ERROR(comm->AllReduceSum(counts.raw().data(), counts.raw().size()));
  return counts.Compute();
}

// Evaluates on this rank's shard of `split` and sums the counts over ranks.
StatusOr<EvalMetrics> Evaluate(EncoderClassifier& model, const ExampleSource& split, int num_labels,
                               int num_langs, int pad_id, int max_length, Communicator* comm, Liveness* liveness,
                               int64_t step, const Masking& masking) {
  torch::NoGradGuard no_grad;
  model->eval();
  if (masking.prob > 0) {
    return EvaluateTokens(model, split, masking, num_langs, pad_id, max_length, comm, liveness, step);
  }
  ConfusionCounts counts(num_labels, num_langs);
  constexpr size_t kEvalBatch = 128;
  std::vector<int64_t> mine;
  for (int64_t i = comm->rank(); i < split.size(); i += comm->size()) mine.push_back(i);
  for (size_t begin = 0; begin < mine.size(); begin += kEvalBatch) {
    std::vector<int64_t> idx(mine.begin() + begin, mine.begin() + std::min(mine.size(), begin + kEvalBatch));
    Batch b = MakeBatch(split, idx, pad_id, max_length);
    if (liveness) liveness->Tick(step);
    auto logits = model->forward(b.ids, b.pad);
    auto losses = torch::nn::functional::cross_entropy(
        logits, b.labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    auto pred = logits.argmax(1);
    auto pred_a = pred.accessor<int64_t, 1>();
    auto label_a = b.labels.accessor<int64_t, 1>();
    auto loss_a = losses.accessor<float, 1>();
    for (size_t r = 0; r < idx.size(); ++r) {
      counts.Add(b.langs[r], static_cast<int>(label_a[r]), static_cast<int>(pred_a[r]), loss_a[r]);
    }
  }
  if (comm->size() > 1) PS_RETURN_IF_ERROR(comm->AllReduceSum(counts.raw().data(), counts.raw().size()));
  return counts.Compute();
}

wire::Evaluation ToWire(const EvalMetrics& m, int64_t step, bool final, const wire::DataSpec& data) {
  wire::Evaluation e;
  e.set_step(step);
  e.set_loss(m.loss);
  e.set_accuracy(m.accuracy);
  e.set_macro_f1(m.macro_f1);
  e.set_final(final);
  for (size_t l = 0; l < m.languages.size(); ++l) {
    if (m.languages[l].count == 0) continue;
    auto* s = e.add_languages();
    s->set_lang(data.languages(static_cast<int>(l)));
    s->set_f1(m.languages[l].f1);
    s->set_accuracy(m.languages[l].accuracy);
    s->set_count(static_cast<int32_t>(m.languages[l].count));
  }
  return e;
}

// Reports the reports an earlier attempt made before `restored` was taken
// that the coordinator had not acknowledged; the journal stores each step
// once, so those it did receive are not stored twice.
Status ReplayUnacknowledged(const CheckpointManifest& restored, Reporter* reporter, const Logger& log) {
  if (!restored.unacknowledged || restored.unacknowledged->empty()) return Status::Ok();
  int progress = 0, evaluations = 0;
  for (const wire::Envelope& report : *restored.unacknowledged) {
    if (report.has_progress()) {
      PS_RETURN_IF_ERROR(reporter->Progress(report.progress()));
      ++progress;
    } else if (report.has_evaluation()) {
      PS_RETURN_IF_ERROR(reporter->Evaluation(report.evaluation()));
      ++evaluations;
    }
  }
  log.Info("replayed " + std::to_string(progress) + " progress reports and " + std::to_string(evaluations) +
           " evaluations the coordinator had not acknowledged when the checkpoint was taken");
  return Status::Ok();
}

}  // namespace

StatusOr<TrainResult> RunTrial(const wire::Assignment& a, Communicator* comm, Reporter* reporter,
                               const Logger& log, Liveness* liveness, const std::atomic<bool>* preempt,
                               std::string* reason) {
  auto classed = [reason](const Status& s, const char* why) {
    if (reason) *reason = why;
    return s;
  };
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  TrainingParams params;
  for (const auto& [name, text] : a.hparams()) {
    Status s = ApplyHyperparameter(&params, name, ParamValue::Parse(text));
    if (!s.ok()) return classed(s, kBadConfig);
  }
  const std::string& dir = a.data().shard_dir();
  auto manifest = LoadManifest(dir + "/manifest.json");
  if (!manifest.ok()) return classed(manifest.status(), kDataError);
  auto train = ShardSet::Open(*manifest, dir, kTrain);
  if (!train.ok()) return classed(train.status(), kDataError);
  auto valid = ShardSet::Open(*manifest, dir, kValid);
  if (!valid.ok()) return classed(valid.status(), kDataError);
  const int num_labels = static_cast<int>(manifest->labels.size());
  const int num_langs = static_cast<int>(manifest->languages.size());
  const int max_length = a.model().max_length();
  constexpr int kPad = 0;  // padded positions are masked, any id serves

  ModelShape shape;
  if (!a.model().task().empty()) {
    auto task = ParseTaskKind(a.model().task());
    if (!task.ok()) return classed(task.status().With("model.task"), kBadConfig);
    shape.task = *task;
  }
  Masking masking;
  if (shape.task == TaskKind::kMaskedLm) {
    if (manifest->mask_id < 0) {
      return classed(Status::Error(dir + "/manifest.json: the tokenizer has no <pad> piece, which masked_lm uses as "
                                         "its mask token; train the tokenizer with polysweep (no data.tokenizer)"),
                     kDataError);
    }
    masking = Masking{params.mask_prob, manifest->mask_id, manifest->vocab_size, static_cast<uint64_t>(params.seed)};
  } else if (shape.task != TaskKind::kSequenceClassification) {
    return classed(Status::Error(std::string("model.task ") + TaskKindName(shape.task) +
                                 ": the shards hold one label per text; this task needs labels per token"),
                   kBadConfig);
  }
  shape.vocab = manifest->vocab_size;
  shape.classes = num_labels;
  shape.layers = a.model().layers();
  shape.hidden = a.model().hidden();
  shape.heads = a.model().heads();
  shape.ffn = a.model().ffn();
  shape.max_length = max_length;
  shape.dropout = params.dropout;
  if (params.lora) shape.lora = LoraSpec{params.lora_rank, params.lora_alpha, params.lora_targets};
  if (params.freeze_layers > shape.layers) {
    return classed(Status::Error("hyperparameter freeze_layers = " + std::to_string(params.freeze_layers) +
                                 " is more than the model's " + std::to_string(shape.layers) + " layers (model.layers)"),
                   kBadConfig);
  }
  BucketOptions buckets;
  if (a.bucket_mb() > 0) buckets.bucket_bytes = static_cast<size_t>(a.bucket_mb() * (1 << 20));
  if (a.first_bucket_mb() > 0) buckets.first_bucket_bytes = static_cast<size_t>(a.first_bucket_mb() * (1 << 20));
  if (a.has_overlap()) buckets.overlap = a.overlap();
  DataParallelStep trainer(shape, params, comm, buckets);
  // Rank 0 loads the initial encoder; Init() copies rank 0's weights to all.
  if (!a.model().init().empty() && comm->rank() == 0) {
    auto loaded = LoadEncoderWeights(trainer.model(), a.model().init());
    if (!loaded.ok()) return classed(loaded.status(), kBadConfig);
    log.Info("encoder initialised with " + *loaded);
  }
  PS_RETURN_IF_ERROR(trainer.Init());

  const int world = comm->size();
  const int accumulation = params.grad_accumulation;
  const size_t buckets_n = trainer.sync().buckets();
  const int64_t global_batch = static_cast<int64_t>(params.batch_size) * params.grad_accumulation * world;
  const int64_t max_steps = a.max_steps();
  SamplingPlan plan{(*train)->language_sizes(), a.data().sampling_alpha(), static_cast<uint64_t>(params.seed)};
  log.Info("training " + std::to_string(max_steps) + " steps: " + std::to_string((*train)->size()) + " train / " +
           std::to_string((*valid)->size()) + " valid examples in " + std::to_string(num_langs) +
           " languages, " + std::to_string(trainer.sync().numel()) + " trained parameters" +
           (trainer.frozen_numel() > 0 ? " (" + std::to_string(trainer.frozen_numel()) + " frozen)" : "") +
           ", global batch " + std::to_string(global_batch) +
           (accumulation > 1 ? " (" + std::to_string(accumulation) + " micro-batches per step)" : "") +
           ", " + std::to_string(buckets_n) + " gradient buckets, backend " + comm->name());
  // Resume from the newest good checkpoint of an earlier attempt, if any.
  std::optional<Checkpointer> checkpoints;
  int64_t first_step = 1;
  ReaderPosition start;
  // Early stopping: evaluations since the best score (NaN never counts as
  // better), continued from the checkpoint a resumed trial starts from.
  double best_score = -std::numeric_limits<double>::infinity();
  int evals_since_best = 0;
  bool restored_reports_unknown = false;  // resumed from a manifest without its unacknowledged reports
  if (!a.checkpoint_dir().empty()) {
    checkpoints.emplace(a.checkpoint_dir(), a.keep_checkpoints(), comm, log, a.keep_best_checkpoints());
    auto restored = checkpoints->Restore(trainer.model(), trainer.optimizer());
    if (!restored.ok()) return restored.status();
    if (*restored) {
      auto pos = ReaderPosition::Decode((*restored)->position);
      if (!pos.ok()) return pos.status();
      start = *pos;
      first_step = (*restored)->step + 1;
      restored_reports_unknown = !(*restored)->unacknowledged.has_value();
      // Dropout continues from the saved RNG state; without one (saved by a
      // different number of ranks) from a seed of (seed, rank, step), not
      // from the start.
      if (!checkpoints->rng_restored()) {
        torch::manual_seed(static_cast<uint64_t>(params.seed) * 1000003ULL +
                           static_cast<uint64_t>(comm->rank()) * 7919ULL + static_cast<uint64_t>(first_step));
        const std::string why = "saved by " + std::to_string((*restored)->world_size) + " ranks";
        log.Info("RNG state not restored (" + why + "): dropout reseeded from the step");
      }
      int64_t bytes = 0;
      for (const auto& f : (*restored)->files) bytes += f.bytes;
      const double seconds = checkpoints->restore_seconds();
      char loaded[96];
      std::snprintf(loaded, sizeof loaded, "%.1f MB verified and loaded in %.2f s, %.1f MB/s", bytes / 1e6, seconds,
                    seconds > 0 ? bytes / 1e6 / seconds : 0.0);
      const EarlyStopCount& count = (*restored)->early_stop;
      if (count.best_score) best_score = *count.best_score;
      evals_since_best = count.evals_since_best;
      const std::string patience =
          params.early_stopping_patience > 0 && count.best_score
              ? "; early stopping: " + std::to_string(evals_since_best) + " of " +
                    std::to_string(params.early_stopping_patience) + " evaluations since the best"
              : "";
      log.Info("resumed from the checkpoint at step " + std::to_string((*restored)->step) + " (" + loaded +
               "; reader at " + start.Encode() + ", written by " + std::to_string((*restored)->world_size) + " ranks" +
               patience + ")");
      if (reporter) PS_RETURN_IF_ERROR(ReplayUnacknowledged(**restored, reporter, log));
    }
  }
  BatchPrefetcher batches(**train, plan, start, params.batch_size, comm->rank(), world, kPad, max_length,
                          std::max(2, accumulation));
  const int64_t warmup = params.WarmupSteps(max_steps);

  // Where this attempt stops for the scheduler; moved on when the scheduler
  // promotes the trial there and then.
  int64_t stop_at = a.stop_at_step() > 0 ? std::min(a.stop_at_step(), max_steps) : max_steps;
  if (stop_at < max_steps && !checkpoints) {
    return classed(Status::Error("stop_at_step " + std::to_string(stop_at) + " needs a checkpoint_dir to pause in"),
                   kBadConfig);
  }
  // Early stopping's count, saved with every checkpoint.
  auto Count = [&] {
    EarlyStopCount c;
    if (best_score > -std::numeric_limits<double>::infinity()) c.best_score = best_score;
    c.evals_since_best = evals_since_best;
    return c;
  };
  // What a checkpoint keeps for a resumed attempt to replay (rank 0's reports).
  auto Unacked = [&] { return reporter ? reporter->Unacknowledged() : std::vector<wire::Envelope>(); };
  // A checkpoint every rank has written and flushed: the trial may end here.
  auto Commit = [&](int64_t step, const ReaderPosition& after, std::optional<double> score = std::nullopt) -> Status {
    PS_RETURN_IF_ERROR(checkpoints->Save(trainer.model(), trainer.optimizer(), step, after, score, Count(), Unacked()));
    return checkpoints->Flush();
  };
  // Evaluations are scored as the coordinator scores them, so the best
  // checkpoints can be kept: with keep_best_checkpoints, every evaluation
  // (the final one too) is followed by a checkpoint.
  const MetricConfig metric{a.metric().name().empty() ? "macro_f1" : a.metric().name(), a.metric().over(),
                            a.metric().name().empty() || a.metric().maximize(), a.metric().min_language_f1()};
  const bool keep_best = checkpoints && a.keep_best_checkpoints() > 0;
  // Ends the trial early at `step`, flagged by `how` (paused, preempted, stopped).
  auto Ended = [&](int64_t step, bool TrainResult::*how) {
    TrainResult result;
    result.steps = step;
    result.*how = true;
    result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return StatusOr<TrainResult>(result);
  };
  if (first_step > max_steps && restored_reports_unknown) {
    // Resumed from the final checkpoint of a manifest that does not say
    // which reports were acknowledged: evaluate there again (the journal
    // keeps a step's evaluation once), so the trial ends evaluated.
    auto metrics = Evaluate(trainer.model(), **valid, num_labels, num_langs, kPad, max_length, comm, liveness,
                            max_steps, masking);
    if (!metrics.ok()) return metrics.status();
    if (reporter) PS_RETURN_IF_ERROR(reporter->Evaluation(ToWire(*metrics, max_steps, true, a.data())));
  }
  if (first_step > stop_at && stop_at < max_steps) {
    // Restarted after committing the checkpoint of its stop, before the
    // coordinator heard of the pause: evaluate there again and pause.
    auto metrics = Evaluate(trainer.model(), **valid, num_labels, num_langs, kPad, max_length, comm, liveness,
                            first_step - 1, masking);
    if (!metrics.ok()) return metrics.status();
    if (reporter) PS_RETURN_IF_ERROR(reporter->Evaluation(ToWire(*metrics, first_step - 1, false, a.data())));
    return Ended(first_step - 1, &TrainResult::paused);
  }
  const double every_seconds = checkpoints ? a.checkpoint_every_seconds() : 0;
  auto last_checkpoint = Clock::now();
  double loss_sum = 0;
  int64_t loss_n = 0, samples = (first_step - 1) * global_batch, window_samples = 0;
  auto window_start = Clock::now();
  for (int64_t step = first_step; step <= stop_at; ++step) {
    // One optimizer step of `accumulation` micro-batches; the reader
    // position after the last is where a checkpoint resumes.
    std::vector<Batch> micro;
    ReaderPosition after;
    int64_t consumed = 0;
    for (int m = 0; m < accumulation; ++m) {
      BatchPrefetcher::Item item = batches.Next();
      if (masking.prob > 0 && item.batch.ids.defined() && item.batch.ids.size(0) > 0) {
        MaskTokens(&item.batch, masking.prob, masking.mask_id, masking.vocab,
                   MaskSeed(masking.seed, step, comm->rank(), m));
      }
      micro.push_back(std::move(item.batch));
      after = item.after;
      consumed += item.global;
    }
    const double lr = ScheduledLr(params.lr_schedule, params.lr, step, warmup, max_steps);
    auto loss = trainer.Step(micro, lr);
    if (!loss.ok()) return loss.status();
    if (liveness) liveness->Tick(step);
    loss_sum += *loss;
    ++loss_n;
    samples += consumed;
    window_samples += consumed;
    if (reporter && (step % a.log_every() == 0 || step == max_steps)) {
      const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
      wire::Progress p;
      p.set_step(step);
      p.set_loss(loss_sum / static_cast<double>(loss_n));
      p.set_lr(lr);
      p.set_samples_per_sec(secs > 0 ? static_cast<double>(window_samples) / secs : 0);
      p.set_samples(samples);
      p.set_max_steps(max_steps);
      p.set_position(after.Encode());
      p.set_resumed_from(first_step - 1);
      PS_RETURN_IF_ERROR(reporter->Progress(p));
      loss_sum = 0;
      loss_n = 0;
      window_samples = 0;
      window_start = Clock::now();
    }
    // Every rank learns at the same step of a preemption signal any rank got,
    // of rank 0's clock saying a timed checkpoint is due, and of a command
    // the coordinator sent rank 0: no rank is left waiting in a collective.
    const bool timed_due = comm->rank() == 0 && every_seconds > 0 &&
                           std::chrono::duration<double>(Clock::now() - last_checkpoint).count() >= every_seconds;
    const wire::Command command = reporter ? reporter->command() : wire::COMMAND_NONE;
    float flags[3] = {preempt && preempt->load() ? 1.f : 0.f, timed_due ? 1.f : 0.f, static_cast<float>(command)};
    PS_RETURN_IF_ERROR(comm->AllReduceSum(flags, 3));
    const auto agreed = static_cast<wire::Command>(static_cast<int>(flags[2]));
    if (agreed == wire::COMMAND_STOP && step < max_steps) {
      log.Info("stopped by the coordinator at step " + std::to_string(step));
      return Ended(step, &TrainResult::stopped);
    }
    // Preempted or paused: ends at this step, after its evaluation if it
    // has one (the resumed attempt starts at the next step).
    const bool interrupted = (flags[0] > 0 || agreed == wire::COMMAND_PAUSE) && step < max_steps;
    const bool final = step == max_steps;
    bool rung = step == stop_at && !final;  // the scheduler decides here
    // At its stop, rank 0 waits for the scheduler's answer to the evaluation:
    // pause here, or (promoted there and then) train on to a later stop.
    const bool ask = rung && !interrupted;
    int64_t continue_to = 0;
    std::optional<double> score;
    if (final || rung || (a.eval_every() > 0 && step % a.eval_every() == 0)) {
      auto metrics = Evaluate(trainer.model(), **valid, num_labels, num_langs, kPad, max_length, comm, liveness, step, masking);
      if (!metrics.ok()) return metrics.status();
      const wire::Evaluation evaluation = ToWire(*metrics, step, final, a.data());
      if (reporter && ask) {
        auto to = reporter->EvaluationAtStop(evaluation);
        if (!to.ok()) return to.status();
        continue_to = *to;
      } else if (reporter) {
        PS_RETURN_IF_ERROR(reporter->Evaluation(evaluation));
      }
      score = ObjectiveScore(metric, ComputeObjective(metric, evaluation));
      window_start = Clock::now();  // evaluation time is not training throughput
      if (*score > best_score) {
        best_score = *score;
        evals_since_best = 0;
      } else {
        ++evals_since_best;
      }
    }
    if (ask) {
      // Every rank learns rank 0's answer (a step exact in two floats).
      float to[2] = {static_cast<float>(continue_to >> 20), static_cast<float>(continue_to & 0xFFFFF)};
      if (comm->size() > 1) PS_RETURN_IF_ERROR(comm->AllReduceSum(to, 2));
      const int64_t next = (static_cast<int64_t>(to[0]) << 20) + static_cast<int64_t>(to[1]);
      if (next > step) {
        stop_at = std::min(next, max_steps);
        rung = false;
        log.Info("promoted at step " + std::to_string(step) + " by the scheduler: trains on to step " +
                 std::to_string(stop_at) + " without pausing");
      }
    }
    const bool early_stop = params.early_stopping_patience > 0 && evals_since_best >= params.early_stopping_patience &&
                            score.has_value() && !final && !rung;
    const bool due = (a.checkpoint_every() > 0 && step % a.checkpoint_every() == 0) || flags[1] > 0 ||
                     (keep_best && score.has_value());
    // The final step is checkpointed only for keeping the best (the trial is over).
    if (checkpoints && due && !rung && !interrupted && (!final || (keep_best && score.has_value())) && !early_stop) {
      PS_RETURN_IF_ERROR(checkpoints->Save(trainer.model(), trainer.optimizer(), step, after, score, Count(), Unacked()));
      last_checkpoint = Clock::now();
    }
    if (interrupted && !early_stop && !rung) {
      if (checkpoints) PS_RETURN_IF_ERROR(Commit(step, after, score));
      const bool paused = agreed == wire::COMMAND_PAUSE;
      log.Info(std::string(paused ? "paused" : "preempted") + ": checkpoint committed at step " + std::to_string(step));
      return Ended(step, paused ? &TrainResult::paused : &TrainResult::preempted);
    }
    if (early_stop) {
      // Kept like the final step: a checkpoint only for keeping the best.
      if (keep_best) {
        PS_RETURN_IF_ERROR(Commit(step, after, score));
      } else if (checkpoints) {
        PS_RETURN_IF_ERROR(checkpoints->Flush());
      }
      log.Info("early stop at step " + std::to_string(step) + ": no better score in " +
               std::to_string(params.early_stopping_patience) + " evaluations");
      return Ended(step, &TrainResult::early_stopped);
    }
    if (rung) {
      PS_RETURN_IF_ERROR(Commit(step, after, score));
      log.Info("paused at step " + std::to_string(step) + " for the scheduler: checkpoint committed");
      return Ended(step, &TrainResult::paused);
    }
  }
  if (checkpoints) PS_RETURN_IF_ERROR(checkpoints->Flush());
  TrainResult result;
  result.steps = max_steps;
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return result;
}

}  // namespace polysweep
