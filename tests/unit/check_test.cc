// The journal checker on journals written through the Journal API, each
// breaking one promise (or none): it names each broken one with its trial
// and attempt, and finds nothing in a whole sweep.
#include "cli/config_names.h"
#include "cli/check.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/checkpoint_manifest.h"
#include "common/files.h"
#include "coordinator/journal.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "check_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/data.jsonl") << "";
    const std::string yaml = "name: unit\ndata: {files: [" + dir_ + "/data.jsonl]}\n"
                             "search: {space: {lr: {type: choice, values: [0.003]}}}\n"
                             "budget: {max_trials: 2, max_steps: 100, eval_every: 50, log_every: 50}\n";
    auto config = ParseSweepConfig(yaml, "unit.yaml", RegisteredConfigNames());
    ASSERT_TRUE(config.ok()) << config.status().message();
    config_ = *config;
    config_.source_text = yaml;
    auto j = Journal::Create(dir_ + "/journal.db", config_);
    ASSERT_TRUE(j.ok()) << j.status().message();
    journal_ = std::move(*j);
  }
  void TearDown() override {
    journal_.reset();
    fs::remove_all(dir_);
  }

  void Progress(uint64_t trial, uint32_t attempt, int64_t step, int64_t resumed_from = 0) {
    wire::Progress p;
    p.set_step(step);
    p.set_max_steps(100);
    p.set_resumed_from(resumed_from);
    ASSERT_TRUE(journal_->RecordProgress(trial, attempt, p).ok());
  }
  void Evaluation(uint64_t trial, uint32_t attempt, int64_t step, double f1) {
    wire::Evaluation e;
    e.set_step(step);
    e.set_macro_f1(f1);
    e.set_final(step == 100);
    ASSERT_TRUE(journal_->RecordEvaluation(trial, attempt, e, f1).ok());
  }
  // Trial `id` trained and evaluated at 50 and 100 in one attempt, completed.
  void CompletedTrial(uint64_t id) {
    ASSERT_TRUE(journal_->AddTrial(id, {{"lr", ParamValue::Number(0.003)}}).ok());
    ASSERT_TRUE(journal_->Transition(id, 1, TrialState::kRunning, "launched").ok());
    for (int64_t step : {50, 100}) {
      Progress(id, 1, step);
      Evaluation(id, 1, step, 0.5 + step / 1000.0);
    }
    ASSERT_TRUE(journal_->FinishTrial(id, 1, TrialState::kCompleted, "").ok());
  }
  void Checkpoint(uint64_t trial, int64_t step, double score) {
    CheckpointManifest m;
    m.step = step;
    m.position = "0:0";
    m.world_size = 1;
    m.score = score;
    const std::string dir = dir_ + "/checkpoints/trial-" + std::to_string(trial) + "/step-" + std::to_string(step);
    fs::create_directories(dir);
    ASSERT_TRUE(WriteFileAtomic(dir + "/MANIFEST.json", CheckpointManifestToJson(m)).ok());
  }
  // The violations' "trial T attempt A: what" lines.
  std::vector<std::string> Violations() {
    auto report = CheckSweep(dir_, CheckOptions{false});
    EXPECT_TRUE(report.ok()) << report.status().message();
    std::vector<std::string> out;
    if (!report.ok()) return out;
    for (const auto& v : report->violations) {
      out.push_back("trial " + std::to_string(v.trial) + " attempt " + std::to_string(v.attempt) + ": " + v.what);
    }
    return out;
  }
  static bool Has(const std::vector<std::string>& all, const std::string& part) {
    for (const auto& v : all) {
      if (v.find(part) != std::string::npos) return true;
    }
    return false;
  }

  std::string dir_;
  SweepConfig config_;
  std::unique_ptr<Journal> journal_;
};

TEST_F(CheckTest, AWholeSweepHasNoViolations) {
  CompletedTrial(1);
  CompletedTrial(2);
  Checkpoint(1, 100, 0.6);
  ASSERT_TRUE(journal_->FinishSweep(SweepState::kFinished).ok());
  EXPECT_EQ(Violations(), std::vector<std::string>{});
  auto report = CheckSweep(dir_, CheckOptions{false});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->trials, 2);
  EXPECT_NE(FormatCheckReport(*report).find("no violations"), std::string::npos);
}

