// Schedulers and trial control on real sweeps: an ASHA sweep of nine trials
// of two MPI ranks in which trials pause at rungs with a checkpoint, losers
// are pruned and winners resume from their checkpoints; a trial promoted as
// it reaches its rung training on in the same attempt; and the owner's
// pause, resume and stop reaching every rank of a trial at the same step.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "command.h"
#include "journal_reader.h"

namespace polysweep {
namespace {

using testing_util::ReadText;

using testing_util::JournalReader;
using testing_util::Quote;
using testing_util::RunCommand;

std::string WriteConfig(const std::string& dir, const std::string& name, const std::string& extra) {
  const std::string path = dir + "/sweep.yaml";
  std::ofstream(path) << testing_util::TinySweepHead(name, dir + "/run", POLYSWEEP_DEFAULT_DATA)
                      << "trial: {ranks: 2, threads_per_rank: 1, checkpoint_every: 0}\n"
                      << "search:\n"
                      << "  algorithm: random\n"
                      << "  seed: 5\n"
                      << "  space:\n"
                      << "    lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}\n"
                      << "    dropout: {type: uniform, low: 0.0, high: 0.1}\n"
                      << "training: {warmup_steps: 5, batch_size: 16}\n"
                      << extra;
  return path;
}

// Waits for the sweep process; kills it and fails after `limit`.
int WaitSweep(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid, SIGTERM);
  waitpid(pid, &status, 0);
  return -1;
}

// Runs the sweep of WriteConfig(dir, name, extra) to its end, within
// `limit`; true when it finished with exit code 0 (its log is dir/sweep.log).
::testing::AssertionResult RunSweepOf(const std::string& dir, const std::string& config, std::chrono::seconds limit) {
  const std::string log = dir + "/sweep.log";
  const pid_t pid = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, log);
  if (pid <= 0) return ::testing::AssertionFailure() << "cannot start polysweep sweep";
  const int code = WaitSweep(pid, limit);
  if (code != 0) return ::testing::AssertionFailure() << "sweep exited " << code << "\n" << ReadText(log);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult RunSweep(const std::string& dir, const std::string& name, const std::string& extra,
                                    std::chrono::seconds limit) {
  return RunSweepOf(dir, WriteConfig(dir, name, extra), limit);
}

TEST(SchedulerSweep, AshaPrunesEarlyAndPromotedTrialsResumeFromTheirCheckpoints) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("asha");
  // Rungs at steps 10, 30 and 90 (the budget); two trials run at once;
  // every trial pauses at its rung, even one promoted there and then.
  ASSERT_TRUE(RunSweep(dir, "asha",
                       "max_concurrent: 2\n"
                       "metric: {name: language_f1, over: worst}\n"
                       "scheduler: {type: asha, grace: 10, reduction_factor: 3, promote_in_place: false}\n"
                       "budget: {max_trials: 9, max_steps: 90, eval_every: 0, log_every: 5}\n",
                       std::chrono::seconds(420)));
  const std::string run = dir + "/run", log = dir + "/sweep.log";

