// Tests of the grid and random searchers (coordinator/searcher.h).
#include "coordinator/searcher.h"
#include "tests/unit/search_space_builders.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace polysweep {
namespace {

using testing_util::Choice;
using testing_util::Config;
using testing_util::Range;

std::vector<ParamAssignment> Drain(Searcher& s, size_t limit = 100000) {
  std::vector<ParamAssignment> out;
  while (out.size() < limit) {
    auto a = s.Next();
    if (!a) break;
    out.push_back(std::move(*a));
  }
  return out;
}

std::vector<double> Numbers(const std::vector<ParamValue>& values) {
  std::vector<double> out;
  for (const auto& v : values) out.push_back(v.number);
  return out;
}

TEST(GridSearcher, EnumeratesCartesianProductInOdometerOrder) {
  // Params are in name order; the last one varies fastest.
  auto s = MakeSearcher(Config(SearchAlgorithm::kGrid, {Choice("batch_size", {16, 32}),
                                                         Choice("lr", {0.1, 0.01, 0.001}),
                                                         Range("seed", ParamKind::kInt, 1, 2)}),
                        100);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)->name(), "grid");
  auto trials = Drain(**s);
  ASSERT_EQ(trials.size(), 12u);
  std::vector<std::string> got;
  for (const auto& t : trials) got.push_back(FormatAssignment(t));
  const std::vector<std::string> want = {
      "batch_size=16 lr=0.1 seed=1",   "batch_size=16 lr=0.1 seed=2",
      "batch_size=16 lr=0.01 seed=1",  "batch_size=16 lr=0.01 seed=2",
      "batch_size=16 lr=0.001 seed=1", "batch_size=16 lr=0.001 seed=2",
      "batch_size=32 lr=0.1 seed=1",   "batch_size=32 lr=0.1 seed=2",
      "batch_size=32 lr=0.01 seed=1",  "batch_size=32 lr=0.01 seed=2",
      "batch_size=32 lr=0.001 seed=1", "batch_size=32 lr=0.001 seed=2",
  };
  EXPECT_EQ(got, want);
  // Stays done.
  EXPECT_FALSE((*s)->Next().has_value());
  EXPECT_FALSE((*s)->Next().has_value());
}

TEST(GridSearcher, SingleParamAndSingleValue) {
  auto s = MakeSearcher(Config(SearchAlgorithm::kGrid, {Choice("lr", {0.5})}), 10);
  ASSERT_TRUE(s.ok());
  auto trials = Drain(**s);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(FormatAssignment(trials[0]), "lr=0.5");
}

TEST(GridSearcher, LimitedByMaxTrials) {
  auto s = MakeSearcher(Config(SearchAlgorithm::kGrid, {Choice("batch_size", {8, 16, 32}),
                                                         Choice("lr", {0.1, 0.01})}),
                        4);
  ASSERT_TRUE(s.ok());
  auto trials = Drain(**s);
  ASSERT_EQ(trials.size(), 4u);
  EXPECT_EQ(FormatAssignment(trials[3]), "batch_size=16 lr=0.01");
}

TEST(GridValues, IntRangeIncludesBothEnds) {
  auto v = GridValues(Range("warmup_steps", ParamKind::kInt, 3, 7));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Numbers(*v), (std::vector<double>{3, 4, 5, 6, 7}));
  auto one = GridValues(Range("warmup_steps", ParamKind::kInt, 5, 5));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(Numbers(*one), std::vector<double>{5});
  auto wide = GridValues(Range("warmup_steps", ParamKind::kInt, 0, 5000));
  ASSERT_FALSE(wide.ok());
  EXPECT_NE(wide.status().message().find("search.space.warmup_steps"), std::string::npos);
}

TEST(GridValues, UniformWithPointsIsLinear) {
  auto v = GridValues(Range("dropout", ParamKind::kUniform, 0.0, 0.3, 4));
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 4u);
  EXPECT_EQ((*v)[0].number, 0.0);
  EXPECT_DOUBLE_EQ((*v)[1].number, 0.1);
  EXPECT_DOUBLE_EQ((*v)[2].number, 0.2);
  EXPECT_DOUBLE_EQ((*v)[3].number, 0.3);
}

