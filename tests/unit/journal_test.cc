// Tests of the SQLite sweep journal (coordinator/journal.h) on real files,
// cross-checked with direct sqlite3 queries.
#include "coordinator/journal.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace polysweep {
namespace {

namespace fs = std::filesystem;

// A direct connection for checking what the journal wrote.
class Db {
 public:
  explicit Db(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK); }
  ~Db() { sqlite3_close(db_); }
  // The rows of `sql`, each as its columns joined by '|'.
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> rows;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row += (i ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      rows.push_back(row);
    }
    sqlite3_finalize(st);
    return rows;
  }
  std::string One(const std::string& sql) {
    auto rows = Rows(sql);
    EXPECT_EQ(rows.size(), 1u) << sql;
    return rows.empty() ? "" : rows[0];
  }
  void Exec(const std::string& sql) {
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
  }

 private:
  sqlite3* db_ = nullptr;
};

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "journal_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sweep.db";
    config_.name = "unit-sweep";
    config_.source_text = "name: unit-sweep\n";
    config_.metric.name = "valid_loss";
    config_.metric.maximize = false;
    config_.budget.max_trials = 3;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Journal> Create() {
    auto j = Journal::Create(path_, config_);
    EXPECT_TRUE(j.ok()) << j.status().message();
    return j.ok() ? std::move(*j) : nullptr;
  }

  static wire::Progress Progress(int64_t step, double loss) {
    wire::Progress p;
    p.set_step(step);
    p.set_loss(loss);
    p.set_lr(1e-3);
    p.set_samples_per_sec(250.5);
    p.set_samples(step * 64);
    p.set_max_steps(100);
    return p;
  }

  std::string dir_;
  std::string path_;
  SweepConfig config_;
};

TEST_F(JournalTest, CreateMakesWalJournalWithSchemaVersion) {
  {
    auto j = Create();
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(j->path(), path_);
  }
  Db db(path_);
  EXPECT_EQ(db.One("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db.One("PRAGMA user_version"), "6");
  EXPECT_EQ(kJournalSchemaVersion, 6);
  EXPECT_EQ(db.One("SELECT name, config, metric, maximize, max_trials, state, finished_at FROM sweeps"),
            "unit-sweep|name: unit-sweep\n|valid_loss|0|3|running|NULL");
}

// budget.test_top_k: a trial's test-split score, journaled once per trial
// (a second scoring replaces the first), read back by trial.
TEST_F(JournalTest, TestScoresAreJournaledPerTrial) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {{"lr", ParamValue::Number(0.001)}}).ok());
  ASSERT_TRUE(j->AddTrial(2, {{"lr", ParamValue::Number(0.01)}}).ok());
  ASSERT_TRUE(j->RecordTestScore(2, "accuracy 0.5", "{}").ok());
  ASSERT_TRUE(j->RecordTestScore(1, "accuracy 0.7", "{\"accuracy\": 0.7}").ok());
  ASSERT_TRUE(j->RecordTestScore(2, "accuracy 0.6", "{\"accuracy\": 0.6}").ok());
  auto scores = j->TestScores();
  ASSERT_TRUE(scores.ok()) << scores.status().message();
  ASSERT_EQ(scores->size(), 2u);
  EXPECT_EQ((*scores)[0].trial, 1u);
  EXPECT_EQ((*scores)[1].summary, "accuracy 0.6");
  EXPECT_EQ((*scores)[1].report, "{\"accuracy\": 0.6}");
  EXPECT_FALSE(j->RecordTestScore(9, "no such trial", "{}").ok());  // the trial must exist
}

