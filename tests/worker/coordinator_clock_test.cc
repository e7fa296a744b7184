// The coordinator's timeouts decided on its own clock (common/clock.h): a
// real coordinator (socket, journal, scheduler) on a FakeClock, a simulated
// rank over real ZeroMQ (the rank's reporter), and a test that moves the
// clock instead of sleeping through the timeout. A ten-minute hang timeout
// passes in a fraction of a second, and nothing happens before it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
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

// A real coordinator of the sweep "clock" on a FakeClock, in a fresh
// directory, its one single-rank trial launched; `rank` speaks for it.
class CoordinatorClock : public ::testing::Test {
 protected:
  void Start(double start_timeout, double hang_timeout) {
    dir_ = FreshTempDir();
    ASSERT_FALSE(dir_.empty());
    auto coordinator = testing_util::RunningCoordinator::StartInDir(
        dir_, "clock",
        "trial: {ranks: 1, heartbeat_seconds: 5, start_timeout_seconds: " + std::to_string(start_timeout) +
            ", hang_timeout_seconds: " + std::to_string(hang_timeout) + ", max_restarts: 0}\n"
            "search: {space: {lr: {type: choice, values: [0.001]}}}\n"
            "budget: {max_trials: 1, max_steps: 100, log_every: 10}\n",
        &clock_);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status().message();
    coordinator_ = std::move(*coordinator);
    ASSERT_TRUE(coordinator_->WaitLaunched(1, 20s));
    rank_ = std::make_unique<CoordinatorClient>(ctx_, coordinator_->endpoint(), TrialIdentity{"clock", 1, 1, 0},
                                                std::nullopt, 30s, log_);
    journal_ = std::make_unique<testing_util::JournalReader>(dir_ + "/journal.db");
  }
  void TearDown() override {
    rank_.reset();
    if (coordinator_) EXPECT_TRUE(coordinator_->Stop().ok());
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  FakeClock clock_;
  std::string dir_;
  std::unique_ptr<testing_util::RunningCoordinator> coordinator_;
  zmq::context_t ctx_{1};
  Logger log_{"clock test"};
  std::unique_ptr<CoordinatorClient> rank_;
  std::unique_ptr<testing_util::JournalReader> journal_;
};

TEST_F(CoordinatorClock, ARankThatStopsIsGivenUpWhenTheHangTimeoutPassesOnTheCoordinatorsClock) {
  ASSERT_NO_FATAL_FAILURE(Start(600, 600));
  ASSERT_TRUE(rank_->Hello(1, "node-a", 4242).ok());
  wire::Progress p;
  p.set_step(10);
  p.set_loss(0.5);
  p.set_max_steps(100);
  ASSERT_TRUE(rank_->Progress(p).ok());  // then the rank stops: no step, no heartbeat

  clock_.Advance(599);  // not yet: the coordinator checks many times and leaves it running
  EXPECT_EQ(StateAfter(*journal_, 400ms), "running");
  clock_.Advance(2);
  EXPECT_EQ(StateAfter(*journal_, 20s), "failed");
  EXPECT_EQ(journal_->Scalar("SELECT reason FROM trials WHERE id = 1"), "hang");
  const std::string error = journal_->Scalar("SELECT error FROM trials WHERE id = 1");
  EXPECT_NE(error.find("rank 0/1 on host node-a (pid 4242) made no progress for 601"), std::string::npos) << error;
}

// A rank that connected but never starts its steps (loading data, building
// the model) has the start timeout, on the same clock.
TEST_F(CoordinatorClock, ARankThatNeverStepsIsGivenUpWhenTheStartTimeoutPasses) {
  ASSERT_NO_FATAL_FAILURE(Start(900, 60));
  ASSERT_TRUE(rank_->Hello(1, "node-b", 7).ok());

  clock_.Advance(120);  // past the hang timeout, but no step has begun: the start timeout applies
  EXPECT_EQ(StateAfter(*journal_, 400ms), "running");
  clock_.Advance(781);
  EXPECT_EQ(StateAfter(*journal_, 20s), "failed");
  EXPECT_EQ(journal_->Scalar("SELECT reason FROM trials WHERE id = 1"), "hang");
}

}  // namespace
}  // namespace polysweep