TEST_F(CheckTest, ACompletedTrialWithoutItsFinalEvaluationAndProgressIsNamed) {
  CompletedTrial(1);
  ASSERT_TRUE(journal_->AddTrial(2, {{"lr", ParamValue::Number(0.003)}}).ok());
  ASSERT_TRUE(journal_->Transition(2, 1, TrialState::kRunning, "launched").ok());
  Progress(2, 1, 50);
  Evaluation(2, 1, 50, 0.4);
  ASSERT_TRUE(journal_->Transition(2, 2, TrialState::kRunning, "restarted").ok());
  ASSERT_TRUE(journal_->FinishTrial(2, 2, TrialState::kCompleted, "").ok());
  ASSERT_TRUE(journal_->FinishSweep(SweepState::kFinished).ok());
  const auto v = Violations();
  EXPECT_TRUE(Has(v, "trial 2 attempt 2: completed without an evaluation at its final step 100 (evaluations at 50)"))
      << testing::PrintToString(v);
  EXPECT_TRUE(Has(v, "trial 2 attempt 2: completed without progress at its final step 100 (the last at step 50)"));
  EXPECT_EQ(v.size(), 2u) << testing::PrintToString(v);
  auto report = CheckSweep(dir_, CheckOptions{false});
  ASSERT_TRUE(report.ok());
  // The events around it: the trial's transitions, and what each attempt reported.
  const std::string text = FormatCheckReport(*report);
  EXPECT_NE(text.find("attempt 2  running -> completed"), std::string::npos) << text;
  EXPECT_NE(text.find("attempt 1 evaluations at steps 50"), std::string::npos) << text;
}

TEST_F(CheckTest, ACheckpointKeptForAScoreTheJournalDoesNotHoldIsNamed) {
  CompletedTrial(1);
  CompletedTrial(2);
  Checkpoint(1, 100, 0.9);  // the journal has 0.6 at step 100
  Checkpoint(2, 70, 0.7);   // and no evaluation at 70
  ASSERT_TRUE(journal_->FinishSweep(SweepState::kFinished).ok());
  const auto v = Violations();
  EXPECT_TRUE(Has(v, "was kept for score 0.900000; the journal's objective at step 100 scores 0.600000"))
      << testing::PrintToString(v);
  EXPECT_TRUE(Has(v, "holds a score (0.700000) for step 70, where the journal has no evaluation"));
  EXPECT_TRUE(Has(v, "trial 1 attempt 0: its best checkpoint scores 0.900000 but its best journaled objective scores 0.600000"));
}

TEST_F(CheckTest, DuplicatesStepsBackwardsAndStepsBeforeTheCheckpointAreNamed) {
  CompletedTrial(1);
  ASSERT_TRUE(journal_->AddTrial(2, {{"lr", ParamValue::Number(0.003)}}).ok());
  ASSERT_TRUE(journal_->Transition(2, 1, TrialState::kRunning, "launched").ok());
  Progress(2, 1, 60);
  Progress(2, 1, 40);  // went back within an attempt
  Progress(2, 2, 30, 50);  // attempt 2 resumed from 50 but reports 30
  journal_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/journal.db").c_str(), &db), SQLITE_OK);
  // What the journal's own writes never do: the same step twice.
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO evaluations(trial_id, attempt, step, objective, final, at) "
                             "VALUES(1, 2, 100, 0.6, 1, 0)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const auto v = Violations();
  EXPECT_TRUE(Has(v, "trial 1 attempt 2: evaluation at step 100 stored twice")) << testing::PrintToString(v);
  EXPECT_TRUE(Has(v, "trial 2 attempt 1: progress went back from step 60 to 40"));
  EXPECT_TRUE(Has(v, "trial 2 attempt 2: progress at step 30, not after the checkpoint at step 50"));
}

