// Tests of the schedulers (coordinator/scheduler.h), driven by a simulated
// cluster with a fake clock: trials follow synthetic learning curves whose
// ranking is known, every step takes one tick, and `slots` trials run at once.
#include "coordinator/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace polysweep {
namespace {

SchedulerConfig Config(SchedulerKind kind, int64_t grace, double rf = 3, int brackets = 3, int min_trials = 3) {
  SchedulerConfig c;
  c.kind = kind;
  c.grace = grace;
  c.reduction_factor = rf;
  c.brackets = brackets;
  c.min_trials = min_trials;
  return c;
}

// A fact the coordinator would journal, for replay.
struct Fact {
  enum Kind { kReport, kPaused, kPromoted, kEnded } kind;
  uint64_t trial;
  int64_t step;
  double score;
  bool full = false;
};

// The simulated cluster. Trial t's score at step s is quality[t] × (1 −
// e^(−s/tau)): every rung ranks the trials as their final scores do. With
// `in_place`, a trial at its stop asks Scheduler::Continue first, as the
// coordinator does with scheduler.promote_in_place.
class Sim {
 public:
  Sim(Scheduler* s, std::vector<double> quality, int slots, int64_t max_steps, int64_t eval_every = 0,
      bool in_place = false)
      : s_(s), quality_(std::move(quality)), slots_(slots), max_steps_(max_steps), eval_every_(eval_every),
        in_place_(in_place) {}

  double Score(uint64_t trial, int64_t step) const {
    return quality_[trial - 1] * (1 - std::exp(-static_cast<double>(step) / 200.0));
  }

  // Runs until nothing is left, or `max_events` trial events happened.
  void Run(int max_events = 1 << 30) {
    Fill();
    for (int e = 0; e < max_events && !running_.empty(); ++e) {
      // The running trial that reaches its next event (stop or evaluation) first.
      uint64_t next = 0;
      int64_t when = 0;
      for (const auto& [trial, r] : running_) {
        const int64_t at = NextEvent(r);
        if (next == 0 || r.started + (at - r.from) < when) {
          next = trial;
          when = r.started + (at - r.from);
        }
      }
      clock_ = when;
      Running& r = running_[next];
      const int64_t step = NextEvent(r);
      steps_spent_ += step - r.from;
      r.started = clock_;
      r.from = step;
      reached_[next] = std::max(reached_[next], step);
      const double score = Score(next, step);
      if (eval_every_ > 0 && step % eval_every_ == 0 && step < r.stop_at) {
        facts_.push_back({Fact::kReport, next, step, score});
        if (s_->Report(next, step, score)) {
          stopped_.insert(next);
          s_->Ended(next, false);
          facts_.push_back({Fact::kEnded, next, step, score, false});
          running_.erase(next);
        }
      } else if (step == max_steps_) {
        s_->Ended(next, true);
        facts_.push_back({Fact::kEnded, next, step, score, true});
        completed_.insert(next);
        running_.erase(next);
      } else if (step == r.stop_at && in_place_ &&
                 Continued(next, step, score, issued_ == quality_.size() && running_.size() == 1)) {
        // Trains on without pausing: the same facts as a pause and a promotion.
      } else if (step == r.stop_at) {
        s_->Paused(next, step, score);
        facts_.push_back({Fact::kPaused, next, step, score});
        running_.erase(next);
      }
      Fill();
    }
  }

  std::vector<Promotion> decisions;
  const std::vector<Fact>& facts() const { return facts_; }
  const std::set<uint64_t>& completed() const { return completed_; }
  const std::set<uint64_t>& stopped() const { return stopped_; }
  int64_t reached(uint64_t trial) const { return reached_.count(trial) ? reached_.at(trial) : 0; }
  int64_t steps_spent() const { return steps_spent_; }
  uint64_t issued() const { return issued_; }
  int in_place() const { return in_place_count_; }

 private:
  struct Running {
    int64_t from = 0;     // step it resumed from
    int64_t stop_at = 0;
    int64_t started = 0;  // clock when it resumed (or last event)
  };