TEST_F(JournalTest, CheckpointsRunOnTheirOwnThreadAndTheCloseLeavesNoWal) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {{"lr", ParamValue::Number(0.001)}}).ok());
  const auto empty_size = fs::file_size(path_);
  constexpr int kCommits = 5000;  // each its own transaction, two WAL pages or more: past the nudge several times
  for (int step = 1; step <= kCommits; ++step) ASSERT_TRUE(j->RecordProgress(1, 1, Progress(step, 1.0)).ok());
  // The commits did not copy the WAL back themselves; the thread did. Once
  // it is quiet, everything committed is in the database file.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int64_t seen = -1;
  while (j->background_checkpoints() < 1 || j->background_checkpoints() != seen) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no background checkpoint";
    seen = j->background_checkpoints();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // polling a counter until it settles
  }
  EXPECT_GT(fs::file_size(path_), empty_size + 100 * 1024) << "the WAL was not copied into the database file";
  j.reset();
  EXPECT_FALSE(fs::exists(path_ + "-wal"));
  Db db(path_);
  EXPECT_EQ(db.One("SELECT COUNT(*), MAX(step) FROM progress"), std::to_string(kCommits) + "|" + std::to_string(kCommits));
}

TEST_F(JournalTest, CreateOnExistingPathFails) {
  std::ofstream(path_) << "precious";
  auto j = Journal::Create(path_, config_);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find(path_), std::string::npos);
  EXPECT_NE(j.status().message().find("already exists"), std::string::npos);
  // The existing file is untouched.
  std::ifstream in(path_);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "precious");

  fs::remove(path_);
  ASSERT_NE(Create(), nullptr);
  auto again = Journal::Create(path_, config_);
  EXPECT_FALSE(again.ok());
}

TEST_F(JournalTest, CreateInMissingDirectoryFails) {
  auto j = Journal::Create(dir_ + "/no/such/dir/sweep.db", config_);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find(dir_ + "/no/such/dir/sweep.db"), std::string::npos);
}

TEST_F(JournalTest, SnapshotReturnsEverythingRecorded) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {{"lr", ParamValue::Number(0.001)}, {"batch_size", ParamValue::Number(32)}}).ok());
  ASSERT_TRUE(j->AddTrial(2, {{"lr", ParamValue::Number(0.01)}}).ok());
  ASSERT_TRUE(j->AddTrial(3, {{"lr", ParamValue::Number(0.1)}}).ok());

  ASSERT_TRUE(j->Transition(1, 1, TrialState::kRunning, "launched").ok());
  ASSERT_TRUE(j->RecordProgress(1, 1, Progress(10, 2.5)).ok());
  ASSERT_TRUE(j->RecordProgress(1, 1, Progress(30, 1.5)).ok());
  ASSERT_TRUE(j->RecordProgress(1, 1, Progress(20, 2.0)).ok());  // arrives late
  wire::Evaluation e;
  e.set_step(30);
  e.set_loss(1.25);
  e.set_accuracy(0.6);
  e.set_macro_f1(0.55);
  e.set_final(true);
  for (auto [lang, f1, count] : {std::tuple{"ja", 0.4, 10}, std::tuple{"de", 0.7, 12}}) {
    auto* l = e.add_languages();
    l->set_lang(lang);
    l->set_f1(f1);
    l->set_accuracy(f1 + 0.05);
    l->set_count(count);
  }
  ASSERT_TRUE(j->RecordEvaluation(1, 1, e, /*objective=*/1.25).ok());
  ASSERT_TRUE(j->FinishTrial(1, 1, TrialState::kCompleted, "").ok());

  ASSERT_TRUE(j->Transition(2, 1, TrialState::kRunning, "launched").ok());
  ASSERT_TRUE(j->FinishTrial(2, 1, TrialState::kFailed, "rank 1 exited with code 3").ok());
  ASSERT_TRUE(j->FinishSweep(SweepState::kFinished).ok());

  auto snap = j->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  const wire::StatusReply& s = *snap;
  EXPECT_EQ(s.sweep(), "unit-sweep");
  EXPECT_EQ(s.state(), "finished");
  EXPECT_EQ(s.metric(), "valid_loss");
  EXPECT_FALSE(s.maximize());
  EXPECT_EQ(s.max_trials(), 3);
  EXPECT_GT(s.created_at(), 1.6e9);
  EXPECT_GE(s.finished_at(), s.created_at());
  ASSERT_EQ(s.trials_size(), 3);

  const wire::TrialSummary& t1 = s.trials(0);
  EXPECT_EQ(t1.id(), 1u);
  EXPECT_EQ(t1.state(), "completed");
  EXPECT_EQ(t1.attempt(), 1u);
  EXPECT_EQ(t1.hparams().at("lr"), "0.001");
  EXPECT_EQ(t1.hparams().at("batch_size"), "32");
  EXPECT_EQ(t1.step(), 30);  // the latest step, not the last to arrive
  EXPECT_DOUBLE_EQ(t1.loss(), 1.5);
  EXPECT_DOUBLE_EQ(t1.samples_per_sec(), 250.5);
  EXPECT_EQ(t1.max_steps(), 100);
  EXPECT_TRUE(t1.has_metric());
  EXPECT_DOUBLE_EQ(t1.metric(), 1.25);
  EXPECT_DOUBLE_EQ(t1.valid_loss(), 1.25);
  EXPECT_DOUBLE_EQ(t1.accuracy(), 0.6);
  EXPECT_DOUBLE_EQ(t1.macro_f1(), 0.55);
  ASSERT_EQ(t1.languages_size(), 2);
  EXPECT_EQ(t1.languages(0).lang(), "de");  // sorted by language
  EXPECT_DOUBLE_EQ(t1.languages(0).f1(), 0.7);
  EXPECT_DOUBLE_EQ(t1.languages(0).accuracy(), 0.75);
  EXPECT_EQ(t1.languages(0).count(), 12);
  EXPECT_EQ(t1.languages(1).lang(), "ja");
  EXPECT_EQ(t1.outcome(), "completed");
  EXPECT_EQ(t1.error(), "");
  EXPECT_GT(t1.started_at(), 0);
  EXPECT_GE(t1.finished_at(), t1.started_at());

  const wire::TrialSummary& t2 = s.trials(1);
  EXPECT_EQ(t2.state(), "failed");
  EXPECT_EQ(t2.outcome(), "failed");
  EXPECT_EQ(t2.error(), "rank 1 exited with code 3");
  EXPECT_FALSE(t2.has_metric());
  EXPECT_EQ(t2.step(), 0);

  const wire::TrialSummary& t3 = s.trials(2);
  EXPECT_EQ(t3.state(), "pending");
  EXPECT_EQ(t3.attempt(), 0u);
  EXPECT_EQ(t3.started_at(), 0);
  EXPECT_EQ(t3.hparams().at("lr"), "0.1");
}

