// The dashboard's data document (cli/dashboard.h) read from a real
// SQLite journal: every trial's curves, a long trial's thinned to a bounded
// number of points that keeps its first and last step; the journal reading a
// long curve at evenly spaced steps of each attempt.
#include "cli/dashboard.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "coordinator/journal.h"

namespace polysweep {
namespace {

TEST(ThinnedIndices, KeepsShortCurvesWholeAndThinsLongOnesEvenly) {
  EXPECT_EQ(ThinnedIndices(0, 400), std::vector<size_t>{});
  EXPECT_EQ(ThinnedIndices(3, 400), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(ThinnedIndices(10, 4), (std::vector<size_t>{0, 3, 6, 9}));
  for (size_t n : {401u, 1000u, 100001u}) {
    const std::vector<size_t> kept = ThinnedIndices(n, 400);
    ASSERT_EQ(kept.size(), 400u) << n;
    EXPECT_EQ(kept.front(), 0u);
    EXPECT_EQ(kept.back(), n - 1);
    const size_t widest = (n - 1) / 399 + 1;
    for (size_t i = 1; i < kept.size(); ++i) {
      ASSERT_GT(kept[i], kept[i - 1]) << n << " at " << i;
      ASSERT_LE(kept[i] - kept[i - 1], widest) << n << " at " << i;
    }
  }
}

// A fresh directory with a new journal of sweep "curves" in it.
std::unique_ptr<Journal> CurvesJournal(std::string* dir) {
  *dir = ::testing::TempDir() + "dashboard_data_test.XXXXXX";
  if (mkdtemp(dir->data()) == nullptr) return nullptr;
  SweepConfig config;
  config.name = "curves";
  config.source_text = "name: curves\n";
  config.budget.max_trials = 2;
  auto journal = Journal::Create(*dir + "/journal.db", config);
  EXPECT_TRUE(journal.ok()) << journal.status().message();
  return journal.ok() ? std::move(*journal) : nullptr;
}

TEST(DashboardData, ALongTrialsCurveIsThinnedAndAShortOneSentWhole) {
  std::string dir;
  {
    auto journal = CurvesJournal(&dir);
    ASSERT_NE(journal, nullptr);
    Journal& j = *journal;
    ASSERT_TRUE(j.AddTrial(1, {{"lr", ParamValue::Number(0.001)}}).ok());
    ASSERT_TRUE(j.AddTrial(2, {{"lr", ParamValue::Number(0.01)}}).ok());
    ASSERT_TRUE(j.Transition(1, 1, TrialState::kRunning, "launched").ok());
    ASSERT_TRUE(j.Transition(2, 1, TrialState::kRunning, "launched").ok());
    ASSERT_TRUE(j.BeginBatch().ok());
    for (int64_t step = 1; step <= 5000; ++step) {
      wire::Progress p;
      p.set_step(step);
      p.set_loss(1.0 / static_cast<double>(step));
      ASSERT_TRUE(j.RecordProgress(1, 1, p).ok());
      if (step <= 10) {
        ASSERT_TRUE(j.RecordProgress(2, 1, p).ok());
      }
    }
    ASSERT_TRUE(j.CommitBatch().ok());
  }
  auto status = [](std::string* source) -> StatusOr<wire::StatusReply> {
    *source = "test";
    wire::StatusReply s;
    s.set_sweep("curves");
    s.set_max_trials(2);
    for (uint32_t id : {1u, 2u}) {
      auto* t = s.add_trials();
      t->set_id(id);
      t->set_state("running");
      t->set_attempt(1);
    }
    return s;
  };
  auto text = DashboardData(dir, status);
  ASSERT_TRUE(text.ok()) << text.status().message();
  const auto data = nlohmann::json::parse(*text);
  const auto& long_curve = data["curves"]["1"]["loss"];
  ASSERT_EQ(long_curve.size(), kDashboardCurvePoints);
  EXPECT_EQ(long_curve.front()[0].get<int64_t>(), 1);
  EXPECT_EQ(long_curve.back()[0].get<int64_t>(), 5000);
  EXPECT_DOUBLE_EQ(long_curve.back()[1].get<double>(), 1.0 / 5000);
  for (size_t i = 1; i < long_curve.size(); ++i) {
    ASSERT_GT(long_curve[i][0].get<int64_t>(), long_curve[i - 1][0].get<int64_t>());
  }
  const auto& short_curve = data["curves"]["2"]["loss"];
  ASSERT_EQ(short_curve.size(), 10u);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(short_curve[i][0].get<int64_t>(), i + 1);
  std::filesystem::remove_all(dir);
}

TEST(JournalCurves, ALongCurveIsReadAtEvenlySpacedStepsOfEachAttempt) {
  std::string dir;
  auto journal = CurvesJournal(&dir);
  ASSERT_NE(journal, nullptr);
  Journal& j = *journal;
  auto loss = [](int64_t attempt, int64_t step) { return static_cast<double>(attempt) + 1.0 / static_cast<double>(step); };
  ASSERT_TRUE(j.AddTrial(1, {{"lr", ParamValue::Number(0.001)}}).ok());
  ASSERT_TRUE(j.BeginBatch().ok());
  // Attempt 1 reports every 7th step to 21,000; attempt 2 resumes from a
  // checkpoint at 14,000 and goes on to 35,000 (the steps attempt 1 reported
  // are not stored again). Evaluations every 70th step.
  const struct {
    int64_t attempt, first, last;
  } attempts[] = {{1, 7, 21000}, {2, 14007, 35000}};
  for (const auto& a : attempts) {
    ASSERT_TRUE(j.Transition(1, static_cast<uint32_t>(a.attempt), TrialState::kRunning, "launched").ok());
    for (int64_t step = a.first; step <= a.last; step += 7) {
      wire::Progress p;
      p.set_step(step);
      p.set_loss(loss(a.attempt, step));
      ASSERT_TRUE(j.RecordProgress(1, static_cast<uint32_t>(a.attempt), p).ok());
      if (step % 70 == 0) {
        wire::Evaluation e;
        e.set_step(step);
        e.set_loss(loss(a.attempt, step));
        ASSERT_TRUE(j.RecordEvaluation(1, static_cast<uint32_t>(a.attempt), e, loss(a.attempt, step), true).ok());
      }
    }
  }
  ASSERT_TRUE(j.CommitBatch().ok());

  auto curves = j.Curves(400);
  ASSERT_TRUE(curves.ok()) << curves.status().message();
  const auto& progress = curves->progress[1];
  EXPECT_GE(progress.size(), 390u);
  EXPECT_LE(progress.size(), 402u);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front().attempt, 1u);
  EXPECT_EQ(progress.front().step, 7);
  EXPECT_EQ(progress.back().attempt, 2u);
  EXPECT_EQ(progress.back().step, 35000);
  bool last_of_first = false, first_of_second = false;
  for (size_t i = 0; i < progress.size(); ++i) {
    const auto& p = progress[i];
    ASSERT_EQ(p.step % 7, 0) << "not a stored row: step " << p.step;
    ASSERT_DOUBLE_EQ(p.loss, loss(p.attempt, p.step)) << "attempt " << p.attempt << " step " << p.step;
    if (i > 0) {
      ASSERT_GE(p.attempt, progress[i - 1].attempt);
      if (p.attempt == progress[i - 1].attempt) {
        ASSERT_GT(p.step, progress[i - 1].step);
      }
    }
    last_of_first |= p.attempt == 1 && p.step == 21000;
    first_of_second |= p.attempt == 2 && p.step == 21007;
  }
  EXPECT_TRUE(last_of_first);
  EXPECT_TRUE(first_of_second);
  const auto& evaluations = curves->evaluations[1];
  EXPECT_GE(evaluations.size(), 390u);
  EXPECT_LE(evaluations.size(), 402u);
  for (const auto& e : evaluations) ASSERT_DOUBLE_EQ(e.objective, loss(e.attempt, e.step)) << e.step;
  EXPECT_EQ(evaluations.back().step, 35000);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
