#include "worker/trial_resume.h"

#include <cstdio>

#include "worker/trial_report.h"

namespace polysweep {

namespace {

// "12.3 MB verified and loaded in 0.10 s, 123.0 MB/s"
std::string LoadedText(const CheckpointManifest& restored, double seconds) {
  int64_t bytes = 0;
  for (const auto& f : restored.files) bytes += f.bytes;
  char loaded[96];
  std::snprintf(loaded, sizeof loaded, "%.1f MB verified and loaded in %.2f s, %.1f MB/s", bytes / 1e6, seconds,
                seconds > 0 ? bytes / 1e6 / seconds : 0.0);
  return loaded;
}

}  // namespace

StatusOr<ResumePoint> ResumeTrial(Checkpointer& checkpoints, DataParallelStep& step, const TrainingParams& params,
                                  int rank, CheckpointPolicy* policy, Reporter* reporter, const Logger& log) {
  ResumePoint point;
  auto restored = checkpoints.Restore(step.model(), step.optimizer());
  if (!restored.ok()) return restored.status();
  if (!*restored) return point;
  const CheckpointManifest& m = **restored;
  auto pos = ReaderPosition::Decode(m.position);
  if (!pos.ok()) return pos.status();
  point.start = *pos;
  point.first_step = m.step + 1;
  point.reports_unknown = !m.unacknowledged.has_value();
  // Dropout continues from the saved RNG state; without one (saved by a
  // different number of ranks) from a seed of (seed, rank, step), not from
  // the start.
  if (!checkpoints.rng_restored()) {
    torch::manual_seed(static_cast<uint64_t>(params.seed) * 1000003ULL + static_cast<uint64_t>(rank) * 7919ULL +
                       static_cast<uint64_t>(point.first_step));
    log.Info("RNG state not restored (saved by " + std::to_string(m.world_size) +
             " ranks): dropout reseeded from the step");
  }
  policy->Restore(m.early_stop);
  const std::string patience =
      params.early_stopping_patience > 0 && m.early_stop.best_score
          ? "; early stopping: " + std::to_string(policy->evals_since_best()) + " of " +
                std::to_string(params.early_stopping_patience) + " evaluations since the best"
          : "";
  log.Info("resumed from the checkpoint at step " + std::to_string(m.step) + " (" +
           LoadedText(m, checkpoints.restore_seconds()) + "; reader at " + point.start.Encode() + ", written by " +
           std::to_string(m.world_size) + " ranks" + patience + ")");
  if (reporter) PS_RETURN_IF_ERROR(ReplayUnacknowledged(m, reporter, log));
  return point;
}

}  // namespace polysweep