TEST_F(JournalTest, HistoryHoldsATrialsWholeRecordAcrossAttempts) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {{"lr", ParamValue::Number(0.001)}}).ok());
  ASSERT_TRUE(j->AddTrial(2, {{"lr", ParamValue::Number(0.01)}}).ok());
  ASSERT_TRUE(j->Transition(1, 1, TrialState::kRunning, "launched").ok());
  ASSERT_TRUE(j->RecordProgress(1, 1, Progress(10, 2.5)).ok());
  wire::Evaluation e;
  e.set_step(10);
  e.set_loss(2.0);
  e.set_macro_f1(0.3);
  auto* l = e.add_languages();
  l->set_lang("de");
  l->set_f1(0.3);
  l->set_count(7);
  ASSERT_TRUE(j->RecordEvaluation(1, 1, e, 0.3).ok());
  ASSERT_TRUE(j->AddDecision({1, 1, DecisionKind::kRung, 10, 0.3, 10, "paused at step 10"}).ok());
  ASSERT_TRUE(j->Transition(1, 1, TrialState::kPaused, "paused at step 10").ok());
  ASSERT_TRUE(j->AddDecision({2, 0, DecisionKind::kStop, 0, NAN, 0, "someone else's"}).ok());
  ASSERT_TRUE(j->Transition(1, 2, TrialState::kRunning, "promoted").ok());
  ASSERT_TRUE(j->SetRestarts(1, 1).ok());
  ASSERT_TRUE(j->RecordProgress(1, 2, Progress(20, 1.5)).ok());
  e.set_step(20);
  e.set_final(true);
  ASSERT_TRUE(j->RecordEvaluation(1, 2, e, std::nan("")).ok());  // metric not computable
  ASSERT_TRUE(j->FinishTrial(1, 2, TrialState::kCompleted, "").ok());

  auto ro = Journal::OpenReadOnly(path_);
  ASSERT_TRUE(ro.ok());
  auto h = (*ro)->History(1);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->id, 1u);
  EXPECT_EQ(h->restarts, 1);
  ASSERT_EQ(h->transitions.size(), 4u);
  EXPECT_EQ(h->transitions[0].from, "pending");
  EXPECT_EQ(h->transitions[0].to, "running");
  EXPECT_EQ(h->transitions[1].to, "paused");
  EXPECT_EQ(h->transitions[2].attempt, 2u);
  EXPECT_EQ(h->transitions[2].reason, "promoted");
  EXPECT_EQ(h->transitions[3].to, "completed");
  ASSERT_EQ(h->progress.size(), 2u);
  EXPECT_EQ(h->progress[0].step, 10);
  EXPECT_EQ(h->progress[1].attempt, 2u);
  EXPECT_DOUBLE_EQ(h->progress[1].loss, 1.5);
  ASSERT_EQ(h->evaluations.size(), 2u);
  EXPECT_DOUBLE_EQ(h->evaluations[0].objective, 0.3);
  ASSERT_EQ(h->evaluations[0].languages.size(), 1u);
  EXPECT_EQ(h->evaluations[0].languages[0].lang(), "de");
  EXPECT_EQ(h->evaluations[0].languages[0].count(), 7);
  EXPECT_TRUE(std::isnan(h->evaluations[1].objective));
  EXPECT_TRUE(h->evaluations[1].final);
  ASSERT_EQ(h->decisions.size(), 1u);  // only trial 1's
  EXPECT_EQ(h->decisions[0].kind, DecisionKind::kRung);
  EXPECT_DOUBLE_EQ(h->decisions[0].score, 0.3);

  auto none = (*ro)->History(9);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no trial 9"), std::string::npos) << none.status().message();
  EXPECT_NE(none.status().message().find("trials 1 to 2"), std::string::npos) << none.status().message();
}

