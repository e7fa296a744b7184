// The task registry (common/tasks.h): one row per task, in order, and what
// each says its labels and metrics are.
#include "common/tasks.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace polysweep {
namespace {

TEST(Tasks, EveryTaskIsOneRowFoundByItsName) {
  for (const TaskInfo& t : kTasks) {
    EXPECT_EQ(&Task(t.kind), &t);
    auto parsed = ParseTaskKind(t.name);
    ASSERT_TRUE(parsed.ok()) << t.name;
    EXPECT_EQ(*parsed, t.kind);
  }
  EXPECT_EQ(TaskNames(),
            "sequence_classification, token_classification, masked_lm, regression, multi_label_classification");
  auto bad = ParseTaskKind("multi_label");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "unknown task \"multi_label\" (sequence_classification, token_classification, masked_lm, regression, "
            "multi_label_classification)");
}

TEST(Tasks, SayWhatALabelIsAndWhichMetricsApply) {
  const TaskInfo& seq = Task(TaskKind::kSequenceClassification);
  EXPECT_EQ(seq.label, LabelKind::kClassId);
  EXPECT_FALSE(seq.per_token);
  EXPECT_EQ(seq.metrics, MetricFamily::kClassification);
  EXPECT_STREQ(seq.default_metric, "macro_f1");
  EXPECT_EQ(Task(TaskKind::kTokenClassification).label, LabelKind::kTokenClassIds);
  EXPECT_TRUE(Task(TaskKind::kTokenClassification).per_token);
  const TaskInfo& mlm = Task(TaskKind::kMaskedLm);
  EXPECT_EQ(mlm.label, LabelKind::kMaskedTokens);
  EXPECT_EQ(mlm.metrics, MetricFamily::kTokenAccuracy);
  EXPECT_FALSE(HasLabelMap(mlm.label));
  EXPECT_TRUE(HasLabelMap(LabelKind::kMultiHot));
  EXPECT_EQ(TaskOutputs(TaskKind::kMaskedLm, 3, 8000), 8000);
  EXPECT_EQ(TaskOutputs(TaskKind::kTokenClassification, 3, 8000), 3);
  EXPECT_EQ(TaskOutputs(TaskKind::kRegression, 0, 8000), 1);
  const TaskInfo& multi = Task(TaskKind::kMultiLabel);
  EXPECT_EQ(multi.label, LabelKind::kMultiHot);
  EXPECT_TRUE(multi.pair);
  EXPECT_EQ(TaskOutputs(TaskKind::kMultiLabel, 5, 8000), 5);
  const auto sets = ObjectiveMetrics(multi.metrics);
  EXPECT_EQ(std::count(sets.begin(), sets.end(), "micro_f1"), 1);
  EXPECT_EQ(std::count(sets.begin(), sets.end(), "f1"), 0);  // an entity span's
  const auto regression = ObjectiveMetrics(Task(TaskKind::kRegression).metrics);
  EXPECT_EQ(std::count(regression.begin(), regression.end(), "accuracy"), 0);
  EXPECT_TRUE(LowerIsBetter("rmse") && LowerIsBetter("mae") && !LowerIsBetter("spearman"));
  const auto tags = ObjectiveMetrics(MetricFamily::kTokenTags);
  EXPECT_EQ(std::count(tags.begin(), tags.end(), "f1"), 1);
  EXPECT_EQ(std::count(tags.begin(), tags.end(), "macro_f1"), 0);
  // No F1 where only scored tokens are counted; every family has accuracy and loss.
  const auto token = ObjectiveMetrics(MetricFamily::kTokenAccuracy);
  EXPECT_EQ(std::count(token.begin(), token.end(), "macro_f1"), 0);
  EXPECT_EQ(std::count(token.begin(), token.end(), "language_f1"), 0);
  for (MetricFamily f : {MetricFamily::kClassification, MetricFamily::kTokenAccuracy}) {
    const auto names = ObjectiveMetrics(f);
    EXPECT_EQ(std::count(names.begin(), names.end(), "accuracy"), 1);
    EXPECT_EQ(std::count(names.begin(), names.end(), "valid_loss"), 1);
  }
  for (const TaskInfo& t : kTasks) {
    const auto names = ObjectiveMetrics(t.metrics);
    EXPECT_EQ(std::count(names.begin(), names.end(), t.default_metric), 1) << t.name;
  }
  EXPECT_STREQ(LabelKindDescription(LabelKind::kTokenClassIds), "a label per token");
}

}  // namespace
}  // namespace polysweep
