#include "coordinator/scheduler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace polysweep {
namespace {

int64_t RungStep(double grace, double rf, int k) { return std::llround(grace * std::pow(rf, k)); }

// Each trial's steps per unit of the grace (1 unless set).
class StepScales {
 public:
  void Set(uint64_t trial, double steps) { scale_[trial] = steps; }
  double Of(uint64_t trial) const {
    auto it = scale_.find(trial);
    return it == scale_.end() ? 1.0 : it->second;
  }
  // Rung k of a ladder whose first rung is `grace` units, in the trial's
  // steps (at least 1).
  int64_t RungStep(uint64_t trial, double grace, double rf, int k) const {
    return std::max<int64_t>(1, std::llround(grace * std::pow(rf, k) * Of(trial)));
  }

 private:
  std::map<uint64_t, double> scale_;
};

// NaN (a diverged trial) ranks below everything.
double Sane(double score) { return std::isnan(score) ? -HUGE_VAL : score; }

// Scheduler::Continue for a scheduler whose state is a copyable value: the
// pause is tried on a copy, which replaces the state only if the trial is
// the one promoted next.
template <typename S>
std::optional<Promotion> ContinueOnCopy(S* s, uint64_t trial, int64_t step, double score, bool idle) {
  S paused = *s;
  paused.Paused(trial, step, score);
  std::optional<Promotion> p = paused.Promote(idle);
  if (!p || p->trial != trial) return std::nullopt;
  *s = std::move(paused);
  return p;
}

class Fifo : public Scheduler {
 public:
  std::string name() const override { return "fifo"; }
  void SetStepsPerUnit(uint64_t, double) override {}
  int64_t FirstStop(uint64_t, int64_t max_steps) const override { return max_steps; }
  bool Report(uint64_t, int64_t, double) override { return false; }
  void Paused(uint64_t, int64_t, double) override {}
  void Ended(uint64_t, bool) override {}
  std::optional<Promotion> Promote(bool) override { return std::nullopt; }
  void Promoted(uint64_t, int64_t) override {}
};

// One ASHA instance: rung k holds the scores of trials that reached step
// grace × rf^k; a paused trial is promotable from rung k when it is among the
// best floor(n_k / rf) of that rung and was not promoted from it before.
class Asha : public Scheduler {
 public:
  Asha(double grace, double rf) : grace_(grace), rf_(rf) {}
  std::string name() const override { return "asha"; }

  void SetStepsPerUnit(uint64_t trial, double steps) override { scales_.Set(trial, steps); }
  int64_t FirstStop(uint64_t trial, int64_t max_steps) const override {
    return std::min(RungAt(trial, 0), max_steps);
  }
  bool Report(uint64_t, int64_t, double) override { return false; }

  void Paused(uint64_t trial, int64_t step, double score) override {
    const int k = RungOf(trial, step);
    if (k < 0) return;  // not a rung step (a pause on request): no result
    if (rungs_.size() <= static_cast<size_t>(k)) rungs_.resize(k + 1);
    rungs_[k].scores[trial] = Sane(score);
    int& highest = paused_[trial];
    highest = std::max(highest, k);
  }

  void Ended(uint64_t trial, bool full_budget) override {
    ended_.insert(trial);
    completed_ |= full_budget;
  }

  std::optional<Promotion> Promote(bool idle) override {
    for (int k = static_cast<int>(rungs_.size()) - 1; k >= 0; --k) {
      std::vector<std::pair<double, uint64_t>> ranked = Ranked(k);
      const size_t quota = static_cast<size_t>(std::floor(static_cast<double>(ranked.size()) / rf_));
      for (size_t i = 0; i < quota; ++i) {
        if (Promotable(ranked[i].second, k)) return Take(ranked[i].second, k);
      }
    }
    if (!idle || completed_) return std::nullopt;
    // Nothing runs and nothing new comes: train the best of the highest rung on.
    for (int k = static_cast<int>(rungs_.size()) - 1; k >= 0; --k) {
      for (const auto& [score, trial] : Ranked(k)) {
        if (Promotable(trial, k)) return Take(trial, k);
      }
    }
    return std::nullopt;
  }

  void Promoted(uint64_t trial, int64_t stop_at) override {
    // Promoted from the rung below the one it now trains to.
    int k = 0;
    while (RungAt(trial, k + 1) < stop_at) ++k;
    if (rungs_.size() <= static_cast<size_t>(k)) rungs_.resize(k + 1);
    rungs_[k].promoted.insert(trial);
  }

  std::optional<Promotion> Continue(uint64_t trial, int64_t step, double score, bool idle) override {
    return ContinueOnCopy(this, trial, step, score, idle);
  }

 private:
  struct Rung {
    std::map<uint64_t, double> scores;
    std::set<uint64_t> promoted;
  };

  int64_t RungAt(uint64_t trial, int k) const { return scales_.RungStep(trial, grace_, rf_, k); }
  int RungOf(uint64_t trial, int64_t step) const {
    for (int k = 0;; ++k) {
      const int64_t r = RungAt(trial, k);
      if (r == step) return k;
      if (r > step) return -1;
    }
  }
  // Best first; ties by trial id, so the order never depends on arrival.
  std::vector<std::pair<double, uint64_t>> Ranked(int k) const {
    std::vector<std::pair<double, uint64_t>> out;
    for (const auto& [trial, score] : rungs_[k].scores) out.push_back({score, trial});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    return out;
  }
  bool Promotable(uint64_t trial, int k) const {
    auto it = paused_.find(trial);
    return it != paused_.end() && it->second == k && !rungs_[k].promoted.count(trial) && !ended_.count(trial);
  }
  Promotion Take(uint64_t trial, int k) {
    rungs_[k].promoted.insert(trial);
    return Promotion{trial, RungAt(trial, k + 1), k};
  }