  int64_t NextEvent(const Running& r) const {
    if (eval_every_ == 0) return r.stop_at;
    return std::min(r.stop_at, (r.from / eval_every_ + 1) * eval_every_);
  }

  bool Continued(uint64_t trial, int64_t step, double score, bool idle) {
    auto p = s_->Continue(trial, step, score, idle);
    if (!p) return false;
    EXPECT_EQ(p->trial, trial);
    decisions.push_back(*p);
    facts_.push_back({Fact::kPaused, trial, step, score});
    facts_.push_back({Fact::kPromoted, trial, std::min(p->stop_at, max_steps_), 0});
    running_[trial].stop_at = std::min(p->stop_at, max_steps_);
    ++in_place_count_;
    return true;
  }

  void Fill() {
    while (static_cast<int>(running_.size()) < slots_) {
      const bool more = issued_ < quality_.size();
      auto p = s_->Promote(!more && running_.empty());
      if (p) {
        decisions.push_back(*p);
        facts_.push_back({Fact::kPromoted, p->trial, std::min(p->stop_at, max_steps_), 0});
        running_[p->trial] = Running{reached_[p->trial], std::min(p->stop_at, max_steps_), clock_};
        continue;
      }
      if (!more) return;
      const uint64_t trial = ++issued_;
      running_[trial] = Running{0, s_->FirstStop(trial, max_steps_), clock_};
    }
  }

  Scheduler* s_;
  std::vector<double> quality_;
  int slots_;
  int64_t max_steps_;
  int64_t eval_every_;
  bool in_place_;
  int in_place_count_ = 0;
  int64_t clock_ = 0;
  uint64_t issued_ = 0;
  int64_t steps_spent_ = 0;
  std::map<uint64_t, Running> running_;
  std::map<uint64_t, int64_t> reached_;
  std::set<uint64_t> completed_, stopped_;
  std::vector<Fact> facts_;
};

std::vector<double> RandomQualities(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.2, 0.9);
  std::vector<double> q;
  for (int i = 0; i < n; ++i) q.push_back(u(rng));
  return q;
}

uint64_t BestTrial(const std::vector<double>& q) {
  return static_cast<uint64_t>(std::max_element(q.begin(), q.end()) - q.begin()) + 1;
}

TEST(RungSteps, GeometricBelowTheBudgetThenTheBudget) {
  EXPECT_EQ(RungSteps(100, 3, 1000), (std::vector<int64_t>{100, 300, 900, 1000}));
  EXPECT_EQ(RungSteps(100, 2, 800), (std::vector<int64_t>{100, 200, 400, 800}));
  EXPECT_EQ(RungSteps(10, 2.5, 100), (std::vector<int64_t>{10, 25, 63, 100}));  // 62.5 rounds half away from zero
  EXPECT_EQ(RungSteps(500, 3, 400), (std::vector<int64_t>{400}));
}

TEST(FifoScheduler, TrainsEveryTrialToItsBudget) {
  auto s = MakeScheduler(Config(SchedulerKind::kFifo, 0));
  std::vector<double> q = RandomQualities(5, 1);
  Sim sim(s.get(), q, 2, 300, 100);
  sim.Run();
  EXPECT_EQ(sim.completed().size(), 5u);
  EXPECT_EQ(sim.steps_spent(), 5 * 300);
  EXPECT_TRUE(sim.decisions.empty());
}

