// The sweep's progress line, every kProgressEverySeconds: trials ended and
// running, the best so far, the share of the steps done, and an ETA at the
// rate this coordinator has seen. From memory, not a journal snapshot: a
// sweep of 10,000 trials pays one pass over its trials every 30 s, and one
// query for the best.
#include <cmath>

#include "common/format.h"
#include "coordinator/coordinator.h"

namespace polysweep {

void Coordinator::LogSweepProgress() {
  constexpr double kProgressEverySeconds = 30;
  const double now = Now();
  if (progress_logged_at_ != 0 && now - progress_logged_at_ < kProgressEverySeconds) return;
  int ended = 0, running = 0;
  int64_t done = 0, left = 0, full = 0;
  for (const auto& [id, t] : trials_) {
    const int64_t step = t->last_progress.step();
    done += step;
    full = std::max(full, t->max_steps);
    if (IsFinal(t->state)) {
      ++ended;
    } else {
      running += t->state == TrialState::kRunning;
      left += std::max<int64_t>(0, t->max_steps - step);
    }
  }
  left += std::max<int64_t>(0, config_.budget.max_trials - static_cast<int64_t>(trials_.size())) * full;
  if (progress_logged_at_ == 0) {  // the first line after a full interval, at this run's rate
    progress_logged_at_ = progress_started_at_ = now;
    progress_steps_at_start_ = done;
    return;
  }
  const double rate = static_cast<double>(done - progress_steps_at_start_) / (now - progress_started_at_);
  progress_logged_at_ = now;
  const double fraction = done + left > 0 ? static_cast<double>(done) / static_cast<double>(done + left) : 0;
  const int filled = static_cast<int>(std::lround(fraction * 20));
  std::string line = "sweep [" + std::string(filled, '#') + std::string(20 - filled, '-') + "] " +
                     std::to_string(static_cast<int>(fraction * 100)) + "% of the steps: " + std::to_string(ended) +
                     " of " + std::to_string(config_.budget.max_trials) + " trials ended, " + std::to_string(running) +
                     " running";
  auto best = journal_->BestEvaluation(config_.metric.maximize);
  if (best.ok() && *best) {
    line += ", best " + config_.metric.name + " " + Fixed((*best)->objective, 4) + " (trial " +
            std::to_string((*best)->trial) + ")" + ((*best)->feasible ? "" : ", infeasible");
  }
  if (rate > 0) line += ", eta at most " + Duration(static_cast<double>(left) / rate);
  log_.Info(line);
}

}  // namespace polysweep