  JournalReader j(run + "/journal.db");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j.Scalar("SELECT state FROM sweeps"), "finished");
  std::map<std::string, int> outcomes;
  for (const auto& row : j.Query("SELECT state FROM trials")) outcomes[row[0]]++;
  EXPECT_EQ(outcomes["completed"] + outcomes["pruned"], 9) << ReadText(log);
  EXPECT_GE(outcomes["pruned"], 1) << "no trial was stopped early";
  EXPECT_GE(outcomes["completed"], 1) << "no trial trained its full budget";

  // Every trial paused at the first rung with its score journaled first.
  EXPECT_EQ(j.Scalar("SELECT COUNT(DISTINCT trial_id) FROM decisions WHERE kind='rung' AND step=10"), "9");
  // The objective is the worst language's F1 at the rung, as measured.
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM decisions d WHERE kind='rung' AND ABS(d.score - "
                     "(SELECT MIN(f1) FROM language_scores l WHERE l.trial_id=d.trial_id AND l.attempt=d.attempt "
                     "AND l.step=d.step AND l.count > 0)) > 1e-9"),
            "0");
  EXPECT_EQ(j.Scalar("SELECT metric FROM sweeps"), "language_f1:worst");
  // Pruned trials trained no further than the rung they waited at.
  for (const auto& row : j.Query("SELECT id FROM trials WHERE state='pruned'")) {
    const std::string where = " WHERE trial_id=" + row[0];
    const std::string last = j.Scalar("SELECT MAX(step) FROM progress" + where);
    EXPECT_EQ(last, j.Scalar("SELECT MAX(step) FROM decisions" + where + " AND kind='rung'")) << "trial " << row[0];
  }
  // Promoted trials: a new attempt that resumed from the rung's checkpoint,
  // its step count continuing (no step at or below the rung again).
  auto promotions = j.Query("SELECT trial_id, attempt, step, stop_at FROM decisions WHERE kind='promote' ORDER BY id");
  ASSERT_GE(promotions.size(), 3u);  // floor(9 / 3) from rung 0 at least
  for (const auto& p : promotions) {
    const std::string where = " WHERE trial_id=" + p[0] + " AND attempt=" + std::to_string(std::stoi(p[1]) + 1);
    EXPECT_EQ(j.Scalar("SELECT MIN(step) FROM progress" + where), std::to_string(std::stoi(p[2]) + 5))
        << "trial " << p[0] << " did not continue from step " << p[2];
    const std::string logged = ReadText(run + "/trial-" + p[0] + ".log");
    EXPECT_NE(logged.find("resumed from the checkpoint at step " + p[2]), std::string::npos) << logged;
  }
  // Decisions are journaled before they are acted on: a promotion follows
  // the trial's rung result, and the attempt it started follows both.
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM decisions p WHERE kind='promote' AND NOT EXISTS "
                     "(SELECT 1 FROM decisions r WHERE r.kind='rung' AND r.trial_id=p.trial_id AND r.id < p.id "
                     "AND r.step=p.step)"),
            "0");
  // The completed trial reached the budget; ASHA spent far less than FIFO would.
  for (const auto& row : j.Query("SELECT id FROM trials WHERE state='completed'")) {
    EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=" + row[0]), "90");
  }
  const int steps = std::stoi(j.Scalar("SELECT SUM(s) FROM (SELECT MAX(step) AS s FROM progress GROUP BY trial_id)"));
  EXPECT_LT(steps, 9 * 90 / 2) << "ASHA trained " << steps << " steps";

  // The CLI shows the outcomes.
  auto trials = RunCommand(std::string(POLYSWEEP_BIN) + " trials --dir " + Quote(run));
  ASSERT_EQ(trials.exit_code, 0) << trials.err;
  EXPECT_NE(trials.out.find("pruned"), std::string::npos) << trials.out;
  std::filesystem::remove_all(dir);
}

