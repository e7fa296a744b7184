// The training order (common/sampling.h): exactly once per epoch on any
// number of ranks, resumable on a different number of ranks, and temperature
// sampling that follows p_l ∝ n_l^alpha.
#include "common/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <set>

namespace polysweep {
namespace {

const std::vector<int64_t> kSizes = {700, 90, 333, 1, 0, 58};  // uneven, with an empty language

int64_t Total(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

// What `world` ranks consume from `pos` until the epoch ends, as counts per
// example index (a hash count: every index must be seen exactly once).
std::map<int64_t, int> ConsumeEpoch(const std::vector<int64_t>& order, ReaderPosition pos, int batch, int world,
                                    int64_t* steps = nullptr, int64_t stop_after_steps = -1) {
  std::map<int64_t, int> seen;
  const int64_t epoch = pos.epoch;
  const int64_t n = static_cast<int64_t>(order.size());
  int64_t s = 0;
  while (pos.epoch == epoch && s != stop_after_steps) {
    int64_t consumed = 0;
    for (int r = 0; r < world; ++r) {
      StepSlice slice = SliceForRank(n, pos, batch, r, world);
      EXPECT_GE(slice.size(), 0);
      for (int64_t k = slice.begin; k < slice.end; ++k) seen[order[static_cast<size_t>(k)]]++;
      consumed += slice.size();
      EXPECT_EQ(slice.global, consumed > 0 ? slice.global : 0);
    }
    pos = Advance(pos, SliceForRank(n, pos, batch, 0, world).global, n);
    ++s;
  }
  if (steps) *steps = s;
  return seen;
}

TEST(Sampling, EveryExampleExactlyOncePerEpochOnOneToFourRanks) {
  const std::vector<int64_t> order = EpochOrder(kSizes, 1.0, 42, 3);
  ASSERT_EQ(static_cast<int64_t>(order.size()), Total(kSizes));
  for (int world : {1, 2, 3, 4}) {
    for (int batch : {1, 7, 32}) {
      int64_t steps = 0;
      auto seen = ConsumeEpoch(order, ReaderPosition{3, 0}, batch, world, &steps);
      EXPECT_EQ(static_cast<int64_t>(seen.size()), Total(kSizes)) << "world " << world << " batch " << batch;
      for (const auto& [index, count] : seen) ASSERT_EQ(count, 1) << "index " << index << " world " << world;
      const int64_t global = static_cast<int64_t>(batch) * world;
      EXPECT_EQ(steps, (Total(kSizes) + global - 1) / global);
    }
  }
}

TEST(Sampling, ResumeMidEpochOnTwoThenThreeRanks) {
  const std::vector<int64_t> order = EpochOrder(kSizes, 1.0, 9, 0);
  const int64_t n = static_cast<int64_t>(order.size());
  // Two ranks run 40 steps of batch 5, save the position as text...
  std::map<int64_t, int> seen;
  ReaderPosition pos;
  for (int step = 0; step < 40; ++step) {
    for (int r = 0; r < 2; ++r) {
      StepSlice s = SliceForRank(n, pos, 5, r, 2);
      for (int64_t k = s.begin; k < s.end; ++k) seen[order[static_cast<size_t>(k)]]++;
    }
    pos = Advance(pos, SliceForRank(n, pos, 5, 0, 2).global, n);
  }
  const std::string saved = pos.Encode();
  EXPECT_EQ(saved, "0:400");
  // ...and three ranks with another batch size finish the epoch from it.
  auto restored = ReaderPosition::Decode(saved);
  ASSERT_TRUE(restored.ok());
  for (const auto& [index, count] : ConsumeEpoch(order, *restored, 3, 3)) seen[index] += count;
  EXPECT_EQ(static_cast<int64_t>(seen.size()), n);
  for (const auto& [index, count] : seen) ASSERT_EQ(count, 1) << "index " << index;
}

TEST(Sampling, OrderIsAPureFunctionAndFreshEachEpoch) {
  EXPECT_EQ(EpochOrder(kSizes, 0.5, 1, 2), EpochOrder(kSizes, 0.5, 1, 2));
  EXPECT_NE(EpochOrder(kSizes, 0.5, 1, 2), EpochOrder(kSizes, 0.5, 1, 3));
  EXPECT_NE(EpochOrder(kSizes, 0.5, 1, 2), EpochOrder(kSizes, 0.5, 2, 2));
  // Indices stay inside their language's block.
  for (int64_t i : EpochOrder(kSizes, 0.3, 5, 0)) {
    ASSERT_GE(i, 0);
    ASSERT_LT(i, Total(kSizes));
  }
}

TEST(Sampling, ProbabilitiesFollowTheTemperatureFormula) {
  const std::vector<int64_t> sizes = {10000, 1000, 100};
  for (double alpha : {1.0, 0.5, 0.3, 0.0}) {
    auto p = LanguageProbabilities(sizes, alpha);
    double z = 0;
    for (int64_t n : sizes) z += std::pow(static_cast<double>(n), alpha);
    for (size_t l = 0; l < sizes.size(); ++l) {
      EXPECT_NEAR(p[l], std::pow(static_cast<double>(sizes[l]), alpha) / z, 1e-12) << "alpha " << alpha;
    }
  }
  EXPECT_EQ(LanguageProbabilities({5, 0}, 0.5)[1], 0.0);
}

TEST(Sampling, EpochCompositionMatchesTheProbabilitiesWithinTolerance) {
  const std::vector<int64_t> sizes = {10000, 1000, 100};
  const int64_t total = Total(sizes);
  for (double alpha : {1.0, 0.5, 0.3, 0.0}) {
    auto p = LanguageProbabilities(sizes, alpha);
    auto quota = EpochQuotas(sizes, alpha);
    EXPECT_EQ(Total(quota), total);
    const std::vector<int64_t> order = EpochOrder(sizes, alpha, 11, 0);
    std::vector<int64_t> per_lang(3, 0);
    std::map<int64_t, int> repeats;
    for (int64_t i : order) {
      per_lang[i < 10000 ? 0 : i < 11000 ? 1 : 2]++;
      repeats[i]++;
    }
    for (size_t l = 0; l < sizes.size(); ++l) {
      EXPECT_EQ(per_lang[l], quota[l]);
      EXPECT_NEAR(static_cast<double>(per_lang[l]) / static_cast<double>(total), p[l], 1.0 / static_cast<double>(total))
          << "alpha " << alpha << " language " << l;
    }
    // A small language repeated alpha < 1 sees each of its examples k or k+1 times.
    if (alpha < 1.0) {
      const int64_t k = quota[2] / sizes[2];
      for (int64_t i = 11000; i < 11100; ++i) {
        EXPECT_GE(repeats[i], k);
        EXPECT_LE(repeats[i], k + 1);
      }
    }
  }
}

TEST(Sampling, PositionEncodingIsStrict) {
  auto p = ReaderPosition::Decode("12:345");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->epoch, 12);
  EXPECT_EQ(p->offset, 345);
  for (const char* bad : {"", "12", "12:", ":3", "a:b", "1:2:3", "-1:0", "1:2x"}) {
    EXPECT_FALSE(ReaderPosition::Decode(bad).ok()) << bad;
  }
  EXPECT_EQ(Advance(ReaderPosition{0, 90}, 10, 100), (ReaderPosition{1, 0}));
  EXPECT_EQ(Advance(ReaderPosition{0, 80}, 10, 100), (ReaderPosition{0, 90}));
}

}  // namespace
}  // namespace polysweep