TEST_F(JournalTest, BestEvaluationPrefersFeasibleTrialsThatDidNotFail) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  auto none = j->BestEvaluation(true);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  for (uint64_t id = 1; id <= 4; ++id) {
    ASSERT_TRUE(j->AddTrial(id, {{"lr", ParamValue::Number(0.001 * id)}}).ok());
    ASSERT_TRUE(j->Transition(id, 1, TrialState::kRunning, "launched").ok());
  }
  wire::Evaluation e;
  e.set_step(10);
  ASSERT_TRUE(j->RecordEvaluation(1, 1, e, 0.9).ok());
  ASSERT_TRUE(j->FinishTrial(1, 1, TrialState::kFailed, "rank 0 crashed").ok());
  ASSERT_TRUE(j->RecordEvaluation(2, 1, e, 0.5).ok());
  ASSERT_TRUE(j->RecordEvaluation(3, 1, e, 0.7, /*feasible=*/false).ok());
  ASSERT_TRUE(j->RecordEvaluation(4, 1, e, 0.3).ok());
  auto max = j->BestEvaluation(true);
  ASSERT_TRUE(max.ok() && max->has_value());
  EXPECT_EQ((*max)->trial, 2u);  // 1 failed, 3 breaks a constraint
  EXPECT_DOUBLE_EQ((*max)->objective, 0.5);
  EXPECT_TRUE((*max)->feasible);
  auto min = j->BestEvaluation(false);
  ASSERT_TRUE(min.ok() && min->has_value());
  EXPECT_EQ((*min)->trial, 4u);
}

// A resumed attempt trains again from its checkpoint: the steps an earlier
// attempt reported are not stored again, and the snapshot shows the
// furthest step until the new attempt passes it.
TEST_F(JournalTest, SnapshotShowsTheFurthestStepOfAnyAttempt) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {}).ok());
  ASSERT_TRUE(j->Transition(1, 1, TrialState::kRunning, "launched").ok());
  ASSERT_TRUE(j->RecordProgress(1, 1, Progress(50, 1.0)).ok());
  ASSERT_TRUE(j->Transition(1, 2, TrialState::kRunning, "retry after rank loss").ok());
  ASSERT_TRUE(j->RecordProgress(1, 2, Progress(10, 3.0)).ok());
  auto snap = j->Snapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->trials(0).attempt(), 2u);
  EXPECT_EQ(snap->trials(0).step(), 50);
  EXPECT_DOUBLE_EQ(snap->trials(0).loss(), 1.0);
  ASSERT_TRUE(j->RecordProgress(1, 2, Progress(60, 3.0)).ok());
  snap = j->Snapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->trials(0).step(), 60);
  EXPECT_DOUBLE_EQ(snap->trials(0).loss(), 3.0);
}

