// Chaos: kill -9 a random rank of a running trial at a random moment, again
// and again (POLYSWEEP_CHAOS_KILLS times, 10 by default; set it higher for a
// long run). Every kill must end in a restart from the last good checkpoint:
// the trial completes, no more than one checkpoint interval of work is lost
// per kill, no checkpoint is ever found corrupt, no process of the trial is
// left behind, and the journal passes SQLite's integrity check.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "command.h"
#include "journal_reader.h"
#include "processes.h"

namespace polysweep {
namespace {

using testing_util::Alive;
using testing_util::JournalReader;
using testing_util::RankPids;
using testing_util::Quote;
using testing_util::RunCommand;

constexpr int kCheckpointEvery = 50;

// The furthest step trial 1 reported (a resumed attempt's steps are stored
// once it passes what its predecessors reported).
int64_t MaxStep(const std::string& journal) {
  if (!std::filesystem::exists(journal)) return 0;
  JournalReader j(journal);
  const std::string s = j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1");
  return s.empty() ? 0 : std::stoll(s);
}

// The furthest step attempt `attempt` of trial 1 reported itself: a resumed
// attempt's first reports replay what its checkpoint's coordinator never
// acknowledged, stored as the attempt that made them, so this grows only
// once the attempt's own ranks step.
int64_t MaxStepOfAttempt(const std::string& journal, int attempt) {
  if (!std::filesystem::exists(journal)) return 0;
  JournalReader j(journal);
  const std::string s =
      j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1 AND attempt=" + std::to_string(attempt));
  return s.empty() ? 0 : std::stoll(s);
}

// `polysweep check` on a finished sweep: exit 0, or its report.
void ExpectCheckPasses(const std::string& run) {
  auto check = RunCommand(std::string(POLYSWEEP_BIN) + " check --dir " + Quote(run));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST(Chaos, KilledRanksRestartFromTheLastCheckpoint) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const char* env = std::getenv("POLYSWEEP_CHAOS_KILLS");
  const int kills = env ? std::atoi(env) : 10;
  const unsigned seed = 20261122;
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(kills) + " kills");

  const std::string dir = testing_util::FreshDir("chaos"), run = dir + "/run";
  const std::string config = dir + "/chaos.yaml";
  const int64_t steps = 400 + 250L * kills;
  std::ofstream(config) << testing_util::TinySweepHead("chaos", run, POLYSWEEP_DEFAULT_DATA)
                        << "trial: {ranks: 2, checkpoint_every: " << kCheckpointEvery
                        << ", keep_checkpoints: 2, max_restarts: " << kills << "}\n"
                        << "search: {space: {lr: {type: choice, values: [0.003]}}}\n"
                        << "budget: {max_trials: 1, max_steps: " << steps << ", log_every: 5}\n";
  const pid_t sweep = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/sweep.log");
  ASSERT_GT(sweep, 0);

