// The prefetcher: the batches it builds on its thread are exactly the
// sampler's order, sliced for this rank, across epoch boundaries.
#include <gtest/gtest.h>

#include <set>

#include "common/sampling.h"
#include "worker/dataset.h"
#include "worker/prefetcher.h"

namespace polysweep {
namespace {

// Example i has one token, i + 10, so a batch says which examples it holds.
TokenizedSplit Numbered(int n, int langs) {
  TokenizedSplit s;
  for (int i = 0; i < n; ++i) s.Add({i + 10}, i % 3, i * langs / n);
  return s;
}

TEST(BatchPrefetcher, FollowsTheSamplingOrderAcrossEpochs) {
  TokenizedSplit data = Numbered(50, 2);
  SamplingPlan plan{{25, 25}, 1.0, 7};
  const int batch = 4, world = 3;
  for (int rank = 0; rank < world; ++rank) {
    BatchPrefetcher prefetch(data, plan, ReaderPosition{}, batch, rank, world, 0, 8);
    ReaderPosition pos;
    std::multiset<int64_t> epoch0;
    while (pos.epoch == 0) {
      BatchPrefetcher::Item item = prefetch.Next();
      const auto order = EpochOrder(plan.language_sizes, plan.alpha, plan.seed, pos.epoch);
      StepSlice slice = SliceForRank(50, pos, batch, rank, world);
      ASSERT_EQ(item.batch.ids.size(0), slice.size());
      for (int64_t k = 0; k < slice.size(); ++k) {
        const int64_t expect = order[static_cast<size_t>(slice.begin + k)];
        EXPECT_EQ(item.batch.ids[k][0].item<int64_t>(), expect + 10);
        epoch0.insert(expect);
      }
      EXPECT_EQ(item.global, slice.global);
      pos = item.after;
    }
    EXPECT_EQ(pos, (ReaderPosition{1, 0}));
    // The prefetcher keeps going into epoch 1 with a fresh order.
    BatchPrefetcher::Item next = prefetch.Next();
    const auto order1 = EpochOrder(plan.language_sizes, plan.alpha, plan.seed, 1);
    StepSlice first = SliceForRank(50, ReaderPosition{1, 0}, batch, rank, world);
    EXPECT_EQ(next.batch.ids[0][0].item<int64_t>(), order1[static_cast<size_t>(first.begin)] + 10);
  }
}

TEST(BatchPrefetcher, StartsFromASavedPosition) {
  TokenizedSplit data = Numbered(40, 1);
  SamplingPlan plan{{40}, 1.0, 3};
  BatchPrefetcher prefetch(data, plan, ReaderPosition{2, 12}, 5, 1, 2, 0, 8);
  BatchPrefetcher::Item item = prefetch.Next();
  const auto order = EpochOrder(plan.language_sizes, 1.0, 3, 2);
  EXPECT_EQ(item.batch.ids[0][0].item<int64_t>(), order[17] + 10);  // rank 1 starts 5 after offset 12
  EXPECT_EQ(item.after, (ReaderPosition{2, 22}));
}

}  // namespace
}  // namespace polysweep