TEST(GridValues, LogUniformWithPointsIsLogSpaced) {
  auto v = GridValues(Range("lr", ParamKind::kLogUniform, 1e-4, 1e-1, 4));
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 4u);
  const double want[] = {1e-4, 1e-3, 1e-2, 1e-1};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR((*v)[i].number, want[i], want[i] * 1e-12) << i;
  // Constant ratio between neighbours.
  for (int i = 1; i < 4; ++i) EXPECT_NEAR((*v)[i].number / (*v)[i - 1].number, 10.0, 1e-9);
}

// The grid visits the configured low and high exactly, and its points read
// as the decimals a user expects: trials show "lr=0.001", not
// "lr=0.0010000000000000002".
TEST(GridValues, PointsAreExactEndpointsAndShortDecimals) {
  for (auto [low, high] : {std::pair{1e-4, 1e-1}, std::pair{3e-4, 3e-3}, std::pair{1e-5, 0.1},
                           std::pair{0.002, 0.7}}) {
    auto v = GridValues(Range("lr", ParamKind::kLogUniform, low, high, 5));
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->front().number, low) << v->front().ToString();
    EXPECT_EQ(v->back().number, high) << v->back().ToString();
  }
  auto log = GridValues(Range("lr", ParamKind::kLogUniform, 1e-4, 1e-1, 4));
  ASSERT_TRUE(log.ok());
  std::vector<std::string> log_text;
  for (const auto& p : *log) log_text.push_back(p.ToString());
  EXPECT_EQ(log_text, (std::vector<std::string>{"0.0001", "0.001", "0.01", "0.1"}));

  auto lin = GridValues(Range("dropout", ParamKind::kUniform, 0, 0.3, 4));
  ASSERT_TRUE(lin.ok());
  std::vector<std::string> lin_text;
  for (const auto& p : *lin) lin_text.push_back(p.ToString());
  EXPECT_EQ(lin_text, (std::vector<std::string>{"0", "0.1", "0.2", "0.3"}));
}

TEST(GridValues, ContinuousWithoutPointsFails) {
  auto v = GridValues(Range("lr", ParamKind::kLogUniform, 1e-4, 1e-1));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("points"), std::string::npos);
  auto s = MakeSearcher(Config(SearchAlgorithm::kGrid, {Range("dropout", ParamKind::kUniform, 0, 0.5)}), 4);
  EXPECT_FALSE(s.ok());
}