TEST(SchedulerSweep, AnInterruptedTpeAshaSweepContinuesWithTheSameDecisions) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("asha-restart");
  std::string config =
      WriteConfig(dir, "asha-restart", "max_concurrent: 2\n"
                                       "metric: {name: macro_f1}\n"
                                       "scheduler: {type: asha, grace: 10, reduction_factor: 3}\n"
                                       "budget: {max_trials: 9, max_steps: 90, eval_every: 0, log_every: 5}\n");
  {  // TPE, learning from the rung results after three random trials
    std::string text = ReadText(config);
    text.replace(text.find("algorithm: random"), 17, "algorithm: tpe\n  startup_trials: 3");
    std::ofstream(config) << text;
  }
  const std::string run = dir + "/run";
  const pid_t first = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/first.log");
  ASSERT_GT(first, 0);
  // Interrupt it once trials have paused and been promoted.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(run + "/journal.db") &&
        JournalReader(run + "/journal.db")
                .Scalar("SELECT COUNT(*) >= 1 FROM decisions WHERE kind IN ('promote', 'continue')") == "1") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(first, SIGINT);
  EXPECT_EQ(WaitSweep(first, std::chrono::seconds(60)), 130) << ReadText(dir + "/first.log");
  const std::string before = JournalReader(run + "/journal.db").Scalar("SELECT COUNT(*) FROM decisions");
  ASSERT_NE(before, "0");

  const pid_t second = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/second.log");
  ASSERT_GT(second, 0);
  ASSERT_EQ(WaitSweep(second, std::chrono::seconds(420)), 0) << ReadText(dir + "/second.log");
  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM sweeps"), "finished");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials"), "9");  // none issued twice
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state NOT IN ('completed', 'pruned')"), "0");
  // Every trial has one result per rung it reached (a pause there, or a
  // promotion as it reached it), and no trial was promoted twice from one rung.
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM (SELECT trial_id, step FROM decisions WHERE kind IN ('rung', 'continue') "
                     "GROUP BY trial_id, step HAVING COUNT(*) > 1)"),
            "0");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM (SELECT trial_id, step FROM decisions WHERE kind IN ('promote', "
                     "'continue') GROUP BY trial_id, step HAVING COUNT(*) > 1)"),
            "0");
  EXPECT_EQ(j.Scalar("SELECT COUNT(DISTINCT trial_id) FROM decisions WHERE kind IN ('rung', 'continue') AND step=10"),
            "9");
  // Across the restart, every promotion from rung 0 took a trial that was
  // in the top third of the rung's results when it was decided.
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM decisions p JOIN decisions me ON me.kind IN ('rung', 'continue') AND "
                     "me.trial_id=p.trial_id AND me.step=p.step WHERE p.kind IN ('promote', 'continue') AND "
                     "p.step=10 AND (SELECT COUNT(*) FROM decisions r WHERE r.kind IN ('rung', 'continue') AND "
                     "r.step=10 AND r.id<=p.id AND r.score > me.score) + 1 > "
                     "(SELECT COUNT(*) FROM decisions r WHERE r.kind IN ('rung', 'continue') AND r.step=10 AND "
                     "r.id<=p.id) / 3"),
            "0");
  EXPECT_GE(std::stoi(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='completed'")), 1);
  EXPECT_NE(ReadText(dir + "/second.log").find("resumed from"), std::string::npos);
  // The searcher continued from its journaled state: nine distinct trials.
  EXPECT_EQ(j.Scalar("SELECT COUNT(DISTINCT hparams) FROM trials"), "9");
  EXPECT_NE(j.Scalar("SELECT searcher_state FROM sweeps").find("\"searcher\":\"tpe\""), std::string::npos);
  std::filesystem::remove_all(dir);
}

// The steps at which each rank of a 2-rank trial logged "<what> at step N".
std::map<std::string, std::set<std::string>> StepsLogged(const std::string& log, const std::string& what) {
  std::map<std::string, std::set<std::string>> steps;
  const std::regex re("rank ([01])/2.*" + what + " at step ([0-9]+)");
  std::istringstream lines(ReadText(log));
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, re)) steps[m[1]].insert(m[2]);
  }
  return steps;
}

// Both ranks logged `what` exactly once, at the same step: returns it.
std::string SameStepOnBothRanks(const std::string& log, const std::string& what) {
  auto steps = StepsLogged(log, what);
  EXPECT_EQ(steps.size(), 2u) << ReadText(log);
  if (steps.size() != 2 || steps["0"].size() != 1 || steps["0"] != steps["1"]) {
    ADD_FAILURE() << "ranks disagree on where they stopped:\n" << ReadText(log);
    return "0";
  }
  return *steps["0"].begin();
}

