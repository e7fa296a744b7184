// The MPI communicator under a real mpirun: sums and copies, chunked large
// buffers, several collectives in flight at once, a blocking one behind them,
// and a collective a peer
// never joins failing after the timeout instead of hanging.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "mpi_env.h"
#include "worker/comm/communicator.h"
#include "worker/comm/mpi_communicator.h"

namespace polysweep {
namespace {

std::unique_ptr<Communicator> Comm(CommOptions options = {}) {
  auto comm = MakeCommunicator("mpi", TestMpi(), options);
  EXPECT_TRUE(comm.ok()) << comm.status().message();
  return std::move(*comm);
}

TEST(Communicator, AllReduceSumsAndBroadcastCopies) {
  auto comm = Comm();
  const int world = comm->size();
  std::vector<float> v(1000, static_cast<float>(comm->rank() + 1));
  ASSERT_TRUE(comm->AllReduceSum(v.data(), v.size()).ok());
  for (float x : v) ASSERT_EQ(x, world * (world + 1) / 2.0f);
  int value = comm->rank() == 0 ? 42 : -1;
  ASSERT_TRUE(comm->Broadcast(&value, sizeof value, 0).ok());
  EXPECT_EQ(value, 42);
  EXPECT_TRUE(comm->Barrier().ok());
}

// The all-reduce carries its element type: int64 sums are exact where a
// float's would round, small (inline) and large (chunked, started) alike.
TEST(Communicator, Int64SumsAreExact) {
  auto comm = Comm();
  const int world = comm->size();
  const int64_t big = (int64_t{1} << 40) + 1;  // a float holds 24 bits of it
  std::vector<int64_t> small(3, big + comm->rank());
  ASSERT_TRUE(comm->AllReduceSum(small.data(), small.size()).ok());
  for (int64_t x : small) ASSERT_EQ(x, world * big + world * (world - 1) / 2);
  const size_t n = 2 * kMpiChunkBytes / sizeof(int64_t) + 7;
  std::vector<int64_t> large(n, big);
  ASSERT_TRUE(comm->StartAllReduce(large.data(), n, DType::kInt64)->Wait().ok());
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(large[i], world * big) << "element " << i;
}

// Buffers larger than a chunk go as several requests; every element arrives.
TEST(Communicator, LargeBuffersAreReducedAndCopiedWhole) {
  auto comm = Comm();
  const size_t n = 3 * kMpiChunkBytes / sizeof(float) + 12345;
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((i % 1000) * (comm->rank() + 1));
  ASSERT_TRUE(comm->AllReduceSum(v.data(), n).ok());
  const float factor = comm->size() * (comm->size() + 1) / 2.0f;
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(v[i], static_cast<float>(i % 1000) * factor) << "element " << i;

  const int root = comm->size() - 1;
  std::vector<char> bytes(2 * kMpiChunkBytes + 77, static_cast<char>(comm->rank()));
  ASSERT_TRUE(comm->Broadcast(bytes.data(), bytes.size(), root).ok());
  for (char c : bytes) ASSERT_EQ(c, static_cast<char>(root));
}

// Collectives started back to back complete independently; waiting in any
// order gives each its own result.
TEST(Communicator, ManyCollectivesInFlightCompleteInAnyWaitOrder) {
  auto comm = Comm();
  constexpr int kOps = 12;
  std::vector<std::vector<float>> buffers;
  for (int k = 0; k < kOps; ++k) {
    buffers.emplace_back(static_cast<size_t>(100 + k * 50000), static_cast<float>(k + comm->rank()));
  }
  std::vector<std::unique_ptr<CommWork>> work;
  for (auto& b : buffers) work.push_back(comm->StartAllReduceSum(b.data(), b.size()));
  auto barrier = comm->StartBarrier();
  for (int k = kOps - 1; k >= 0; --k) ASSERT_TRUE(work[static_cast<size_t>(k)]->Wait().ok());
  ASSERT_TRUE(barrier->Wait().ok());
  const int world = comm->size();
  for (int k = 0; k < kOps; ++k) {
    const float want = static_cast<float>(k * world + world * (world - 1) / 2);
    for (float x : buffers[static_cast<size_t>(k)]) ASSERT_EQ(x, want) << "collective " << k;
  }
  EXPECT_FALSE(work[0]->Wait().ok()) << "a second wait on one handle must say so";
}

// A blocking all-reduce (which runs on the calling thread when the
// communicator is idle) issued while another is in flight waits its turn:
// collectives must be issued in one order on every rank.
TEST(Communicator, ABlockingAllReduceBehindOneInFlightWaitsItsTurn) {
  auto comm = Comm();
  const int world = comm->size();
  for (int round = 0; round < 20; ++round) {
    std::vector<float> big(2 * kMpiChunkBytes / sizeof(float) + 7, static_cast<float>(comm->rank() + 1));
    std::vector<float> small(64, static_cast<float>(10 * (comm->rank() + 1)));
    auto work = comm->StartAllReduceSum(big.data(), big.size());
    ASSERT_TRUE(comm->AllReduceSum(small.data(), small.size()).ok());
    ASSERT_TRUE(work->Wait().ok());
    for (float x : small) ASSERT_EQ(x, 10.0f * world * (world + 1) / 2);
    for (float x : big) ASSERT_EQ(x, world * (world + 1) / 2.0f);
    // Idle again: the small one alone.
    ASSERT_TRUE(comm->AllReduceSum(small.data(), small.size()).ok());
    for (float x : small) ASSERT_EQ(x, 10.0f * world * world * (world + 1) / 2);
  }
}

// Rank 0 starts an all-reduce the others join only after its timeout: rank 0
// gets a deadline-exceeded error naming the collective and the setting, and its communicator
// refuses further work at once.
TEST(Communicator, ACollectiveNoPeerJoinsTimesOut) {
  CommOptions quick;
  quick.timeout_seconds = 1;
  auto late = Comm(quick);
  auto control = Comm();
  std::vector<float> v(64, 1.f);
  if (late->rank() == 0) {
    const auto start = std::chrono::steady_clock::now();
    Status s = late->AllReduceSum(v.data(), v.size());
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);  // classed as a collective timeout
    EXPECT_NE(s.message().find("all-reduce of 64 floats"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("collective_timeout_seconds"), std::string::npos) << s.message();
    EXPECT_GE(waited, 0.9);
    EXPECT_LT(waited, 5.0);
    const auto again = std::chrono::steady_clock::now();
    Status refused = late->Barrier();
    EXPECT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("not started"), std::string::npos) << refused.message();
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - again).count(), 0.5);
  }
  ASSERT_TRUE(control->Barrier().ok());
  // The others join now, so rank 0's orphaned request finds its match.
  if (late->rank() != 0) EXPECT_TRUE(late->AllReduceSum(v.data(), v.size()).ok());
  ASSERT_TRUE(control->Barrier().ok());
}

}  // namespace
}  // namespace polysweep