  double grace_;  // units
  double rf_;
  StepScales scales_;
  std::vector<Rung> rungs_;
  // Trial -> the highest rung it paused at. It waits there unless it was
  // promoted from that rung or ended: a state that does not depend on the
  // order the facts arrive in.
  std::map<uint64_t, int> paused_;
  std::set<uint64_t> ended_;
  bool completed_ = false;  // a trial trained its full budget
};

class Hyperband : public Scheduler {
 public:
  // `whole_steps`: each bracket's grace is rounded to a step, as its rungs are.
  Hyperband(double grace, double rf, int brackets, bool whole_steps) {
    for (int b = 0; b < brackets; ++b) {
      const double g = grace * std::pow(rf, b);
      brackets_.emplace_back(whole_steps ? static_cast<double>(std::llround(g)) : g, rf);
    }
  }
  std::string name() const override { return "hyperband"; }
  void SetStepsPerUnit(uint64_t trial, double steps) override { brackets_[Bracket(trial)].SetStepsPerUnit(trial, steps); }
  int64_t FirstStop(uint64_t trial, int64_t max_steps) const override {
    return brackets_[Bracket(trial)].FirstStop(trial, max_steps);
  }
  bool Report(uint64_t, int64_t, double) override { return false; }
  void Paused(uint64_t trial, int64_t step, double score) override {
    brackets_[Bracket(trial)].Paused(trial, step, score);
  }
  void Ended(uint64_t trial, bool full_budget) override { brackets_[Bracket(trial)].Ended(trial, full_budget); }
  std::optional<Promotion> Promote(bool idle) override {
    for (auto& b : brackets_) {
      if (auto p = b.Promote(false)) return p;
    }
    if (!idle) return std::nullopt;
    for (auto& b : brackets_) {
      if (auto p = b.Promote(true)) return p;
    }
    return std::nullopt;
  }
  void Promoted(uint64_t trial, int64_t stop_at) override { brackets_[Bracket(trial)].Promoted(trial, stop_at); }
  std::optional<Promotion> Continue(uint64_t trial, int64_t step, double score, bool idle) override {
    return ContinueOnCopy(this, trial, step, score, idle);
  }

 private:
  size_t Bracket(uint64_t trial) const { return static_cast<size_t>((trial == 0 ? 0 : trial - 1) % brackets_.size()); }
  std::vector<Asha> brackets_;
};

class Median : public Scheduler {
 public:
  Median(double grace, int min_trials) : grace_(grace), min_trials_(min_trials) {}
  std::string name() const override { return "median"; }
  void SetStepsPerUnit(uint64_t trial, double steps) override { scales_.Set(trial, steps); }
  int64_t FirstStop(uint64_t, int64_t max_steps) const override { return max_steps; }

  // Trials are compared at the same point in units (steps, or epochs).
  bool Report(uint64_t trial, int64_t step_reached, double score) override {
    const double step = static_cast<double>(step_reached) / scales_.Of(trial);
    history_[trial][step] = Sane(score);
    if (step < grace_) return false;
    double best = -HUGE_VAL;
    for (const auto& [s, v] : history_[trial]) {
      if (s <= step) best = std::max(best, v);
    }
    std::vector<double> means;
    for (const auto& [other, curve] : history_) {
      if (other == trial || curve.empty() || curve.rbegin()->first < step) continue;
      double sum = 0;
      int n = 0;
      for (const auto& [s, v] : curve) {
        if (s > step) break;
        sum += v;
        ++n;
      }
      if (n > 0) means.push_back(sum / n);
    }
    if (static_cast<int>(means.size()) < min_trials_) return false;
    std::sort(means.begin(), means.end());
    const size_t m = means.size();
    const double median = m % 2 ? means[m / 2] : (means[m / 2 - 1] + means[m / 2]) / 2;
    return best < median;
  }
  void Paused(uint64_t, int64_t, double) override {}
  void Ended(uint64_t, bool) override {}
  std::optional<Promotion> Promote(bool) override { return std::nullopt; }
  void Promoted(uint64_t, int64_t) override {}

 private:
  double grace_;  // units
  int min_trials_;
  StepScales scales_;
  std::map<uint64_t, std::map<double, double>> history_;  // trial -> units -> score
};

}  // namespace

std::vector<int64_t> RungSteps(int64_t grace, double reduction_factor, int64_t max_steps) {
  std::vector<int64_t> out;
  for (int k = 0; grace > 0; ++k) {
    const int64_t r = RungStep(grace, reduction_factor, k);
    if (r >= max_steps) break;
    out.push_back(r);
  }
  out.push_back(max_steps);
  return out;
}

std::unique_ptr<Scheduler> MakeScheduler(const SchedulerConfig& c) {
  const bool steps = c.unit == BudgetUnit::kSteps;
  const double grace = steps ? static_cast<double>(c.grace) : c.grace_epochs;
  switch (c.kind) {
    case SchedulerKind::kFifo: return std::make_unique<Fifo>();
    case SchedulerKind::kAsha: return std::make_unique<Asha>(grace, c.reduction_factor);
    case SchedulerKind::kHyperband: return std::make_unique<Hyperband>(grace, c.reduction_factor, c.brackets, steps);
    case SchedulerKind::kMedian: return std::make_unique<Median>(grace, c.min_trials);
  }
  return std::make_unique<Fifo>();
}

}  // namespace polysweep