TEST(SchedulerSweep, APromotedTrialTrainsOnInTheSameAttemptWithoutACheckpoint) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("asha-in-place");
  // Two trials, one at a time, rungs at 10, 30 and 90. Neither fills rung
  // 0's quota (floor(2 / 3) = 0), so both pause there; with no trial left
  // to come the better one is promoted from its checkpoint to 30. There,
  // alone and with nothing else to run, it is promoted again as it arrives:
  // it trains on to 90 in the same attempt.
  ASSERT_TRUE(RunSweep(dir, "asha-in-place",
                       "max_concurrent: 1\n"
                       "scheduler: {type: asha, grace: 10, reduction_factor: 3}\n"
                       "budget: {max_trials: 2, max_steps: 90, eval_every: 0, log_every: 5}\n",
                       std::chrono::seconds(300)));
  const std::string run = dir + "/run", log = dir + "/sweep.log";

  JournalReader j(run + "/journal.db");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j.Scalar("SELECT group_concat(kind || ' ' || step || ' ' || stop_at) FROM "
                     "(SELECT * FROM decisions ORDER BY id)"),
            "rung 10 10,rung 10 10,promote 10 30,continue 30 90")
      << ReadText(log);
  const std::string best = j.Scalar("SELECT trial_id FROM decisions WHERE kind='continue'");
  ASSERT_FALSE(best.empty());
  EXPECT_EQ(j.Scalar("SELECT state || ' ' || attempt FROM trials WHERE id=" + best), "completed 2");
  // Attempt 2 resumed from the rung-0 checkpoint and trained 15..90 without a break.
  const std::string where = " WHERE trial_id=" + best + " AND attempt=2";
  EXPECT_EQ(j.Scalar("SELECT MIN(step) || '-' || MAX(step) || ' ' || COUNT(*) FROM progress" + where), "15-90 16");
  EXPECT_EQ(j.Scalar("SELECT group_concat(step) FROM (SELECT step FROM evaluations" + where + " ORDER BY step)"),
            "30,90");
  // The continue decision carries the evaluation at 30 it was made on.
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM decisions d JOIN evaluations e ON e.trial_id=d.trial_id AND "
                     "e.attempt=d.attempt AND e.step=d.step WHERE d.kind='continue' AND ABS(d.score - e.macro_f1) < 1e-9"),
            "1");
  // Both ranks heard the answer at the same step; no checkpoint was committed there.
  const std::string trial_log = ReadText(run + "/trial-" + best + ".log");
  EXPECT_EQ(SameStepOnBothRanks(run + "/trial-" + best + ".log", "promoted"), "30") << trial_log;
  EXPECT_NE(trial_log.find("resumed from the checkpoint at step 10"), std::string::npos) << trial_log;
  EXPECT_EQ(trial_log.find("paused at step 30"), std::string::npos) << trial_log;
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM transitions WHERE trial_id=" + best + " AND to_state='paused'"), "1");
  std::filesystem::remove_all(dir);
}

