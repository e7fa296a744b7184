// Coordinator restart: kill -9 the coordinator while trials run, leave it
// down for 0, 5 and 30 s (POLYSWEEP_RESTART_DOWNTIMES, comma-separated), then
// run the same `polysweep sweep` command again on the same journal. The new
// coordinator must re-adopt the running trials (not relaunch them), issue no
// trial twice, continue the search where it was, store every report exactly
// once with none lost, and pass `polysweep check`. Afterwards: no process of
// any trial left, and the journal passes SQLite's integrity check. The wall
// times are printed, not asserted (a machine's speed varies from day to day):
// `scripts/chaos-campaign --downtimes 0,5,30` measures them for
// docs/reliability.md.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "command.h"
#include "journal_reader.h"
#include "processes.h"

namespace polysweep {
namespace {

using testing_util::ReadText;

using testing_util::JournalReader;
using testing_util::DescribeProcesses;
using testing_util::TrialProcesses;
using Clock = std::chrono::steady_clock;

constexpr int kTrials = 4;
constexpr int kSteps = 600;
constexpr int kLogEvery = 5;
constexpr int kEvalEvery = 200;

std::string Config(const std::string& name, const std::string& run) {
  std::ostringstream c;
  c << testing_util::TinySweepHead(name, run, POLYSWEEP_DEFAULT_DATA) << "max_concurrent: 2\n"
    << "trial: {ranks: 2, checkpoint_every: 50, heartbeat_seconds: 0.5, hang_timeout_seconds: 30}\n"
    << "search: {algorithm: random, seed: 11, space: {lr: {type: loguniform, low: 0.001, high: 0.01}}}\n"
    << "budget: {max_trials: " << kTrials << ", max_steps: " << kSteps << ", log_every: " << kLogEvery
    << ", eval_every: " << kEvalEvery << "}\n";
  return c.str();
}

struct SweepRun {
  std::string dir, run, config, journal;
};

SweepRun Prepare(const std::string& name) {
  SweepRun r;
  r.dir = testing_util::FreshDir(name);
  r.run = r.dir + "/run";
  r.config = r.dir + "/sweep.yaml";
  r.journal = r.run + "/journal.db";
  std::ofstream(r.config) << Config(name, r.run);
  return r;
}

// Trial ids with their hyperparameters, in issue order.
std::vector<std::string> Issued(const std::string& journal) {
  std::vector<std::string> out;
  for (const auto& row : JournalReader(journal).Query("SELECT id || ' ' || hparams FROM trials ORDER BY id")) {
    out.push_back(row[0]);
  }
  return out;
}

int64_t RunningTrialsPastStep(const std::string& journal, int64_t step) {
  if (!std::filesystem::exists(journal)) return 0;
  const std::string n = JournalReader(journal).Scalar(
      "SELECT COUNT(*) FROM trials t WHERE state='running' AND "
      "(SELECT MAX(step) FROM progress p WHERE p.trial_id=t.id AND p.attempt=t.attempt) >= " +
      std::to_string(step));
  return n.empty() ? 0 : std::stoll(n);
}

double CleanSweepSeconds(std::vector<std::string>* issued) {
  SweepRun r = Prepare("restart-clean");
  const auto start = Clock::now();
  const pid_t sweep = testing_util::Spawn({POLYSWEEP_BIN, "sweep", r.config}, r.dir + "/sweep.log");
  EXPECT_EQ(testing_util::WaitFor(sweep, 600), 0) << ReadText(r.dir + "/sweep.log");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  *issued = Issued(r.journal);
  std::filesystem::remove_all(r.dir);
  return seconds;
}

void KillAndRestart(int downtime, double clean_seconds, const std::vector<std::string>& clean_issued) {
  SCOPED_TRACE("downtime " + std::to_string(downtime) + " s");
  const std::string name = "restart-" + std::to_string(downtime);
  SweepRun r = Prepare(name);
  const auto start = Clock::now();
  const pid_t first = testing_util::Spawn({POLYSWEEP_BIN, "sweep", r.config}, r.dir + "/first.log");
  ASSERT_GT(first, 0);
  // Kill it while two trials are mid-training.
  const auto deadline = start + std::chrono::seconds(120);
  while (RunningTrialsPastStep(r.journal, kSteps / 4) < 2) {
    ASSERT_LT(Clock::now(), deadline) << ReadText(r.dir + "/first.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::vector<std::vector<std::string>> running = JournalReader(r.journal).Query(
      "SELECT id, attempt FROM trials WHERE state='running' ORDER BY id");
  ASSERT_EQ(kill(first, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(first, &status, 0), first);
  ASSERT_FALSE(TrialProcesses(name).empty()) << "the trials died with their coordinator";
  std::this_thread::sleep_for(std::chrono::seconds(downtime));

  const pid_t second = testing_util::Spawn({POLYSWEEP_BIN, "sweep", r.config}, r.dir + "/second.log");
  ASSERT_GT(second, 0);
  const int code = testing_util::WaitFor(second, 600);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::string log = ReadText(r.dir + "/second.log");
  ASSERT_EQ(code, 0) << log;

  JournalReader j(r.journal);
  EXPECT_EQ(j.Scalar("PRAGMA integrity_check"), "ok");
  // No trial lost, none issued twice, the search continued where it was: the
  // same trials with the same hyperparameters as the clean sweep's.
  EXPECT_EQ(Issued(r.journal), clean_issued);
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='completed'"), std::to_string(kTrials)) << log;
  // The trials that were running were re-adopted, not relaunched.
  for (const auto& row : running) {
    const std::string& id = row[0];
    EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=" + id), row[1]) << "trial " << id << " relaunched";
    EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM transitions WHERE trial_id=" + id +
                       " AND reason='re-adopted by a restarted coordinator'"),
              "1")
        << "trial " << id;
  }
  EXPECT_NE(log.find("re-adopted"), std::string::npos) << log;
  // Every report stored exactly once and none lost, including the ones the
  // ranks made while no coordinator listened.
  for (int id = 1; id <= kTrials; ++id) {
    SCOPED_TRACE("trial " + std::to_string(id));
    const std::string t = std::to_string(id);
    EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM progress WHERE trial_id=" + t), std::to_string(kSteps / kLogEvery));
    EXPECT_EQ(j.Scalar("SELECT COUNT(DISTINCT step) FROM progress WHERE trial_id=" + t),
              std::to_string(kSteps / kLogEvery));
    EXPECT_EQ(j.Scalar("SELECT group_concat(step) FROM (SELECT step FROM evaluations WHERE trial_id=" + t +
                       " ORDER BY step)"),
              "200,400,600");
  }
  EXPECT_TRUE(TrialProcesses(name).empty()) << "processes of the sweep's trials left behind";
  auto check = testing_util::RunCommand(std::string(POLYSWEEP_BIN) + " check --dir " + testing_util::Quote(r.run));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  std::cout << "coordinator restart: downtime " << downtime << " s, sweep " << seconds << " s (clean "
            << clean_seconds << " s, ratio " << seconds / clean_seconds << "), " << running.size()
            << " trials re-adopted\n";
  std::filesystem::remove_all(r.dir);
}

TEST(CoordinatorRestart, RunningTrialsAreReadoptedAndNothingIsLostOrDuplicated) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  std::vector<int> downtimes;
  const char* env = std::getenv("POLYSWEEP_RESTART_DOWNTIMES");
  std::stringstream list(env ? env : "0,5,30");
  for (std::string item; std::getline(list, item, ',');) downtimes.push_back(std::stoi(item));
  std::vector<std::string> clean_issued;
  const double clean = CleanSweepSeconds(&clean_issued);
  ASSERT_EQ(clean_issued.size(), static_cast<size_t>(kTrials));
  for (int downtime : downtimes) KillAndRestart(downtime, clean, clean_issued);
}

// Ctrl-C ends a sweep with its trials "interrupted"; the same command
// continues it: each interrupted trial resumes from its checkpoint as a new
// attempt, without spending its restart budget.
TEST(CoordinatorRestart, AnInterruptedSweepContinuesFromItsCheckpoints) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  SweepRun r = Prepare("interrupt");
  const pid_t first = testing_util::Spawn({POLYSWEEP_BIN, "sweep", r.config}, r.dir + "/first.log");
  ASSERT_GT(first, 0);
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (RunningTrialsPastStep(r.journal, 120) < 2) {
    ASSERT_LT(Clock::now(), deadline) << ReadText(r.dir + "/first.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(kill(first, SIGINT), 0);
  EXPECT_EQ(testing_util::WaitFor(first, 60), 130) << ReadText(r.dir + "/first.log");
  EXPECT_TRUE(TrialProcesses("interrupt").empty()) << DescribeProcesses(TrialProcesses("interrupt"));
  {
    JournalReader j(r.journal);
    EXPECT_EQ(j.Scalar("SELECT state FROM sweeps"), "interrupted");
    EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='interrupted'"), "2");
  }
  // A changed config is refused, naming both files, and changes nothing.
  const std::string journal_before = JournalReader(r.journal).Scalar(
      "SELECT group_concat(id || state || attempt) FROM trials") + JournalReader(r.journal).Scalar("SELECT state FROM sweeps");
  const std::string original = ReadText(r.config);
  std::ofstream(r.config) << Config("interrupt", r.run) << "training: {warmup_steps: 7}\n";
  auto changed = testing_util::RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + testing_util::Quote(r.config));
  EXPECT_EQ(changed.exit_code, 2) << changed.err;
  EXPECT_NE(changed.err.find(r.config + " is not the config sweep interrupt started with"), std::string::npos)
      << changed.err;
  EXPECT_EQ(JournalReader(r.journal).Scalar("SELECT group_concat(id || state || attempt) FROM trials") +
                JournalReader(r.journal).Scalar("SELECT state FROM sweeps"),
            journal_before);
  std::ofstream(r.config) << original;

  const pid_t second = testing_util::Spawn({POLYSWEEP_BIN, "sweep", r.config}, r.dir + "/second.log");
  const std::string log = (testing_util::WaitFor(second, 600), ReadText(r.dir + "/second.log"));
  JournalReader j(r.journal);
  EXPECT_EQ(j.Scalar("SELECT state FROM sweeps"), "finished") << log;
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='completed'"), std::to_string(kTrials)) << log;
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE restarts > 0"), "0");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM transitions WHERE reason='resumed after the sweep was interrupted'"), "2");
  for (int id : {1, 2}) {
    const std::string t = std::to_string(id);
    EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=" + t), "2");
    EXPECT_NE(ReadText(r.run + "/trial-" + t + ".log").find("resumed from the checkpoint at step "), std::string::npos);
  }
  EXPECT_EQ(j.Scalar("PRAGMA integrity_check"), "ok");
  EXPECT_TRUE(TrialProcesses("interrupt").empty()) << DescribeProcesses(TrialProcesses("interrupt"));
  // A finished sweep is not run again by accident.
  auto again = testing_util::RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + testing_util::Quote(r.config));
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_NE(again.err.find("sweep interrupt has finished; pass --overwrite"), std::string::npos) << again.err;
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials"), std::to_string(kTrials));
  std::filesystem::remove_all(r.dir);
}

}  // namespace
}  // namespace polysweep
