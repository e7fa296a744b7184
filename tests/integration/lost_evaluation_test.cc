// The coordinator and a rank die around a trial's last evaluation: kill -9
// the coordinator near the end of the trial, let the ranks make the final
// evaluation and commit the final checkpoint while no coordinator listens,
// kill -9 one rank, then run the same `polysweep sweep` command again. The
// new attempt resumes from the final checkpoint with no step left to train;
// the evaluation and the progress its predecessor made must still reach the
// journal, exactly once, with the score the checkpoint was kept for.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

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

int64_t MaxStep(const std::string& journal) {
  if (!std::filesystem::exists(journal)) return 0;
  const std::string s = JournalReader(journal).Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1");
  return s.empty() ? 0 : std::stoll(s);
}

// The "score" of checkpoint `dir`'s manifest, or "" when it has none.
std::string ManifestScore(const std::string& dir) {
  const std::string text = ReadText(dir + "/MANIFEST.json");
  const size_t at = text.find("\"score\":");
  if (at == std::string::npos) return "";
  size_t end = text.find_first_of(",\n}", at);
  std::string value = text.substr(at + 8, end - at - 8);
  value.erase(0, value.find_first_not_of(' '));
  return value;
}

TEST(CoordinatorRestart, AnEvaluationMadeWhileTheCoordinatorWasDownIsJournaledAfterARankDies) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  // Long enough that the coordinator is killed well before the end: reports
  // reach the journal in batches, and on a quiet machine a batch can carry
  // more than a hundred steps.
  constexpr int kSteps = 400;
  const std::string name = "lost-eval";
  const std::string dir = testing_util::FreshDir(name), run = dir + "/run", config = dir + "/sweep.yaml";
  const std::string journal = run + "/journal.db";
  std::ofstream(config) << testing_util::TinySweepHead(name, run, POLYSWEEP_DEFAULT_DATA)
                        << "trial: {ranks: 2, checkpoint_every: 50, keep_best_checkpoints: 1}\n"
                        << "search: {space: {lr: {type: choice, values: [0.003]}}}\n"
                        << "budget: {max_trials: 1, max_steps: " << kSteps << ", log_every: 10, eval_every: 80}\n";
  const pid_t first = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/first.log");
  ASSERT_GT(first, 0);
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (MaxStep(journal) < 100) {  // past the evaluation at 80, before the last one
    ASSERT_LT(Clock::now(), deadline) << ReadText(dir + "/first.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(kill(first, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(first, &status, 0), first);
  ASSERT_LT(MaxStep(journal), kSteps) << "the trial ended before its coordinator was killed; nothing was tested";
  // The ranks evaluate at the last step and commit its checkpoint with no
  // coordinator to report to; then they wait for it to acknowledge the end.
  const std::string last = run + "/checkpoints/trial-1/step-" + std::to_string(kSteps);
  deadline = Clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(last + "/MANIFEST.json")) {
    ASSERT_LT(Clock::now(), deadline) << "no final checkpoint\n" << ReadText(run + "/trial-1.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto ranks = testing_util::RankPids(name);
  ASSERT_FALSE(ranks.empty());
  ASSERT_EQ(kill(ranks.back(), SIGKILL), 0);
  deadline = Clock::now() + std::chrono::seconds(30);
  while (!testing_util::TrialProcesses(name).empty()) {
    ASSERT_LT(Clock::now(), deadline) << "the trial outlived its killed rank";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(JournalReader(journal).Scalar("SELECT COUNT(*) FROM evaluations WHERE step=" + std::to_string(kSteps)), "0")
      << "the final evaluation reached the journal before the coordinator died; nothing was tested";

  const pid_t second = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/second.log");
  ASSERT_EQ(testing_util::WaitFor(second, 300), 0) << ReadText(dir + "/second.log");
  const std::string log = ReadText(dir + "/second.log");
  const std::string trial_log = ReadText(run + "/trial-1.log");

  JournalReader j(journal);
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed") << log;
  EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=1"), "2") << log;
  // The journal checker finds nothing wrong.
  auto check = testing_util::RunCommand(std::string(POLYSWEEP_BIN) + " check --dir " + testing_util::Quote(run));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // Each evaluation once, those made while no coordinator listened too, as the
  // attempt that made them.
  EXPECT_EQ(j.Scalar("SELECT group_concat(step || ':' || attempt || ':' || final) FROM "
                     "(SELECT * FROM evaluations WHERE trial_id=1 ORDER BY step)"),
            "80:1:0,160:1:0,240:1:0,320:1:0," + std::to_string(kSteps) + ":1:1");
  // Its score is the one the best checkpoint was kept for.
  const std::string objective =
      j.Scalar("SELECT printf('%.12f', objective) FROM evaluations WHERE trial_id=1 AND step=" + std::to_string(kSteps));
  const std::string score = ManifestScore(last);
  ASSERT_FALSE(objective.empty()) << "no evaluation at the last step";
  ASSERT_FALSE(score.empty()) << ReadText(last + "/MANIFEST.json");
  EXPECT_NEAR(std::stod(objective), std::stod(score), 1e-12);
  // The progress of the last step is journaled, every step once.
  EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1"), std::to_string(kSteps));
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) || ' ' || COUNT(DISTINCT step) FROM progress WHERE trial_id=1"),
            std::to_string(kSteps / 10) + " " + std::to_string(kSteps / 10));
  EXPECT_NE(trial_log.find("replayed "), std::string::npos) << trial_log;
  // The closing line names the final score, not NaN.
  EXPECT_EQ(log.find("macro_f1 nan"), std::string::npos) << log;
  EXPECT_TRUE(testing_util::TrialProcesses(name).empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