// The highest stored step lets new steps skip the check for a stored row;
// what a journal held before it was reopened, and late steps below the
// highest, are still stored exactly once.
TEST_F(JournalTest, AReopenedJournalStoresEachStepOnceLateStepsToo) {
  {
    auto j = Create();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->AddTrial(1, {}).ok());
    for (int step : {10, 20}) {
      auto stored = j->RecordProgress(1, 1, Progress(step, 1.0));
      ASSERT_TRUE(stored.ok() && *stored) << step;
    }
  }
  auto j = Journal::Open(path_);
  ASSERT_TRUE(j.ok()) << j.status().message();
  const std::vector<std::pair<int, bool>> reports = {
      {20, false},  // stored before the reopen
      {15, true},   // late: below the highest stored, never stored
      {15, false},
      {30, true},
      {30, false},
      {10, false},
  };
  for (const auto& [step, expected] : reports) {
    auto stored = (*j)->RecordProgress(1, 2, Progress(step, 2.0));
    ASSERT_TRUE(stored.ok()) << stored.status().message();
    EXPECT_EQ(*stored, expected) << "step " << step;
  }
  Db db(path_);
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM progress"), "4");
  EXPECT_EQ(db.One("SELECT COUNT(DISTINCT step) FROM progress"), "4");
}

TEST_F(JournalTest, RepeatedProgressAndEvaluationAreStoredOnce) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {}).ok());
  auto first = j->RecordProgress(1, 1, Progress(10, 2.5));
  ASSERT_TRUE(first.ok() && *first);
  auto again = j->RecordProgress(1, 1, Progress(10, 9.9));  // a retransmission
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  wire::Evaluation e;
  e.set_step(10);
  e.set_loss(2.0);
  e.add_languages()->set_lang("en");
  auto stored = j->RecordEvaluation(1, 1, e, 2.0);
  ASSERT_TRUE(stored.ok() && *stored);
  e.set_loss(7.0);
  stored = j->RecordEvaluation(1, 1, e, 7.0);
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(*stored);

  Db db(path_);
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM progress"), "1");
  EXPECT_EQ(db.One("SELECT loss FROM progress"), "2.5");  // the first report wins
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM evaluations"), "1");
  EXPECT_EQ(db.One("SELECT objective FROM evaluations"), "2.0");
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM language_scores"), "1");
  // Another attempt at the same step (trained again from a checkpoint) is
  // the same fact: not stored again.
  again = j->RecordProgress(1, 2, Progress(10, 2.5));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  e.set_step(10);
  stored = j->RecordEvaluation(1, 2, e, 7.0);
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(*stored);
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM progress"), "1");
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM evaluations"), "1");
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM language_scores"), "1");
}

// Attempt 3 replays what attempt 2 reported before its checkpoint and the
// coordinator never acknowledged: stored as attempt 2's, with the
// checkpoint step attempt 2 had resumed from.
TEST_F(JournalTest, AReplayedReportIsStoredAsTheAttemptThatMadeIt) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {}).ok());
  wire::Progress p = Progress(400, 0.5);
  p.set_resumed_from(100);
  p.set_origin_attempt(2);
  ASSERT_TRUE(j->RecordProgress(1, 3, p).ok());
  wire::Evaluation e;
  e.set_step(400);
  e.set_final(true);
  e.set_origin_attempt(2);
  e.add_languages()->set_lang("de");
  ASSERT_TRUE(j->RecordEvaluation(1, 3, e, 0.6).ok());
  wire::Progress own = Progress(410, 0.4);
  own.set_resumed_from(400);
  ASSERT_TRUE(j->RecordProgress(1, 3, own).ok());
  Db db(path_);
  EXPECT_EQ(db.Rows("SELECT attempt, step, resumed_from FROM progress ORDER BY step"),
            (std::vector<std::string>{"2|400|100", "3|410|400"}));
  EXPECT_EQ(db.One("SELECT attempt || '|' || step || '|' || final FROM evaluations"), "2|400|1");
  EXPECT_EQ(db.One("SELECT attempt || '|' || lang FROM language_scores"), "2|de");
}