TEST(AshaScheduler, PromotesTheTopThirdOfEachRung) {
  // One slot, nine trials best first, rungs at 1, 3 and 9 (the budget).
  // (Arriving in another order, asynchronous promotion may promote more: a
  // trial promoted early can later fall out of its rung's top third.)
  auto s = MakeScheduler(Config(SchedulerKind::kAsha, 1, 3));
  std::vector<double> q = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1};
  Sim sim(s.get(), q, 1, 9);
  sim.Run();
  int at1 = 0, at3 = 0, at9 = 0;
  for (uint64_t t = 1; t <= 9; ++t) {
    at1 += sim.reached(t) >= 1;
    at3 += sim.reached(t) >= 3;
    at9 += sim.reached(t) >= 9;
  }
  EXPECT_EQ(at1, 9);
  EXPECT_EQ(at3, 3);  // floor(9 / 3) promoted from rung 0
  EXPECT_EQ(at9, 1);  // floor(3 / 3) from rung 1
  EXPECT_EQ(sim.completed(), std::set<uint64_t>{BestTrial(q)});
  // A promoted trial resumes where it paused: 9 + 3×2 + 1×6 steps in all.
  EXPECT_EQ(sim.steps_spent(), 9 + 6 + 6);
  for (const Promotion& p : sim.decisions) EXPECT_EQ(p.stop_at, p.rung == 0 ? 3 : 9);
}

TEST(AshaScheduler, FindsTheKnownOptimumWithAThirdOfFifosCompute) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    std::vector<double> q = RandomQualities(27, seed);
    auto asha = MakeScheduler(Config(SchedulerKind::kAsha, 30, 3));
    Sim sim(asha.get(), q, 4, 810);
    sim.Run();
    EXPECT_TRUE(sim.completed().count(BestTrial(q))) << "seed " << seed;
    EXPECT_LE(sim.steps_spent() * 3, 27 * 810) << "seed " << seed;
    EXPECT_EQ(sim.issued(), 27u);
  }
}

TEST(AshaScheduler, WhenIdleTrainsTheBestOfTheHighestRungToTheEnd) {
  // Two trials never fill a rung's quota of floor(2 / 3) = 0: without the idle
  // rule nothing would train past the first rung.
  auto s = MakeScheduler(Config(SchedulerKind::kAsha, 10, 3));
  std::vector<double> q = {0.4, 0.8};
  Sim sim(s.get(), q, 1, 90);
  sim.Run();
  EXPECT_EQ(sim.completed(), std::set<uint64_t>{2});
  EXPECT_EQ(sim.reached(1), 10);
  EXPECT_EQ(sim.reached(2), 90);
}

TEST(AshaScheduler, APauseOffTheRungsIsNoResult) {
  auto s = MakeScheduler(Config(SchedulerKind::kAsha, 10, 3));
  for (uint64_t t = 1; t <= 3; ++t) s->Paused(t, 10, static_cast<double>(t));
  s->Paused(4, 17, 100.0);  // paused on request at step 17: not on a rung
  auto p = s->Promote(false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->trial, 3u);
  EXPECT_EQ(p->stop_at, 30);
  EXPECT_FALSE(s->Promote(false));  // floor(3 / 3) = 1 promotion from rung 0
}

TEST(AshaScheduler, ADivergedTrialRanksLast) {
  auto s = MakeScheduler(Config(SchedulerKind::kAsha, 10, 2));
  s->Paused(1, 10, NAN);
  s->Paused(2, 10, -5.0);
  auto p = s->Promote(false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->trial, 2u);
}

TEST(AshaScheduler, ContinueRecordsNothingUnlessTheTrialIsPromotedNext) {
  auto s = MakeScheduler(Config(SchedulerKind::kAsha, 10, 3));
  s->Paused(1, 10, 0.9);
  s->Paused(2, 10, 0.8);
  // Paused, trial 3 would make the quota 1, and trial 1 would go first.
  EXPECT_FALSE(s->Continue(3, 10, 0.1, false));
  EXPECT_FALSE(s->Promote(false)) << "Continue recorded trial 3's result";
  // The best of the three: promoted the moment it reaches the rung.
  auto p = s->Continue(3, 10, 0.95, false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->trial, 3u);
  EXPECT_EQ(p->stop_at, 30);
  EXPECT_EQ(p->rung, 0);
  EXPECT_FALSE(s->Promote(false)) << "the quota of floor(3 / 3) is spent";
  // Its result counts in the rung: a fourth trial does not raise the quota.
  s->Paused(4, 10, 0.85);
  EXPECT_FALSE(s->Promote(false));
}