TEST_F(CheckTest, DecisionsOnEvaluationsTheJournalDoesNotHoldAreNamed) {
  CompletedTrial(1);
  ASSERT_TRUE(journal_->AddDecision({1, 1, DecisionKind::kRung, 50, 0.55, 50, "paused"}).ok());   // the evaluation scores 0.55
  ASSERT_TRUE(journal_->AddDecision({1, 1, DecisionKind::kRung, 70, 0.7, 70, "paused"}).ok());    // no evaluation at 70
  ASSERT_TRUE(journal_->AddDecision({1, 1, DecisionKind::kContinue, 100, 0.2, 100, "on"}).ok());  // it scores 0.6
  ASSERT_TRUE(journal_->AddDecision({1, 1, DecisionKind::kPromote, 80, NAN, 100, "up"}).ok());    // never paused at 80
  const auto v = Violations();
  EXPECT_TRUE(Has(v, "rung decision at step 70 refers to no evaluation in the journal")) << testing::PrintToString(v);
  EXPECT_TRUE(Has(v, "continue decision at step 100 used score 0.200000; the journaled evaluation scores 0.600000"));
  EXPECT_TRUE(Has(v, "promoted from step 80, where it never paused at a rung"));
  EXPECT_FALSE(Has(v, "at step 50"));
  EXPECT_EQ(v.size(), 3u) << testing::PrintToString(v);
}

TEST_F(CheckTest, TrialsThatEndTwiceOrNotAtAllOrWereNotTheSearchsAreNamed) {
  CompletedTrial(1);
  ASSERT_TRUE(journal_->FinishTrial(1, 1, TrialState::kFailed, "late").ok());
  ASSERT_TRUE(journal_->AddTrial(2, {{"lr", ParamValue::Number(0.004)}}).ok());
  ASSERT_TRUE(journal_->Transition(2, 1, TrialState::kRunning, "launched").ok());
  CompletedTrial(4);
  ASSERT_TRUE(journal_->FinishSweep(SweepState::kFinished).ok());
  const auto v = Violations();
  EXPECT_TRUE(Has(v, "trial 1 attempt 1: ended twice")) << testing::PrintToString(v);
  EXPECT_TRUE(Has(v, "trial 1 attempt 1: moved to failed after it ended completed"));
  EXPECT_TRUE(Has(v, "trial 2 attempt 0: issued with {\"lr\":\"0.004\"} where the search gives {\"lr\":\"0.003\"}"));
  EXPECT_TRUE(Has(v, "trial 2 attempt 1: the sweep finished with this trial running"));
  EXPECT_TRUE(Has(v, "trial 4 attempt 0: trial ids are not 1..3"));
  EXPECT_TRUE(Has(v, "trial 0 attempt 0: 3 trials issued; budget.max_trials is 2"));
}

TEST_F(CheckTest, AResumedAttemptThatSkippedItsPauseCheckpointIsNamed) {
  ASSERT_TRUE(journal_->AddTrial(1, {{"lr", ParamValue::Number(0.003)}}).ok());
  ASSERT_TRUE(journal_->Transition(1, 1, TrialState::kRunning, "launched").ok());
  Progress(1, 1, 50);
  Evaluation(1, 1, 50, 0.5);
  ASSERT_TRUE(journal_->AddDecision({1, 1, DecisionKind::kRung, 50, 0.5, 50, "paused"}).ok());
  ASSERT_TRUE(journal_->Transition(1, 1, TrialState::kPaused, "paused at step 50 for the asha scheduler").ok());
  // The paused trial's checkpoint is gone.
  auto v = Violations();
  EXPECT_TRUE(Has(v, "trial 1 attempt 1: paused at step 50 but its checkpoint")) << testing::PrintToString(v);
  ASSERT_TRUE(journal_->AddDecision({1, 1, DecisionKind::kPromote, 50, NAN, 100, "promoted"}).ok());
  ASSERT_TRUE(journal_->Transition(1, 2, TrialState::kRunning, "promoted").ok());
  Progress(1, 2, 60, 0);  // started from scratch instead of step 50
  v = Violations();
  EXPECT_TRUE(Has(v, "trial 1 attempt 2: resumed from step 0 after a promote at step 50")) << testing::PrintToString(v);
}

TEST_F(CheckTest, ADirectoryWithoutAJournalIsAnError) {
  auto report = CheckSweep(dir_ + "/nowhere");
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("nowhere/journal.db: no journal here"), std::string::npos);
}

}  // namespace
}  // namespace polysweep