TEST_F(JournalTest, TransitionsRecordFromAndToStatesWithReasons) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(4, {{"lr", ParamValue::Number(0.5)}}).ok());
  ASSERT_TRUE(j->Transition(4, 1, TrialState::kRunning, "slot free").ok());
  ASSERT_TRUE(j->Transition(4, 1, TrialState::kRunning, "all ranks said hello").ok());
  ASSERT_TRUE(j->FinishTrial(4, 1, TrialState::kFailed, "NaN loss at step 7").ok());

  Db db(path_);
  EXPECT_EQ(db.Rows("SELECT trial_id, attempt, from_state, to_state, reason FROM transitions ORDER BY id"),
            (std::vector<std::string>{"4|1|pending|running|slot free",
                                      "4|1|running|running|all ranks said hello",
                                      "4|1|running|failed|NaN loss at step 7"}));
  EXPECT_EQ(db.One("SELECT state, outcome, error, started_at IS NOT NULL, finished_at IS NOT NULL "
                   "FROM trials WHERE id=4"),
            "failed|failed|NaN loss at step 7|1|1");
  EXPECT_EQ(db.One("SELECT hparams FROM trials WHERE id=4"), R"({"lr":"0.5"})");
}

TEST_F(JournalTest, CompletedTrialWithoutErrorUsesOutcomeAsReason) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {}).ok());
  ASSERT_TRUE(j->FinishTrial(1, 0, TrialState::kCompleted, "").ok());
  Db db(path_);
  EXPECT_EQ(db.One("SELECT from_state, to_state, reason FROM transitions"), "pending|completed|completed");
}

TEST_F(JournalTest, DuplicateTrialIdFails) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {}).ok());
  Status s = j->AddTrial(1, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("journal"), std::string::npos) << s.message();
}

TEST_F(JournalTest, ProgressForUnknownTrialFails) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  Status s = j->RecordProgress(99, 1, Progress(10, 1.0)).status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("FOREIGN KEY"), std::string::npos) << s.message();
}

// A transition of a trial the journal does not know must fail, as progress
// for it does (above): otherwise a coordinator bug loses facts silently.
TEST_F(JournalTest, TransitionOfUnknownTrialFails) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  EXPECT_FALSE(j->Transition(42, 1, TrialState::kRunning, "launched").ok());
  EXPECT_FALSE(j->FinishTrial(42, 1, TrialState::kFailed, "boom").ok());
  Db db(path_);
  EXPECT_EQ(db.One("SELECT COUNT(*) FROM transitions"), "0");
}

TEST_F(JournalTest, OpenReadOnlySeesWrittenJournal) {
  {
    auto j = Create();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->AddTrial(1, {{"lr", ParamValue::Number(0.003)}}).ok());
  }
  auto r = Journal::OpenReadOnly(path_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto snap = (*r)->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(snap->sweep(), "unit-sweep");
  ASSERT_EQ(snap->trials_size(), 1);
  EXPECT_EQ(snap->trials(0).hparams().at("lr"), "0.003");
  // Read-only really is read-only.
  EXPECT_FALSE((*r)->AddTrial(2, {}).ok());
}

TEST_F(JournalTest, OpenReadOnlyWhileWriterIsOpen) {
  auto w = Create();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->AddTrial(1, {}).ok());
  auto r = Journal::OpenReadOnly(path_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(w->Transition(1, 1, TrialState::kRunning, "go").ok());
  auto snap = (*r)->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  ASSERT_EQ(snap->trials_size(), 1);
  EXPECT_EQ(snap->trials(0).state(), "running");
}