TEST(AshaScheduler, PromotingInPlaceDecidesExactlyAsPausingFirst) {
  // The same sweeps, with trials pausing at every rung and with trials
  // promoted at their rung training on: the same facts in the same order,
  // so the same trials, steps and decisions.
  for (SchedulerKind kind : {SchedulerKind::kAsha, SchedulerKind::kHyperband}) {
    int in_place = 0;
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      for (int slots : {1, 3}) {
        std::vector<double> q = RandomQualities(27, seed);
        auto paused = MakeScheduler(Config(kind, 30, 3, 2));
        auto continued = MakeScheduler(Config(kind, 30, 3, 2));
        Sim a(paused.get(), q, slots, 810), b(continued.get(), q, slots, 810, 0, true);
        a.Run();
        b.Run();
        const std::string where = std::string(SchedulerKindName(kind)) + " seed " + std::to_string(seed) + " slots " +
                                  std::to_string(slots);
        ASSERT_EQ(a.facts().size(), b.facts().size()) << where;
        for (size_t i = 0; i < a.facts().size(); ++i) {
          EXPECT_EQ(a.facts()[i].kind, b.facts()[i].kind) << where << " fact " << i;
          EXPECT_EQ(a.facts()[i].trial, b.facts()[i].trial) << where << " fact " << i;
          EXPECT_EQ(a.facts()[i].step, b.facts()[i].step) << where << " fact " << i;
        }
        EXPECT_EQ(a.completed(), b.completed()) << where;
        EXPECT_EQ(a.steps_spent(), b.steps_spent()) << where;
        EXPECT_EQ(a.in_place(), 0);
        in_place += b.in_place();
      }
    }
    EXPECT_GT(in_place, 10) << SchedulerKindName(kind) << ": few promotions happened in place";
  }
}

TEST(HyperbandScheduler, DealsTrialsToBracketsWithGeometricGrace) {
  auto s = MakeScheduler(Config(SchedulerKind::kHyperband, 10, 3, 3));
  EXPECT_EQ(s->FirstStop(1, 1000), 10);
  EXPECT_EQ(s->FirstStop(2, 1000), 30);
  EXPECT_EQ(s->FirstStop(3, 1000), 90);
  EXPECT_EQ(s->FirstStop(4, 1000), 10);
  EXPECT_EQ(s->FirstStop(3, 50), 50);  // never past the budget
}

TEST(HyperbandScheduler, EachBracketPromotesOnlyWithinItself) {
  auto s = MakeScheduler(Config(SchedulerKind::kHyperband, 10, 2, 2));
  // Bracket 0: trials 1, 3 (first rung 10); bracket 1: trials 2, 4 (first rung 20).
  s->Paused(1, 10, 0.1);
  s->Paused(2, 20, 0.9);
  EXPECT_FALSE(s->Promote(false));  // one result per bracket: floor(1 / 2) = 0
  s->Paused(3, 10, 0.5);
  auto p = s->Promote(false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->trial, 3u);
  EXPECT_EQ(p->stop_at, 20);
  s->Paused(4, 20, 0.2);
  p = s->Promote(false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->trial, 2u);
  EXPECT_EQ(p->stop_at, 40);
}

TEST(HyperbandScheduler, FindsTheKnownOptimum) {
  std::vector<double> q = RandomQualities(30, 11);
  auto s = MakeScheduler(Config(SchedulerKind::kHyperband, 30, 3, 3));
  Sim sim(s.get(), q, 3, 810);
  sim.Run();
  EXPECT_TRUE(sim.completed().count(BestTrial(q)));
  EXPECT_LT(sim.steps_spent(), 30 * 810 / 2);
}