  const std::string journal = run + "/journal.db";
  // Kills that ended an attempt. On a loaded machine this process can look
  // so late that the trial trains to its end before a planned kill: then it
  // completes with the kills made so far.
  int made = 0;
  auto completed = [&] { return JournalReader(journal).Scalar("SELECT state FROM trials WHERE id=1") == "completed"; };
  for (int k = 0; k < kills && !completed(); ++k) {
    // Let the current attempt get somewhere, then kill one rank at a random step.
    const int64_t from = MaxStep(journal);
    const int64_t target = from + 60 + static_cast<int64_t>(rng() % 80);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (MaxStep(journal) < target && !completed()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no progress after kill " << k;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (completed()) break;
    auto pids = RankPids("chaos", k + 1);  // the running attempt's, not a dying one's
    ASSERT_FALSE(pids.empty()) << "no rank to kill at kill " << k;
    ASSERT_EQ(kill(pids[rng() % pids.size()], SIGKILL), 0);
    // Wait for the coordinator to start the next attempt (a minute of its
    // own: on a loaded machine the wait for progress can take most of the
    // one before).
    const auto restart_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (JournalReader(journal).Scalar("SELECT attempt FROM trials WHERE id=1") != std::to_string(k + 2) &&
           !completed()) {
      ASSERT_LT(std::chrono::steady_clock::now(), restart_deadline) << "no restart after kill " << k;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (JournalReader(journal).Scalar("SELECT attempt FROM trials WHERE id=1") == std::to_string(k + 2)) ++made;
  }
  ASSERT_GE(made, 3) << "the trial ended before 3 kills";
  std::stringstream log;
  const int code = testing_util::WaitFor(sweep, 300);
  log << std::ifstream(dir + "/sweep.log").rdbuf();
  ASSERT_EQ(code, 0) << log.str();

  JournalReader j(journal);
  EXPECT_EQ(j.Scalar("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=1"), std::to_string(made + 1));
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM transitions WHERE reason LIKE 'restart %'"), std::to_string(made));
  // Work lost per kill: from the last step an attempt reported to the
  // checkpoint step the next one resumed from, at most one checkpoint
  // interval (plus the report interval, since reports come every 5 steps).
  int64_t worst = 0;
  for (int a = 1; a <= made; ++a) {
    const int64_t reached = std::stoll(j.Scalar("SELECT MAX(step) FROM progress WHERE attempt=" + std::to_string(a)));
    const int64_t resumed =
        std::stoll(j.Scalar("SELECT MIN(resumed_from) FROM progress WHERE attempt=" + std::to_string(a + 1)));
    worst = std::max(worst, reached - resumed);
    EXPECT_GE(resumed, 1) << "attempt " << a + 1 << " started from scratch";
  }
  std::cout << "chaos: " << made << " kills, worst work lost " << worst << " steps (checkpoint every "
            << kCheckpointEvery << ")\n";
  EXPECT_LE(worst, kCheckpointEvery + 5);
  EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress"), std::to_string(steps));
  // No checkpoint was ever found unusable, and none is left half-written.
  std::stringstream trial_log;
  trial_log << std::ifstream(run + "/trial-1.log").rdbuf();
  EXPECT_EQ(trial_log.str().find("unusable"), std::string::npos) << trial_log.str();
  for (const auto& e : std::filesystem::directory_iterator(run + "/checkpoints/trial-1")) {
    EXPECT_EQ(e.path().extension(), "") << "left behind: " << e.path();
  }
  EXPECT_TRUE(RankPids("chaos").empty()) << "orphan ranks left";
  ExpectCheckPasses(run);
  std::filesystem::remove_all(dir);
}

// SIGUSR1 to one rank (what Slurm's --signal sends): all ranks agree on a
// step, evaluate there (every step is an evaluation step here), commit a
// checkpoint, exit; the trial is requeued and resumes at exactly that step,
// with its restart budget (zero here) untouched, no evaluation lost or made
// twice, and early stopping's count where the journal's evaluations left it.
TEST(Chaos, PreemptionCommitsACheckpointAndRequeues) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("preempt"), run = dir + "/run";
  const std::string config = dir + "/preempt.yaml";
  std::ofstream(config) << testing_util::TinySweepHead("preempt", run, POLYSWEEP_DEFAULT_DATA)
                        << "trial: {ranks: 2, checkpoint_every: 100000, max_restarts: 0}\n"
                        << "search: {space: {lr: {type: choice, values: [0.003]}}}\n"
                        << "training: {early_stopping_patience: 1000}\n"
                        << "budget: {max_trials: 1, max_steps: 1000, log_every: 5, eval_every: 1}\n";
  const pid_t sweep = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/sweep.log");
  ASSERT_GT(sweep, 0);
  const std::string journal = run + "/journal.db";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (MaxStep(journal) < 400) {  // late enough for evaluations that do not beat the best
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto pids = RankPids("preempt");
  ASSERT_EQ(pids.size(), 2u);
  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pids[1], SIGUSR1), 0);
  while (JournalReader(journal).Scalar("SELECT COUNT(*) FROM transitions WHERE to_state='preempted'") != "1") {
    ASSERT_LT(std::chrono::steady_clock::now(), signalled + std::chrono::seconds(30)) << "no checkpoint within 30 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  const int code = testing_util::WaitFor(sweep, 300);
  std::stringstream log, trial_log;
  log << std::ifstream(dir + "/sweep.log").rdbuf();
  ASSERT_EQ(code, 0) << log.str();
  trial_log << std::ifstream(run + "/trial-1.log").rdbuf();
  JournalReader j(journal);
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=1"), "2");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM transitions WHERE reason LIKE 'restart %'"), "0");
  const std::string reason = j.Scalar("SELECT reason FROM transitions WHERE to_state='preempted'");
  ASSERT_EQ(reason.rfind("checkpoint committed at step ", 0), 0u) << reason;
  const std::string step = reason.substr(std::string("checkpoint committed at step ").size());
  EXPECT_NE(trial_log.str().find("resumed from the checkpoint at step " + step + " "), std::string::npos)
      << trial_log.str();
  EXPECT_GE(std::stoll(step), 400);
  EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress"), "1000");
  // The preempted step's evaluation was made before its checkpoint.
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations WHERE attempt = 1 AND step = " + step), "1");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) || ' ' || COUNT(DISTINCT step) || ' ' || MIN(step) || ' ' || MAX(step) "
                     "FROM evaluations"),
            "1000 1000 1 1000");
  // Early stopping's count went on from the checkpoint: evaluations since the
  // best macro-F1 among the first attempt's, up to the checkpoint's step.
  double best = -1;
  int since = 0;
  for (const auto& row : j.Query("SELECT macro_f1 FROM evaluations WHERE attempt = 1 AND step <= " + step +
                                 " ORDER BY step")) {
    const double f1 = std::stod(row[0]);
    since = f1 > best ? 0 : since + 1;
    best = std::max(best, f1);
  }
  ASSERT_GE(best, 0) << "no evaluation before the checkpoint";
  EXPECT_NE(trial_log.str().find("early stopping: " + std::to_string(since) + " of 1000 evaluations since the best"),
            std::string::npos)
      << trial_log.str();
  ExpectCheckPasses(run);
  std::cout << "preemption: checkpoint at step " << step << " committed " << seconds << " s after SIGUSR1; "
            << since << " evaluations since the best\n";
  std::filesystem::remove_all(dir);
}

