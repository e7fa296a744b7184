// The coordinator's timeouts decided on its own clock (common/clock.h): a
// real coordinator (socket, journal, scheduler) on a FakeClock, a simulated
// rank over real ZeroMQ (the rank's reporter), and a test that moves the
// clock instead of sleeping through the timeout. A ten-minute hang timeout
// passes in a fraction of a second, and nothing happens before it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/clock.h"
#include "tests/common/running_coordinator.h"
#include "tests/integration/journal_reader.h"
#include "worker/reporter.h"

namespace polysweep {
namespace {

using namespace std::chrono_literals;

std::string FreshTempDir() {
  std::string tmpl = ::testing::TempDir() + "coordinator_clock_test.XXXXXX";
  return mkdtemp(tmpl.data()) ? tmpl : "";
}

// The trial's state once it is no longer `running`, or "running" after `wait` of real time.
std::string StateAfter(testing_util::JournalReader& j, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::string state = j.Scalar("SELECT state FROM trials WHERE id = 1");
  while (state == "running" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    state = j.Scalar("SELECT state FROM trials WHERE id = 1");
  }
  return state;
}

TEST(CoordinatorClock, ARankThatStopsIsGivenUpWhenTheHangTimeoutPassesOnTheCoordinatorsClock) {
  const std::string dir = FreshTempDir();
  ASSERT_FALSE(dir.empty());
  FakeClock clock;
  auto coordinator = testing_util::RunningCoordinator::StartInDir(
      dir, "clock",
      "trial: {ranks: 1, heartbeat_seconds: 5, start_timeout_seconds: 600, hang_timeout_seconds: 600, "
      "max_restarts: 0}\n"
      "search: {space: {lr: {type: choice, values: [0.001]}}}\n"
      "budget: {max_trials: 1, max_steps: 100, log_every: 10}\n",
      &clock);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status().message();
  testing_util::RunningCoordinator& c = **coordinator;
  ASSERT_TRUE(c.WaitLaunched(1, 20s));
  zmq::context_t ctx(1);
  Logger log("clock test");
  CoordinatorClient rank(ctx, c.endpoint(), TrialIdentity{"clock", 1, 1, 0}, std::nullopt, 30s, log);
  ASSERT_TRUE(rank.Hello(1, "node-a", 4242).ok());
  wire::Progress p;
  p.set_step(10);
  p.set_loss(0.5);
  p.set_max_steps(100);
  ASSERT_TRUE(rank.Progress(p).ok());  // then the rank stops: no step, no heartbeat

  testing_util::JournalReader j(dir + "/journal.db");
  ASSERT_TRUE(j.ok());
  clock.Advance(599);  // not yet: the coordinator checks many times and leaves it running
  EXPECT_EQ(StateAfter(j, 400ms), "running");
  clock.Advance(2);
  EXPECT_EQ(StateAfter(j, 20s), "failed");
  EXPECT_EQ(j.Scalar("SELECT reason FROM trials WHERE id = 1"), "hang");
  const std::string error = j.Scalar("SELECT error FROM trials WHERE id = 1");
  EXPECT_NE(error.find("rank 0/1 on host node-a (pid 4242) made no progress for 601"), std::string::npos) << error;
  EXPECT_TRUE(c.Stop().ok());
  std::filesystem::remove_all(dir);
}

// A rank that connected but never starts its steps (loading data, building
// the model) has the start timeout, on the same clock.
TEST(CoordinatorClock, ARankThatNeverStepsIsGivenUpWhenTheStartTimeoutPasses) {
  const std::string dir = FreshTempDir();
  ASSERT_FALSE(dir.empty());
  FakeClock clock;
  auto coordinator = testing_util::RunningCoordinator::StartInDir(
      dir, "clock",
      "trial: {ranks: 1, heartbeat_seconds: 5, start_timeout_seconds: 900, hang_timeout_seconds: 60, "
      "max_restarts: 0}\n"
      "search: {space: {lr: {type: choice, values: [0.001]}}}\n"
      "budget: {max_trials: 1, max_steps: 100, log_every: 10}\n",
      &clock);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status().message();
  testing_util::RunningCoordinator& c = **coordinator;
  ASSERT_TRUE(c.WaitLaunched(1, 20s));
  zmq::context_t ctx(1);
  Logger log("clock test");
  CoordinatorClient rank(ctx, c.endpoint(), TrialIdentity{"clock", 1, 1, 0}, std::nullopt, 30s, log);
  ASSERT_TRUE(rank.Hello(1, "node-b", 7).ok());

  testing_util::JournalReader j(dir + "/journal.db");
  ASSERT_TRUE(j.ok());
  clock.Advance(120);  // past the hang timeout, but no step has begun: the start timeout applies
  EXPECT_EQ(StateAfter(j, 400ms), "running");
  clock.Advance(781);
  EXPECT_EQ(StateAfter(j, 20s), "failed");
  EXPECT_EQ(j.Scalar("SELECT reason FROM trials WHERE id = 1"), "hang");
  EXPECT_TRUE(c.Stop().ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