TEST(MedianScheduler, StopsTrialsBelowTheMedianAfterGrace) {
  auto s = MakeScheduler(Config(SchedulerKind::kMedian, 200, 3, 3, 3));
  std::vector<double> q = {0.9, 0.8, 0.7, 0.3, 0.85, 0.2};
  Sim sim(s.get(), q, 1, 600, 100);
  sim.Run();
  // The first three set the median; the weak ones stop at the first step
  // past grace, the strong ones train to the end.
  EXPECT_EQ(sim.completed(), (std::set<uint64_t>{1, 2, 3, 5}));
  EXPECT_EQ(sim.stopped(), (std::set<uint64_t>{4, 6}));
  EXPECT_EQ(sim.reached(4), 200);
  EXPECT_EQ(sim.reached(6), 200);
}

TEST(MedianScheduler, NeedsMinTrialsBeforeStoppingAnyone) {
  auto s = MakeScheduler(Config(SchedulerKind::kMedian, 100, 3, 3, 3));
  for (uint64_t t = 1; t <= 2; ++t) EXPECT_FALSE(s->Report(t, 100, 0.9));
  EXPECT_FALSE(s->Report(3, 100, 0.1));  // only two others at step 100
  EXPECT_FALSE(s->Report(4, 50, 0.0));   // before grace
  EXPECT_TRUE(s->Report(4, 100, 0.0));   // three others now
}

// scheduler.unit epochs: trials of 100, 50 and 200 steps per epoch (batch
// sizes 16, 32 and 8) meet at the rung of one epoch, each at its own step.
SchedulerConfig EpochConfig(SchedulerKind kind, double grace_epochs, double rf) {
  SchedulerConfig c = Config(kind, 0, rf);
  c.unit = BudgetUnit::kEpochs;
  c.grace_epochs = grace_epochs;
  return c;
}

TEST(AshaScheduler, RungsInEpochsStopEachTrialAtItsOwnStep) {
  auto s = MakeScheduler(EpochConfig(SchedulerKind::kAsha, 1, 3));
  const std::map<uint64_t, double> steps_per_epoch = {{1, 100}, {2, 50}, {3, 200}};
  for (const auto& [t, spe] : steps_per_epoch) s->SetStepsPerUnit(t, spe);
  EXPECT_EQ(s->FirstStop(1, 400), 100);
  EXPECT_EQ(s->FirstStop(2, 200), 50);
  EXPECT_EQ(s->FirstStop(3, 800), 200);
  EXPECT_EQ(s->FirstStop(2, 30), 30);  // a trial shorter than the grace trains to its end
  s->Paused(2, 100, 9.0);  // trial 2 at two epochs: not a rung, no result
  s->Paused(1, 100, 0.3);
  s->Paused(3, 200, 0.5);
  EXPECT_FALSE(s->Promote(false));  // a rung of 2: floor(2 / 3) = 0
  s->Paused(2, 50, 0.9);
  auto p = s->Promote(false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->trial, 2u);
  EXPECT_EQ(p->rung, 0);
  EXPECT_EQ(p->stop_at, 150);  // three epochs of trial 2
  EXPECT_FALSE(s->Promote(false));

  // Replayed into a fresh scheduler, the promotion is known as trial 2's from rung 0.
  auto replayed = MakeScheduler(EpochConfig(SchedulerKind::kAsha, 1, 3));
  for (const auto& [t, spe] : steps_per_epoch) replayed->SetStepsPerUnit(t, spe);
  replayed->Paused(1, 100, 0.3);
  replayed->Paused(2, 50, 0.9);
  replayed->Paused(3, 200, 0.5);
  replayed->Promoted(2, 150);
  EXPECT_FALSE(replayed->Promote(false));
  auto idle = replayed->Promote(true);  // idle: the best not yet promoted trains on
  ASSERT_TRUE(idle);
  EXPECT_EQ(idle->trial, 3u);
  EXPECT_EQ(idle->stop_at, 600);
}

