// Pull mode end to end: a coordinator with trial.launcher: agents starts
// nothing; agents (mpirun jobs of polysweep-worker without a trial) ask it
// for trials over ZeroMQ, run them on their MPI ranks, and exit when the
// sweep is done. An agent whose ranks die and come back loses its trial to a
// restart from the last checkpoint; an agent of the wrong size is refused.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "command.h"
#include "journal_reader.h"
#include "processes.h"

namespace polysweep {
namespace {

using testing_util::ReadText;

using testing_util::JournalReader;
using Clock = std::chrono::steady_clock;

std::string WriteConfig(const std::string& dir, const std::string& name, int trials, int steps) {
  const std::string path = dir + "/" + name + ".yaml";
  std::ofstream(path) << testing_util::TinySweepHead(name, dir + "/run", POLYSWEEP_DEFAULT_DATA)
                      << "trial: {ranks: 2, launcher: agents, checkpoint_every: 50, max_restarts: 2}\n"
                      << "max_concurrent: 2\n"
                      << "search: {algorithm: random, seed: 4, space: {lr: {type: loguniform, low: 2.0e-3, high: 6.0e-3}}}\n"
                      << "training: {warmup_steps: 5}\n"
                      << "budget: {max_trials: " << trials << ", max_steps: " << steps << ", eval_every: " << steps / 2
                      << ", log_every: 10}\n";
  return path;
}

// Waits for the coordinator to write its endpoint; "" after 60 s.
std::string WaitForEndpoint(const std::string& run) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    std::ifstream in(run + "/coordinator.endpoint");
    std::string endpoint;
    if (std::getline(in, endpoint) && !endpoint.empty()) return endpoint;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

// An agent of `ranks` ranks named `name`, started with mpirun.
pid_t StartAgent(const std::string& endpoint, const std::string& sweep, const std::string& name, int ranks,
                 const std::string& log) {
  return testing_util::Spawn({"/usr/bin/mpirun", "-np", std::to_string(ranks), "--oversubscribe", "--bind-to", "none",
                              POLYSWEEP_WORKER_BIN, "--coordinator", endpoint, "--sweep", sweep, "--agent", name},
                             log);
}

int64_t MaxStep(const std::string& journal) {
  if (!std::filesystem::exists(journal)) return 0;
  const std::string s = JournalReader(journal).Scalar("SELECT MAX(step) FROM progress");
  return s.empty() ? 0 : std::stoll(s);
}

TEST(Agents, TwoAgentsDrainASweepAndExitWhenItIsDone) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("agents"), run = dir + "/run";
  const pid_t sweep = testing_util::Spawn({POLYSWEEP_BIN, "sweep", WriteConfig(dir, "agents", 4, 60)}, dir + "/sweep.log");
  ASSERT_GT(sweep, 0);
  const std::string endpoint = WaitForEndpoint(run);
  ASSERT_FALSE(endpoint.empty()) << ReadText(dir + "/sweep.log");

  // One rank where the trials need two: refused with the reason, nothing claimed.
  const pid_t small = StartAgent(endpoint, "agents", "small", 1, dir + "/small.log");
  EXPECT_EQ(testing_util::WaitFor(small, 60), 3) << ReadText(dir + "/small.log");
  EXPECT_NE(ReadText(dir + "/small.log").find("agent small has 1 ranks but trial.ranks is 2"), std::string::npos)
      << ReadText(dir + "/small.log");
  // An agent for another sweep is refused too.
  const pid_t stranger = StartAgent(endpoint, "other", "stranger", 2, dir + "/stranger.log");
  EXPECT_EQ(testing_util::WaitFor(stranger, 60), 3);
  EXPECT_NE(ReadText(dir + "/stranger.log").find("runs sweep agents, not other"), std::string::npos)
      << ReadText(dir + "/stranger.log");

  const pid_t a = StartAgent(endpoint, "agents", "a", 2, dir + "/a.log");
  const pid_t b = StartAgent(endpoint, "agents", "b", 2, dir + "/b.log");
  ASSERT_EQ(testing_util::WaitFor(sweep, 300), 0) << ReadText(dir + "/sweep.log");
  // Told the sweep is done, both agents exit by themselves.
  EXPECT_EQ(testing_util::WaitFor(a, 30), 0) << ReadText(dir + "/a.log");
  EXPECT_EQ(testing_util::WaitFor(b, 30), 0) << ReadText(dir + "/b.log");
  EXPECT_NE(ReadText(dir + "/a.log").find("sweep agents is done"), std::string::npos) << ReadText(dir + "/a.log");

  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='completed'"), "4");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations WHERE final=1"), "4");
  // Both agents ran trials: the first two claims went one to each.
  const int by_a = std::stoi(j.Scalar("SELECT COUNT(*) FROM transitions WHERE reason LIKE 'claimed by agent a (%'"));
  const int by_b = std::stoi(j.Scalar("SELECT COUNT(*) FROM transitions WHERE reason LIKE 'claimed by agent b (%'"));
  EXPECT_GE(by_a, 1);
  EXPECT_GE(by_b, 1);
  EXPECT_EQ(by_a + by_b, 4);
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM transitions WHERE reason LIKE 'claimed by agent small%' OR "
                     "reason LIKE 'claimed by agent stranger%'"),
            "0");
  const auto left = testing_util::TrialProcesses("agents");
  EXPECT_TRUE(left.empty()) << testing_util::DescribeProcesses(left);
  std::filesystem::remove_all(dir);
}

