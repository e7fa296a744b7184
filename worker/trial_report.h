// What a trial tells the coordinator (rank 0, through its Reporter):
// evaluations in their wire form, progress reports over a window of steps
// (the mean training loss and the throughput since the last report,
// evaluation time excluded), and, on a resume, the reports an earlier
// attempt made that the coordinator never acknowledged. Every rank keeps the
// window (it is cheap), so any rank could report.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/checkpoint_manifest.h"
#include "common/log.h"
#include "common/sampling.h"
#include "common/status.h"
#include "polysweep.pb.h"
#include "worker/metrics.h"
#include "worker/reporter.h"

namespace polysweep {

wire::Evaluation ToWire(const EvalMetrics& m, int64_t step, bool final, const wire::DataSpec& data);

// Reports the reports an earlier attempt made before `restored` was taken
// that the coordinator had not acknowledged; the journal stores each step
// once, so those it did receive are not stored twice.
Status ReplayUnacknowledged(const CheckpointManifest& restored, Reporter* reporter, const Logger& log);

class ProgressWindow {
 public:
  using Clock = std::chrono::steady_clock;
  // `samples`: examples the trial consumed before this attempt's first step.
  explicit ProgressWindow(int64_t samples);
  // A step's mean loss over all ranks and the examples it consumed (all ranks).
  void Add(double loss, int64_t consumed);
  // The report of the window up to `step`, which then starts afresh.
  wire::Progress Take(int64_t step, double lr, int64_t max_steps, const ReaderPosition& after, int64_t resumed_from);
  // Starts the throughput window now (after an evaluation, whose time is
  // not training throughput).
  void RestartClock() { start_ = Clock::now(); }

 private:
  double loss_sum_ = 0;
  int64_t loss_n_ = 0;
  int64_t samples_ = 0;
  int64_t window_samples_ = 0;
  Clock::time_point start_;
};

}  // namespace polysweep