TEST(RandomSearcher, DeterministicForSeedAndDifferentAcrossSeeds) {
  const std::vector<ParamSpec> space = {Choice("batch_size", {16, 32, 64}),
                                        Range("dropout", ParamKind::kUniform, 0, 0.5),
                                        Range("lr", ParamKind::kLogUniform, 1e-5, 1e-2),
                                        Range("warmup_steps", ParamKind::kInt, 0, 100)};
  auto draw = [&](uint64_t seed) {
    auto s = MakeSearcher(Config(SearchAlgorithm::kRandom, space, seed), 20);
    EXPECT_TRUE(s.ok());
    EXPECT_EQ((*s)->name(), "random");
    std::vector<std::string> out;
    for (const auto& a : Drain(**s)) out.push_back(FormatAssignment(a));
    return out;
  };
  const auto a = draw(7), b = draw(7), c = draw(8);
  ASSERT_EQ(a.size(), 20u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Not 20 copies of one trial.
  EXPECT_GT(std::set<std::string>(a.begin(), a.end()).size(), 15u);
}

TEST(RandomSearcher, RespectsMaxTrials) {
  for (int max_trials : {0, 1, 5}) {
    auto s = MakeSearcher(Config(SearchAlgorithm::kRandom, {Choice("lr", {0.1})}), max_trials);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(Drain(**s).size(), static_cast<size_t>(max_trials));
    EXPECT_FALSE((*s)->Next().has_value());
  }
}

constexpr int kDraws = 10000;

TEST(SampleParam, UniformStaysInBounds) {
  std::mt19937_64 rng(1);
  const ParamSpec p = Range("dropout", ParamKind::kUniform, 0.05, 0.3);
  double lo = 1, hi = 0;
  for (int i = 0; i < kDraws; ++i) {
    ParamValue v = SampleParam(p, rng);
    ASSERT_FALSE(v.is_text);
    ASSERT_GE(v.number, 0.05);
    ASSERT_LE(v.number, 0.3);
    lo = std::min(lo, v.number);
    hi = std::max(hi, v.number);
  }
  // Covers the range, not just a corner of it.
  EXPECT_LT(lo, 0.06);
  EXPECT_GT(hi, 0.29);
}

TEST(SampleParam, IntStaysInBoundsAndHitsEveryValue) {
  std::mt19937_64 rng(2);
  const ParamSpec p = Range("warmup_steps", ParamKind::kInt, -3, 6);
  std::map<double, int> seen;
  for (int i = 0; i < kDraws; ++i) {
    ParamValue v = SampleParam(p, rng);
    ASSERT_GE(v.number, -3);
    ASSERT_LE(v.number, 6);
    ASSERT_EQ(v.number, std::floor(v.number));
    seen[v.number]++;
  }
  ASSERT_EQ(seen.size(), 10u);
  for (const auto& [value, n] : seen) EXPECT_GT(n, kDraws / 10 / 2) << value;
}

TEST(SampleParam, LogUniformStaysInBoundsAndCoversDecadesEvenly) {
  std::mt19937_64 rng(3);
  const ParamSpec p = Range("lr", ParamKind::kLogUniform, 1e-4, 1e-1);
  int decade[3] = {0, 0, 0};
  for (int i = 0; i < kDraws; ++i) {
    ParamValue v = SampleParam(p, rng);
    ASSERT_GE(v.number, 1e-4);
    ASSERT_LE(v.number, 1e-1);
    if (v.number < 1e-3) ++decade[0];
    else if (v.number < 1e-2) ++decade[1];
    else ++decade[2];
  }
  for (int d = 0; d < 3; ++d) {
    EXPECT_GE(decade[d], kDraws * 25 / 100) << "decade " << d;
    EXPECT_LE(decade[d], kDraws * 42 / 100) << "decade " << d;
  }
}

TEST(SampleParam, RealsKeepFourSignificantDigits) {
  std::mt19937_64 rng(4);
  const ParamSpec p = Range("lr", ParamKind::kLogUniform, 1e-5, 1e-2);
  for (int i = 0; i < 1000; ++i) {
    const std::string s = SampleParam(p, rng).ToString();
    // At most 4 significant digits: e.g. "0.0003142" or "1.5e-05".
    std::string digits;
    for (char c : s.substr(0, s.find('e'))) {
      if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
    }
    digits.erase(0, digits.find_first_not_of('0'));
    EXPECT_LE(digits.size(), 4u) << s;
  }
}

TEST(SampleParam, ChoiceHitsAllValues) {
  std::mt19937_64 rng(5);
  ParamSpec p = Choice("batch_size", {8, 16, 32, 64, 128});
  p.choices.push_back(ParamValue::Text("auto"));
  std::map<std::string, int> seen;
  for (int i = 0; i < kDraws; ++i) seen[SampleParam(p, rng).ToString()]++;
  ASSERT_EQ(seen.size(), 6u);
  for (const auto& [value, n] : seen) EXPECT_GT(n, kDraws / 6 / 2) << value;
  EXPECT_EQ(seen.count("auto"), 1u);
}

TEST(SampleParam, SameRngStateSameDraw) {
  const ParamSpec p = Range("lr", ParamKind::kLogUniform, 1e-5, 1e-2);
  std::mt19937_64 a(99), b(99);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(SampleParam(p, a), SampleParam(p, b));
}

}  // namespace
}  // namespace polysweep
