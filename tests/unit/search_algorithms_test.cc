// Tests of the quasi-random and TPE searchers, qloguniform and conditional
// parameters, and searcher state (coordinator/searcher.h, coordinator/tpe.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "coordinator/searcher.h"
#include "tests/unit/search_space_builders.h"

namespace polysweep {
namespace {

using testing_util::Choice;
using testing_util::Config;
using testing_util::Range;

std::unique_ptr<Searcher> Make(const SearchConfig& c, int max_trials) {
  auto s = MakeSearcher(c, max_trials);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

// A synthetic objective with a known optimum at lr = 1e-3, dropout = 0.1
// (higher is better, 0 at the optimum).
double Objective(const ParamAssignment& a) {
  const double lr = std::log10(a.at("lr").number) + 3;
  const double d = (a.at("dropout").number - 0.1) * 10;
  return -(lr * lr + d * d);
}

SearchConfig TwoDimensional(SearchAlgorithm algorithm, uint64_t seed) {
  return Config(algorithm, {Range("dropout", ParamKind::kUniform, 0.0, 0.5),
                            Range("lr", ParamKind::kLogUniform, 1e-5, 1e-1)},
                seed);
}

// Runs a searcher against Objective() for `n` trials, one at a time; returns
// the best score.
double BestOf(Searcher& s, int n) {
  double best = -HUGE_VAL;
  for (uint64_t t = 1; t <= static_cast<uint64_t>(n); ++t) {
    auto a = s.Next();
    if (!a) break;
    const double score = Objective(*a);
    s.Observe(t, *a, score);
    best = std::max(best, score);
  }
  return best;
}

TEST(QuasiRandomSearcher, FillsEveryBinOnceInEachDimension) {
  auto s = Make(TwoDimensional(SearchAlgorithm::kQuasiRandom, 3), 1000);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name(), "quasirandom");
  // Dimension 0 (dropout) is base 2: points 1-15 are k/16 (shifted), one in
  // each of 15 sixteenths; dimension 1 (lr) is base 3: points 1-8 lie in 8
  // distinct ninths of the decades. Random draws would collide.
  std::vector<ParamAssignment> points;
  for (int i = 0; i < 15; ++i) points.push_back(*s->Next());
  std::set<int> dropout_bins, lr_bins;
  for (int i = 0; i < 15; ++i) dropout_bins.insert(static_cast<int>(points[i].at("dropout").number / 0.5 * 16));
  for (int i = 0; i < 8; ++i) lr_bins.insert(static_cast<int>((std::log10(points[i].at("lr").number) + 5) / 4 * 9));
  EXPECT_EQ(dropout_bins.size(), 15u);
  EXPECT_EQ(lr_bins.size(), 8u);
}

TEST(QuasiRandomSearcher, DeterministicPerSeedAndShiftedAcrossSeeds) {
  auto a = Make(TwoDimensional(SearchAlgorithm::kQuasiRandom, 3), 5);
  auto b = Make(TwoDimensional(SearchAlgorithm::kQuasiRandom, 3), 5);
  auto c = Make(TwoDimensional(SearchAlgorithm::kQuasiRandom, 4), 5);
  auto first = a->Next();
  EXPECT_EQ(FormatAssignment(*first), FormatAssignment(*b->Next()));
  EXPECT_NE(FormatAssignment(*first), FormatAssignment(*c->Next()));
}

TEST(QLogUniform, MultiplesOfQWithinBoundsSpreadOverDecades) {
  ParamSpec p = Range("batch_size", ParamKind::kQLogUniform, 8, 512);
  p.q = 8;
  std::mt19937_64 rng(5);
  std::map<double, int> seen;
  for (int i = 0; i < 4000; ++i) {
    const double v = SampleParam(p, rng).number;
    ASSERT_GE(v, 8);
    ASSERT_LE(v, 512);
    ASSERT_EQ(std::fmod(v, 8), 0) << v;
    seen[v]++;
  }
  int small = 0, large = 0;  // log-uniform: [8, 64) and [64, 512] are equally likely
  for (const auto& [v, n] : seen) (v < 64 ? small : large) += n;
  EXPECT_NEAR(static_cast<double>(small) / 4000, 0.5, 0.05);
  ParamSpec odd = Range("warmup_steps", ParamKind::kQLogUniform, 3, 30);
  odd.q = 10;
  for (int i = 0; i < 200; ++i) {
    const double v = SampleParam(odd, rng).number;
    EXPECT_TRUE(v == 10 || v == 20 || v == 30) << v;  // never below low, never 0
  }
}

TEST(ConditionalParameters, AChildIsDrawnOnlyWhenItsParentMatches) {
  ParamSpec child = Range("dropout", ParamKind::kUniform, 0.0, 0.5);
  child.when_param = "batch_size";
  child.when_values = {ParamValue::Number(32)};
  for (SearchAlgorithm algorithm : {SearchAlgorithm::kRandom, SearchAlgorithm::kQuasiRandom, SearchAlgorithm::kTpe}) {
    SearchConfig c = Config(algorithm, {Choice("batch_size", {16, 32}), child,
                                        Range("lr", ParamKind::kLogUniform, 1e-5, 1e-1)});
    c.startup_trials = 5;
    auto s = Make(c, 60);
    int with = 0, without = 0;
    for (uint64_t t = 1; t <= 60; ++t) {
      auto a = s->Next();
      ASSERT_TRUE(a);
      const bool has = a->count("dropout") > 0;
      EXPECT_EQ(has, a->at("batch_size").number == 32) << FormatAssignment(*a);
      (has ? with : without)++;
      s->Observe(t, *a, -std::fabs(std::log10(a->at("lr").number) + 3));
    }
    EXPECT_GT(with, 0) << s->name();
    EXPECT_GT(without, 0) << s->name();
  }
  // The sampling order puts parents first whatever their names.
  SearchSpace space;
  ParamSpec a = Range("a", ParamKind::kUniform, 0, 1);
  a.when_param = "z";
  a.when_values = {ParamValue::Number(1)};
  space.params = {a, Choice("z", {1, 2})};
  EXPECT_EQ(space.SamplingOrder(), (std::vector<size_t>{1, 0}));
}

TEST(TpeSearcher, FindsTheOptimumBetterThanRandomSearch) {
  // Median over five seeds of the best score after 60 trials.
  std::vector<double> tpe, random;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    auto t = Make(TwoDimensional(SearchAlgorithm::kTpe, seed), 60);
    auto r = Make(TwoDimensional(SearchAlgorithm::kRandom, seed), 60);
    EXPECT_EQ(t->name(), "tpe");
    tpe.push_back(BestOf(*t, 60));
    random.push_back(BestOf(*r, 60));
  }
  std::sort(tpe.begin(), tpe.end());
  std::sort(random.begin(), random.end());
  EXPECT_GT(tpe[2], random[2]) << "TPE median best " << tpe[2] << ", random " << random[2];
  EXPECT_GT(tpe[2], -0.05);  // within a few percent of a decade of 1e-3, a hundredth of 0.1
}

TEST(TpeSearcher, ConcentratesNearTheOptimumAfterStartup) {
  SearchConfig c = TwoDimensional(SearchAlgorithm::kTpe, 9);
  auto s = Make(c, 80);
  std::vector<double> late;
  for (uint64_t t = 1; t <= 80; ++t) {
    auto a = s->Next();
    const double score = Objective(*a);
    s->Observe(t, *a, score);
    if (t > 60) late.push_back(score);
  }
  std::sort(late.begin(), late.end());
  // Random search's median score on this space is about -4; TPE's late
  // proposals sit close to the optimum.
  EXPECT_GT(late[late.size() / 2], -0.5);
}

TEST(TpeSearcher, ProposalsDependOnTheResultsNotTheirArrivalOrder) {
  SearchConfig c = TwoDimensional(SearchAlgorithm::kTpe, 2);
  c.startup_trials = 8;
  auto a = Make(c, 30), b = Make(c, 30);
  std::vector<std::pair<uint64_t, ParamAssignment>> issued;
  for (uint64_t t = 1; t <= 8; ++t) {
    auto x = a->Next();
    EXPECT_EQ(FormatAssignment(*x), FormatAssignment(*b->Next()));
    issued.push_back({t, *x});
  }
  for (const auto& [t, x] : issued) a->Observe(t, x, Objective(x));
  for (auto it = issued.rbegin(); it != issued.rend(); ++it) b->Observe(it->first, it->second, Objective(it->second));
  b->Observe(99, issued[0].second, NAN);  // a trial without a result teaches nothing
  for (int i = 0; i < 5; ++i) EXPECT_EQ(FormatAssignment(*a->Next()), FormatAssignment(*b->Next()));
}

TEST(SearcherState, EverySearcherContinuesExactlyFromItsSavedState) {
  for (SearchAlgorithm algorithm :
       {SearchAlgorithm::kRandom, SearchAlgorithm::kQuasiRandom, SearchAlgorithm::kTpe, SearchAlgorithm::kGrid}) {
    SearchConfig c = algorithm == SearchAlgorithm::kGrid
                         ? Config(algorithm, {Choice("batch_size", {8, 16, 32}), Choice("lr", {0.1, 0.01, 0.001})})
                         : TwoDimensional(algorithm, 6);
    c.startup_trials = 4;
    auto original = Make(c, 20);
    std::vector<std::pair<uint64_t, ParamAssignment>> issued;
    for (uint64_t t = 1; t <= 7; ++t) issued.push_back({t, *original->Next()});
    const std::string state = original->SaveState();
    // A restarted coordinator: a fresh searcher, the state, the results.
    auto restarted = Make(c, 20);
    ASSERT_TRUE(restarted->LoadState(state).ok()) << state;
    for (const auto& [t, a] : issued) {
      const double score = algorithm == SearchAlgorithm::kGrid ? 0 : Objective(a);
      original->Observe(t, a, score);
      restarted->Observe(t, a, score);
    }
    for (int i = 0; i < 13; ++i) {
      auto x = original->Next(), y = restarted->Next();
      ASSERT_EQ(x.has_value(), y.has_value()) << original->name() << " trial " << 8 + i;
      if (x) {
        EXPECT_EQ(FormatAssignment(*x), FormatAssignment(*y)) << original->name() << " trial " << 8 + i;
      }
    }
    EXPECT_FALSE(original->Next().has_value());
    EXPECT_FALSE(restarted->Next().has_value());
  }
}

TEST(SearcherState, AStateFromAnotherSearchIsRefused) {
  auto a = Make(TwoDimensional(SearchAlgorithm::kTpe, 6), 20);
  a->Next();
  auto other_seed = Make(TwoDimensional(SearchAlgorithm::kTpe, 7), 20);
  Status s = other_seed->LoadState(a->SaveState());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the search changed"), std::string::npos) << s.message();
  auto more_trials = Make(TwoDimensional(SearchAlgorithm::kTpe, 6), 21);
  EXPECT_FALSE(more_trials->LoadState(a->SaveState()).ok());
  EXPECT_FALSE(a->LoadState("not json").ok());
}

}  // namespace
}  // namespace polysweep