TEST(AshaScheduler, AFractionalEpochGraceRoundsToAStepAndNeverToZero) {
  auto s = MakeScheduler(EpochConfig(SchedulerKind::kAsha, 0.25, 2));
  s->SetStepsPerUnit(1, 10);  // 2.5 steps: 3
  s->SetStepsPerUnit(2, 1);   // 0.25 steps: 1, not 0
  EXPECT_EQ(s->FirstStop(1, 100), 3);
  EXPECT_EQ(s->FirstStop(2, 100), 1);
}

TEST(HyperbandScheduler, BracketsInEpochs) {
  auto s = MakeScheduler(EpochConfig(SchedulerKind::kHyperband, 0.5, 2));
  for (uint64_t t = 1; t <= 3; ++t) s->SetStepsPerUnit(t, 30);
  EXPECT_EQ(s->FirstStop(1, 1000), 15);  // bracket 0: half an epoch
  EXPECT_EQ(s->FirstStop(2, 1000), 30);  // bracket 1: one epoch
  EXPECT_EQ(s->FirstStop(3, 1000), 60);  // bracket 2: two epochs
}

TEST(MedianScheduler, ComparesTrialsAtTheSameEpoch) {
  auto s = MakeScheduler(EpochConfig(SchedulerKind::kMedian, 1, 3));
  // Three trials of 100 steps per epoch report at epoch 1 (step 100); the
  // fourth, of 50 steps per epoch, reaches epoch 1 at step 50.
  for (uint64_t t = 1; t <= 3; ++t) {
    s->SetStepsPerUnit(t, 100);
    EXPECT_FALSE(s->Report(t, 100, 0.9));
  }
  s->SetStepsPerUnit(4, 50);
  EXPECT_FALSE(s->Report(4, 25, 0.0));  // half an epoch: before the grace
  EXPECT_TRUE(s->Report(4, 50, 0.1));   // epoch 1, below the others' median
}

// A coordinator restarted mid-sweep replays its journal's facts (in any
// order) into a fresh scheduler and must then decide exactly as the one that
// never stopped.
void ExpectReplayDecidesTheSame(SchedulerKind kind, int64_t eval_every) {
  std::vector<double> q = RandomQualities(20, 5);
  auto original = MakeScheduler(Config(kind, 30, 3, 2));
  Sim first(original.get(), q, 3, 810, eval_every);
  first.Run(25);  // stop mid-sweep
  auto restarted = MakeScheduler(Config(kind, 30, 3, 2));
  std::vector<Fact> facts = first.facts();
  std::mt19937_64 rng(3);
  std::shuffle(facts.begin(), facts.end(), rng);
  for (const Fact& f : facts) {
    switch (f.kind) {
      case Fact::kReport: restarted->Report(f.trial, f.step, f.score); break;
      case Fact::kPaused: restarted->Paused(f.trial, f.step, f.score); break;
      case Fact::kPromoted: restarted->Promoted(f.trial, f.step); break;
      case Fact::kEnded: restarted->Ended(f.trial, f.full); break;
    }
  }
  for (int i = 0; i < 6; ++i) {
    auto a = original->Promote(i % 2 == 1), b = restarted->Promote(i % 2 == 1);
    ASSERT_EQ(a.has_value(), b.has_value()) << i;
    if (!a) continue;
    EXPECT_EQ(a->trial, b->trial);
    EXPECT_EQ(a->stop_at, b->stop_at);
  }
  for (uint64_t t = 1; t <= 20; ++t) {
    EXPECT_EQ(original->Report(t, 300, 0.5), restarted->Report(t, 300, 0.5)) << t;
  }
}

TEST(SchedulerReplay, AshaDecidesTheSameAfterReplay) { ExpectReplayDecidesTheSame(SchedulerKind::kAsha, 0); }
TEST(SchedulerReplay, HyperbandDecidesTheSameAfterReplay) { ExpectReplayDecidesTheSame(SchedulerKind::kHyperband, 0); }
TEST(SchedulerReplay, MedianDecidesTheSameAfterReplay) { ExpectReplayDecidesTheSame(SchedulerKind::kMedian, 30); }

}  // namespace
}  // namespace polysweep