TEST_F(JournalTest, OpenReadsBackWhatARestartedCoordinatorNeeds) {
  {
    auto j = Create();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->SetEndpoint("tcp://127.0.0.1:4242").ok());
    ASSERT_TRUE(j->AddTrial(1, {{"lr", ParamValue::Number(0.003)}}).ok());
    ASSERT_TRUE(j->AddTrial(2, {{"lr", ParamValue::Number(0.01)}}).ok());
    ASSERT_TRUE(j->Transition(1, 1, TrialState::kRunning, "launched").ok());
    ASSERT_TRUE(j->SetProcess(1, 1, "local:1234").ok());
    ASSERT_TRUE(j->SetRestarts(1, 1).ok());
    ASSERT_TRUE(j->Transition(1, 2, TrialState::kRunning, "restart 1/2").ok());
    ASSERT_TRUE(j->SetProcess(1, 2, "local:5678").ok());
    ASSERT_TRUE(j->SetProcess(1, 1, "local:9999").ok());  // a stale attempt changes nothing
    ASSERT_TRUE(j->Transition(2, 1, TrialState::kRunning, "launched").ok());
    ASSERT_TRUE(j->SetProcess(2, 1, "local:4321").ok());
    ASSERT_TRUE(j->FinishTrial(2, 1, TrialState::kCompleted, "").ok());
    ASSERT_TRUE(j->FinishSweep(SweepState::kInterrupted).ok());
  }
  auto j = Journal::Open(path_);
  ASSERT_TRUE(j.ok()) << j.status().message();
  auto sweep = (*j)->Sweep();
  ASSERT_TRUE(sweep.ok()) << sweep.status().message();
  EXPECT_EQ(sweep->name, "unit-sweep");
  EXPECT_EQ(sweep->config, "name: unit-sweep\n");
  EXPECT_EQ(sweep->state, SweepState::kInterrupted);
  EXPECT_EQ(sweep->endpoint, "tcp://127.0.0.1:4242");
  auto trials = (*j)->Trials();
  ASSERT_TRUE(trials.ok()) << trials.status().message();
  ASSERT_EQ(trials->size(), 2u);
  EXPECT_EQ((*trials)[0].state, TrialState::kRunning);
  EXPECT_EQ((*trials)[0].attempt, 2u);
  EXPECT_EQ((*trials)[0].restarts, 1);
  EXPECT_EQ((*trials)[0].process, "local:5678");
  EXPECT_GT((*trials)[0].started_at, 0);
  EXPECT_EQ((*trials)[0].hparams_json, R"({"lr":"0.003"})");
  EXPECT_EQ((*trials)[1].state, TrialState::kCompleted);
  EXPECT_EQ((*trials)[1].process, "");  // an ended attempt has no process
  // A new coordinator marks the sweep running again at its endpoint.
  ASSERT_TRUE((*j)->SetEndpoint("tcp://127.0.0.1:4243").ok());
  EXPECT_EQ((*j)->Sweep()->state, SweepState::kRunning);
}

TEST_F(JournalTest, OpenUpgradesAVersion1Journal) {
  ASSERT_NE(Create(), nullptr);
  {
    Db db(path_);
    db.Exec("ALTER TABLE sweeps DROP COLUMN endpoint; ALTER TABLE trials DROP COLUMN restarts; "
            "ALTER TABLE trials DROP COLUMN process; DROP TABLE decisions; "
            "ALTER TABLE evaluations DROP COLUMN feasible; ALTER TABLE sweeps DROP COLUMN searcher_state; "
            "ALTER TABLE trials DROP COLUMN slurm_step; DROP INDEX progress_by_step; DROP INDEX evaluations_by_step; "
            "ALTER TABLE progress DROP COLUMN resumed_from; DROP TABLE test_scores; PRAGMA user_version=1");
  }
  ASSERT_TRUE(Journal::OpenReadOnly(path_).ok());  // reading needs no upgrade
  {
    Db db(path_);
    EXPECT_EQ(db.One("PRAGMA user_version"), "1");
  }
  auto j = Journal::Open(path_);
  ASSERT_TRUE(j.ok()) << j.status().message();
  ASSERT_TRUE((*j)->AddTrial(1, {}).ok());
  ASSERT_TRUE((*j)->SetProcess(1, 0, "local:77").ok());
  EXPECT_EQ((*(*j)->Trials())[0].process, "local:77");
  ASSERT_TRUE((*j)->AddDecision({1, 1, DecisionKind::kRung, 100, 0.5, 100, "paused at step 100"}).ok());
  ASSERT_TRUE((*j)->SetSlurmStep(1, "41.2").ok());
  auto snap = (*j)->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(snap->trials(0).slurm_step(), "41.2");
  Db db(path_);
  EXPECT_EQ(db.One("PRAGMA user_version"), "6");
}