TEST(SchedulerSweep, EpochsAreAHyperparameterAndAshaCountsThem) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("asha-epochs");
  // Four trials: batch 16 or 32 per rank, 1 or 2 epochs. ASHA's rungs are
  // at half an epoch and one epoch, which each trial reaches at its own step.
  const std::string config = dir + "/sweep.yaml";
  std::ofstream(config) << testing_util::TinySweepHead("asha-epochs", dir + "/run", POLYSWEEP_DEFAULT_DATA)
                        << "trial: {ranks: 2, threads_per_rank: 1, checkpoint_every: 0}\n"
                        << "search:\n  algorithm: grid\n  space:\n"
                        << "    batch_size: {type: choice, values: [16, 32]}\n"
                        << "    epochs: {type: choice, values: [1, 2]}\n"
                        << "training: {warmup_ratio: 0.05, lr: 0.003}\n"
                        << "max_concurrent: 2\n"
                        << "scheduler: {type: asha, unit: epochs, grace: 0.5, reduction_factor: 2}\n"
                        << "budget: {max_trials: 4, eval_every: 0, log_every: 5}\n";
  ASSERT_TRUE(RunSweepOf(dir, config, std::chrono::seconds(420)));
  const std::string run = dir + "/run", log = dir + "/sweep.log";
  std::stringstream manifest_text;
  manifest_text << std::ifstream(run + "/data/manifest.json").rdbuf();
  const std::string manifest = manifest_text.str();
  int64_t train = 0;
  const std::regex train_count(R"("train":\s*(\d+))");
  for (std::sregex_iterator it(manifest.begin(), manifest.end(), train_count), end; it != end; ++it) {
    train += std::stoll((*it)[1]);
  }
  ASSERT_GT(train, 0) << manifest;

  JournalReader j(run + "/journal.db");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j.Scalar("SELECT state FROM sweeps"), "finished");
  std::set<std::string> first_rungs;
  for (const auto& t : j.Query("SELECT id, hparams FROM trials ORDER BY id")) {
    const std::string where = " WHERE trial_id=" + t[0];
    const int batch = std::stoi(std::regex_replace(t[1], std::regex(R"(.*"batch_size":\s*"?(\d+).*)"), "$1"));
    const double epochs = std::stod(std::regex_replace(t[1], std::regex(R"(.*"epochs":\s*"?([0-9.]+).*)"), "$1"));
    const double per_epoch = static_cast<double>(train) / (batch * 2);
    // The trial's length is its own epochs of its own batch size.
    EXPECT_EQ(j.Scalar("SELECT MAX(max_steps) FROM progress" + where),
              std::to_string(static_cast<int64_t>(std::ceil(epochs * per_epoch - 1e-9))))
        << t[1];
    // It paused for rung 0 after half an epoch of its own steps.
    const std::string rung = j.Scalar("SELECT MIN(step) FROM decisions" + where + " AND kind IN ('rung', 'continue')");
    EXPECT_EQ(rung, std::to_string(std::llround(0.5 * per_epoch))) << t[1] << "\n" << ReadText(log);
    first_rungs.insert(rung);
  }
  EXPECT_EQ(first_rungs.size(), 2u) << "batch 16 and 32 should meet rung 0 at different steps";
  std::map<std::string, int> outcomes;
  for (const auto& row : j.Query("SELECT state FROM trials")) outcomes[row[0]]++;
  EXPECT_EQ(outcomes["completed"] + outcomes["pruned"], 4) << ReadText(log);
  EXPECT_GE(outcomes["completed"], 1) << ReadText(log);
  std::filesystem::remove_all(dir);
}

TEST(SchedulerSweep, OwnerPauseResumeAndStopReachEveryRankAtTheSameStep) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("control");
  // One trial far too long to finish: only the owner's commands end it.
  const std::string config =
      WriteConfig(dir, "control", "metric: {name: macro_f1}\n"
                                  "budget: {max_trials: 1, max_steps: 1000000, eval_every: 0, log_every: 5}\n");
  const std::string run = dir + "/run", log = dir + "/sweep.log", trial_log = run + "/trial-1.log";
  const pid_t pid = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, log);
  ASSERT_GT(pid, 0);
  auto query = [&](const std::string& sql) {
    return std::filesystem::exists(run + "/journal.db") ? JournalReader(run + "/journal.db").Scalar(sql) : "";
  };
  auto wait_for = [&](const std::string& sql, const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    while (std::chrono::steady_clock::now() < deadline) {
      if (query(sql) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  auto cli = [&](const std::string& verb, int trial) {
    return RunCommand(std::string(POLYSWEEP_BIN) + " " + verb + " " + std::to_string(trial) + " --dir " + Quote(run));
  };
  ASSERT_TRUE(wait_for("SELECT MAX(step) >= 20 FROM progress WHERE trial_id=1", "1")) << ReadText(log);
  auto paused = cli("pause", 1);
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  ASSERT_TRUE(wait_for("SELECT state FROM trials WHERE id=1", "paused")) << ReadText(log);
  // Both ranks committed the checkpoint at one step, and nothing ran past it.
  const std::string step = SameStepOnBothRanks(trial_log, "checkpoint committed");
  EXPECT_GE(std::stoi(step), 20);
  EXPECT_LE(std::stoi(query("SELECT MAX(step) FROM progress WHERE trial_id=1")), std::stoi(step));
  // A paused trial cannot be paused again; an unknown trial is refused.
  EXPECT_NE(cli("pause", 1).exit_code, 0);
  EXPECT_NE(cli("resume", 7).exit_code, 0);

  auto resumed = cli("resume", 1);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  ASSERT_TRUE(wait_for("SELECT MAX(step) >= " + std::to_string(std::stoi(step) + 20) +
                           " FROM progress WHERE trial_id=1 AND attempt=2", "1"))
      << ReadText(log);
  // The step count continues from the checkpoint.
  EXPECT_EQ(query("SELECT MIN(step) FROM progress WHERE trial_id=1 AND attempt=2"),
            std::to_string((std::stoi(step) / 5 + 1) * 5));
  EXPECT_NE(ReadText(trial_log).find("resumed from the checkpoint at step " + step), std::string::npos);

  auto stopped = cli("stop", 1);
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  ASSERT_EQ(WaitSweep(pid, std::chrono::seconds(120)), 1) << ReadText(log);  // no trial completed
  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state || '/' || reason FROM trials WHERE id=1"), "stopped/stopped");
  const std::string stop_step = SameStepOnBothRanks(trial_log, "stopped by the coordinator");
  EXPECT_GT(std::stoi(stop_step), std::stoi(step));
  // Each command was journaled as a decision before it was sent.
  EXPECT_EQ(j.Scalar("SELECT group_concat(kind) FROM (SELECT kind FROM decisions ORDER BY id)"), "pause,resume,stop");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
