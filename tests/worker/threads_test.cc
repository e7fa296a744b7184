// How many compute threads a rank takes (worker/threads.h): its share of the
// host's CPUs, never more, whatever the config asks.
#include "worker/threads.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

namespace polysweep {
namespace {

TEST(ChooseRankThreads, AutoTakesTheRanksShareOfTheCpus) {
  EXPECT_EQ(ChooseRankThreads(0, 16, 4).threads, 4);
  EXPECT_EQ(ChooseRankThreads(0, 2, 2).threads, 1);
  EXPECT_EQ(ChooseRankThreads(0, 2, 3).threads, 1);  // oversubscribed already: one each
  EXPECT_EQ(ChooseRankThreads(0, 7, 2).threads, 3);
  const ThreadChoice automatic = ChooseRankThreads(0, 16, 4);
  EXPECT_NE(automatic.note.find("auto: 4 (4 ranks on this host share 16 CPUs)"), std::string::npos)
      << automatic.note;
}

TEST(ChooseRankThreads, ARequestAboveTheShareIsCappedAndSaysSo) {
  const ThreadChoice capped = ChooseRankThreads(4, 2, 2);
  EXPECT_EQ(capped.threads, 1);
  EXPECT_NE(capped.note.find("trial.threads_per_rank 4 capped to 1: 2 ranks on this host share 2 CPUs"),
            std::string::npos)
      << capped.note;
  const ThreadChoice fits = ChooseRankThreads(2, 8, 2);
  EXPECT_EQ(fits.threads, 2);
  EXPECT_TRUE(fits.note.empty());
}

TEST(SetComputeThreads, SetsLibTorchAndOpenBlas) {
  const int before = at::get_num_threads();
  const bool openblas = SetComputeThreads(2);
  EXPECT_EQ(at::get_num_threads(), 2);
  // The worker links OpenBLAS through LibTorch's BLAS on Debian (libopenblas0-pthread installed by the setup).
  EXPECT_TRUE(openblas) << "openblas_set_num_threads not found: is the reference BLAS in use?";
  SetComputeThreads(before);
  EXPECT_EQ(at::get_num_threads(), before);
}

}  // namespace
}  // namespace polysweep