// SIGSTOP a rank: its heartbeats stop, the coordinator names the rank and
// its host, kills the whole trial within the hang budget, and the restarted
// attempt completes. Repeated POLYSWEEP_CHAOS_STOPS times (3 by default).
TEST(Chaos, StoppedRankIsDetectedNamedAndTheTrialRestarted) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const char* env = std::getenv("POLYSWEEP_CHAOS_STOPS");
  const int stops = env ? std::atoi(env) : 3;
  const double hang_timeout = 2.0, heartbeat = 0.25;
  std::mt19937 rng(7);
  const std::string dir = testing_util::FreshDir("hang"), run = dir + "/run";
  const std::string config = dir + "/hang.yaml";
  std::ofstream(config) << testing_util::TinySweepHead("hang", run, POLYSWEEP_DEFAULT_DATA)
                        << "trial: {ranks: 2, checkpoint_every: 50, max_restarts: " << stops
                        << ", heartbeat_seconds: " << heartbeat << ", hang_timeout_seconds: " << hang_timeout << "}\n"
                        << "search: {space: {lr: {type: choice, values: [0.003]}}}\n"
                        << "budget: {max_trials: 1, max_steps: " << 400 + 200 * stops << ", log_every: 5}\n";
  const pid_t sweep = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/sweep.log");
  ASSERT_GT(sweep, 0);
  const std::string journal = run + "/journal.db";
  double worst_detection = 0;
  for (int k = 0; k < stops; ++k) {
    // Stop a rank of this attempt once its own ranks have stepped a while
    // (40 steps past its first report of its own, some heartbeats): stopped
    // before its first step, a rank has the start timeout instead of the
    // hang timeout, and MaxStep alone can pass the target on the attempt's
    // replayed reports before its ranks take a step.
    const int attempt = k + 1;
    const int64_t target = MaxStep(journal) + 60 + static_cast<int64_t>(rng() % 60);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int64_t first_own = 0;
    auto stepped = [&] {
      const int64_t own = MaxStepOfAttempt(journal, attempt);
      if (own > 0 && first_own == 0) first_own = own;
      return own > 0 && own >= std::max(target, first_own + 40);
    };
    while (!stepped()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no progress before stop " << k;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto pids = RankPids("hang");
    ASSERT_EQ(pids.size(), 2u);
    const pid_t victim = pids[rng() % pids.size()];
    const auto stopped_at = std::chrono::steady_clock::now();
    ASSERT_EQ(kill(victim, SIGSTOP), 0);
    while (JournalReader(journal).Scalar("SELECT attempt FROM trials WHERE id=1") != std::to_string(k + 2)) {
      ASSERT_LT(std::chrono::steady_clock::now(), stopped_at + std::chrono::seconds(30)) << "hang not detected";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double detected =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at).count();
    worst_detection = std::max(worst_detection, detected);
    EXPECT_LE(detected, hang_timeout + 3 * heartbeat + 1.5) << "stop " << k;
    EXPECT_FALSE(Alive(victim)) << "the stopped rank survived its trial's restart";
  }
  const int code = testing_util::WaitFor(sweep, 300);
  std::stringstream log;
  log << std::ifstream(dir + "/sweep.log").rdbuf();
  ASSERT_EQ(code, 0) << log.str();
  EXPECT_NE(log.str().find("made no progress for"), std::string::npos);
  EXPECT_NE(log.str().find("on host "), std::string::npos) << "the stalled rank's host is not named";
  JournalReader j(journal);
  EXPECT_EQ(j.Scalar("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM transitions WHERE reason LIKE '%hang: rank %'"), std::to_string(stops));
  std::cout << "hang: " << stops << " stops, worst detection " << worst_detection << " s (timeout " << hang_timeout
            << " s, heartbeat " << heartbeat << " s)\n";
  EXPECT_TRUE(RankPids("hang").empty()) << "orphan ranks left";
  ExpectCheckPasses(run);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