// Many short trials: each is issued, claimed and run exactly once, and the
// agents pick up the next trial as soon as they ask (the claim itself
// accounts for the trial just ended and queues the next).
TEST(Agents, FiveHundredSyntheticTrialsAreEachClaimedAndRunExactlyOnce) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("agents-many"), run = dir + "/run";
  const std::string config = dir + "/many.yaml";
  std::ofstream(config) << testing_util::TinySweepHead("many", run, POLYSWEEP_DEFAULT_DATA)
                        << "trial: {ranks: 1, launcher: agents, synthetic_step_ms: 1}\n"
                        << "max_concurrent: 2\n"
                        << "search: {algorithm: random, seed: 9, space: {lr: {type: loguniform, low: 1.0e-4, high: 3.0e-2}}}\n"
                        << "budget: {max_trials: 500, max_steps: 4, eval_every: 2, log_every: 2}\n";
  const pid_t sweep = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/sweep.log");
  ASSERT_GT(sweep, 0);
  const std::string endpoint = WaitForEndpoint(run);
  ASSERT_FALSE(endpoint.empty()) << ReadText(dir + "/sweep.log");
  const pid_t a = StartAgent(endpoint, "many", "a", 1, dir + "/a.log");
  const pid_t b = StartAgent(endpoint, "many", "b", 1, dir + "/b.log");
  ASSERT_EQ(testing_util::WaitFor(sweep, 300), 0) << ReadText(dir + "/sweep.log");
  EXPECT_EQ(testing_util::WaitFor(a, 30), 0) << ReadText(dir + "/a.log");
  EXPECT_EQ(testing_util::WaitFor(b, 30), 0) << ReadText(dir + "/b.log");

  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='completed' AND attempt=1"), "500");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials"), "500");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM transitions WHERE reason LIKE 'claimed by agent %'"), "500");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations"), "1000");  // steps 2 and 4 of each
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM progress"), "1000");
  // The synthetic objective ranks learning rates near 1e-3 first.
  const double best_lr = std::stod(j.Scalar(
      "SELECT json_extract(t.hparams, '$.lr') FROM evaluations e JOIN trials t ON t.id=e.trial_id "
      "WHERE e.final=1 ORDER BY e.objective DESC LIMIT 1"));
  EXPECT_GT(best_lr, 5e-4);
  EXPECT_LT(best_lr, 2e-3);
  EXPECT_EQ(j.Scalar("PRAGMA integrity_check"), "ok");
  std::filesystem::remove_all(dir);
}

TEST(Agents, AnAgentWhoseRanksDiedLosesItsTrialToARestartFromTheCheckpoint) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("agent-crash"), run = dir + "/run";
  const pid_t sweep =
      testing_util::Spawn({POLYSWEEP_BIN, "sweep", WriteConfig(dir, "agentcrash", 1, 600)}, dir + "/sweep.log");
  ASSERT_GT(sweep, 0);
  const std::string endpoint = WaitForEndpoint(run);
  ASSERT_FALSE(endpoint.empty()) << ReadText(dir + "/sweep.log");
  const pid_t first = StartAgent(endpoint, "agentcrash", "node7", 2, dir + "/first.log");
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (MaxStep(run + "/journal.db") < 120) {
    ASSERT_LT(Clock::now(), deadline) << ReadText(dir + "/first.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Its ranks die (the node lost them); mpirun ends the agent.
  for (pid_t rank : testing_util::RankPids("agentcrash")) kill(rank, SIGKILL);
  EXPECT_NE(testing_util::WaitFor(first, 60), 0);
  // The same agent comes back (a new srun step of its job): its first claim
  // gives up the trial it held, which restarts from its last checkpoint.
  const pid_t again = StartAgent(endpoint, "agentcrash", "node7", 2, dir + "/again.log");
  ASSERT_EQ(testing_util::WaitFor(sweep, 300), 0) << ReadText(dir + "/sweep.log");
  EXPECT_EQ(testing_util::WaitFor(again, 30), 0) << ReadText(dir + "/again.log");

  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=1"), "2");
  EXPECT_EQ(j.Scalar("SELECT restarts FROM trials WHERE id=1"), "1");
  const std::string why = j.Scalar("SELECT reason FROM transitions WHERE attempt=2 AND reason LIKE 'restart %'");
  EXPECT_NE(why.find("its ranks were restarted"), std::string::npos) << why;
  // Attempt 2 continued from a checkpoint, not from scratch: the one at step
  // 100, or at 50 when the kill (at step 120 or later) came while step 100's
  // was still being written in the background.
  const std::string resumed = j.Scalar("SELECT MIN(step) FROM progress WHERE attempt=2");
  ASSERT_FALSE(resumed.empty());
  EXPECT_GT(std::stoll(resumed), 50);
  EXPECT_NE(ReadText(dir + "/again.log").find("resumed from the checkpoint at step"), std::string::npos);
  const auto left = testing_util::TrialProcesses("agentcrash");
  EXPECT_TRUE(left.empty()) << testing_util::DescribeProcesses(left);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