TEST_F(JournalTest, ReadOnlySnapshotOfAVersion3JournalHasNoSlurmSteps) {
  {
    auto j = Create();
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->AddTrial(1, {}).ok());
  }
  {
    Db db(path_);
    db.Exec("ALTER TABLE trials DROP COLUMN slurm_step; PRAGMA user_version=3");
  }
  auto r = Journal::OpenReadOnly(path_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto snap = (*r)->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  ASSERT_EQ(snap->trials_size(), 1);
  EXPECT_EQ(snap->trials(0).slurm_step(), "");
  Db db(path_);
  EXPECT_EQ(db.One("PRAGMA user_version"), "3");  // reading never upgrades
}

TEST_F(JournalTest, DecisionsComeBackInTheOrderTheyWereMade) {
  auto j = Create();
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->AddTrial(1, {}).ok());
  ASSERT_TRUE(j->AddTrial(2, {}).ok());
  ASSERT_TRUE(j->AddDecision({2, 1, DecisionKind::kRung, 100, 0.7, 100, "paused at step 100"}).ok());
  ASSERT_TRUE(j->AddDecision({1, 1, DecisionKind::kRung, 100, 0.4, 100, "paused at step 100"}).ok());
  ASSERT_TRUE(j->AddDecision({2, 1, DecisionKind::kPromote, 100, NAN, 300, "promoted from rung 0"}).ok());
  auto d = j->Decisions();
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].trial, 2u);
  EXPECT_EQ((*d)[0].kind, DecisionKind::kRung);
  EXPECT_DOUBLE_EQ((*d)[0].score, 0.7);
  EXPECT_EQ((*d)[1].trial, 1u);
  EXPECT_EQ((*d)[2].kind, DecisionKind::kPromote);
  EXPECT_EQ((*d)[2].stop_at, 300);
  EXPECT_EQ((*d)[2].detail, "promoted from rung 0");
  // A decision about a trial the journal does not know is refused.
  EXPECT_FALSE(j->AddDecision({9, 1, DecisionKind::kRung, 100, 0.1, 100, "?"}).ok());
}

TEST_F(JournalTest, OpenReadOnlyRejectsNewerSchema) {
  ASSERT_NE(Create(), nullptr);
  {
    Db db(path_);
    db.Exec("PRAGMA user_version=99");
  }
  EXPECT_FALSE(Journal::Open(path_).ok());
  auto r = Journal::OpenReadOnly(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("newer"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("99"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(path_), std::string::npos) << r.status().message();
}

TEST_F(JournalTest, OpenReadOnlyRejectsMissingAndForeignFiles) {
  auto missing = Journal::OpenReadOnly(dir_ + "/absent.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), dir_ + "/absent.db: no journal here");

  const std::string text = dir_ + "/notes.txt";
  std::ofstream(text) << std::string(4096, 'x');
  auto foreign = Journal::OpenReadOnly(text);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find(text + ": not a polysweep journal"), std::string::npos)
      << foreign.status().message();

  // A valid SQLite database that is not a journal (user_version 0).
  const std::string other = dir_ + "/other.db";
  {
    Db db(other);
    db.Exec("CREATE TABLE t(x)");
  }
  auto plain = Journal::OpenReadOnly(other);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("not a polysweep journal"), std::string::npos);

  auto directory = Journal::OpenReadOnly(dir_);
  EXPECT_FALSE(directory.ok());
}

TEST(ParamsToJson, StoresDecimalText) {
  auto j = nlohmann::json::parse(
      ParamsToJson({{"lr", ParamValue::Number(1e-05)}, {"batch_size", ParamValue::Number(16)}}));
  EXPECT_EQ(j["lr"], "1e-05");
  EXPECT_EQ(j["batch_size"], "16");
  EXPECT_EQ(ParamsToJson({}), "{}");
}

}  // namespace
}  // namespace polysweep
