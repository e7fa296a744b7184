// Multi-label classification (model.task multi_label_classification): label
// lists read and refused, a TSV cell split, the
// targets a batch carries, the loss (torch's BCEWithLogitsLoss, summed),
// and the metrics and the report worked by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "common/class_report.h"
#include "common/example.h"
#include "common/shard_set.h"
#include "worker/batching.h"
#include "worker/dataset.h"
#include "worker/heads.h"
#include "worker/metrics.h"

namespace polysweep {
namespace {

ExampleFields MultiLabelFields() {
  ExampleFields f;
  f.label = "labels";
  f.label_separator = ",";
  return f;
}

TEST(MultiLabel, ReadsLabelListsAndRefusesWhatIsNotOne) {
  auto ex = ParseExampleLine(R"({"text": "gut", "labels": ["price", "quality", "price"], "lang": "de"})",
                             MultiLabelFields());
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(ex->labels, (std::vector<std::string>{"price", "quality"}));  // the repeat dropped
  auto none = ParseExampleLine(R"({"text": "gut", "labels": [], "lang": "de"})", MultiLabelFields());
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->labels.empty());  // a text may carry no label
  const std::pair<const char*, const char*> bad[] = {
      {R"({"text": "gut", "labels": "price", "lang": "de"})",
       "field \"labels\" must be a list of labels (model.task multi_label_classification), got string"},
      {R"({"text": "gut", "labels": ["price", 1.5], "lang": "de"})", "field \"labels\" label 2 is not a string"},
      {R"({"text": "gut", "labels": [""], "lang": "de"})", "field \"labels\" label 1 is empty"},
      {R"({"text": "gut", "lang": "de"})", "missing field \"labels\""},
  };
  for (const auto& [line, why] : bad) {
    auto r = ParseExampleLine(line, MultiLabelFields());
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.status().message(), why);
  }
}

TEST(MultiLabel, ATsvCellIsSplitAtTheSeparator) {
  auto columns = ParseTsvHeader("text\tlabels\tlang", MultiLabelFields());
  ASSERT_TRUE(columns.ok()) << columns.status().message();
  auto ex = ParseTsvLine("gut und billig\tquality, price\tde", *columns);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(ex->labels, (std::vector<std::string>{"quality", "price"}));
  auto empty = ParseTsvLine("nichts\t\tde", *columns);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->labels.empty());
  auto gap = ParseTsvLine("gut\tquality,,price\tde", *columns);
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.status().message(), "field \"label\" label 2 is empty");
}

// Examples with 2, 0 and 1 labels of 3: the targets are their indicators.
TEST(MultiLabel, ABatchCarriesAnIndicatorPerLabel) {
  TokenizedSplit split;
  split.AddTagged({5, 6}, {0, 2}, 0);  // any label span
  split.AddTagged({7}, {}, 1);
  split.AddTagged({8, 9, 10}, {1}, 0);
  EXPECT_EQ(TargetsFor(LabelKind::kMultiHot, true), Targets::kMultiHot);
  const Batch b = MakeBatch(split, {0, 1, 2}, 0, 16, Targets::kMultiHot, 3);
  ASSERT_EQ(b.labels.sizes(), (torch::IntArrayRef{3, 3}));
  EXPECT_TRUE(torch::equal(b.labels, torch::tensor({{1.f, 0.f, 1.f}, {0.f, 0.f, 0.f}, {0.f, 1.f, 0.f}})));
}

TEST(MultiLabel, TheLossIsTorchsBinaryCrossEntropySummedOverEveryDecision) {
  torch::manual_seed(3);
  const torch::Tensor logits = torch::randn({4, 3});
  const torch::Tensor targets = torch::tensor({{1.f, 0.f, 1.f}, {0.f, 0.f, 0.f}, {0.f, 1.f, 0.f}, {1.f, 1.f, 1.f}});
  const LossSum loss = HeadLoss(logits, targets);
  EXPECT_EQ(loss.count, 12);
  const torch::Tensor mean = torch::nn::functional::binary_cross_entropy_with_logits(logits, targets);
  EXPECT_NEAR(loss.sum.item<double>() / 12, mean.item<double>(), 1e-6);
  // By hand for one logit: -log(sigmoid(x)) for a 1, -log(1 - sigmoid(x)) for a 0.
  const LossSum one = HeadLoss(torch::tensor({{0.f, 2.f}}), torch::tensor({{1.f, 0.f}}));
  EXPECT_NEAR(one.sum.item<double>(), std::log(2.0) + std::log(1 + std::exp(2.0)), 1e-5);
}

// Labels a, b, c in two languages, four texts (gold -> predicted):
//   lang 0: {a, b} -> {a}      {c} -> {c} (exact)
//   lang 1: {} -> {b}          {a} -> {a, c}
// per label (found, gold, correct): a (2, 2, 2): F1 1; b (1, 1, 0): F1 0;
// c (2, 1, 1): P 1/2, R 1, F1 2/3. Micro: (5, 4, 3): P 0.6, R 0.75, F1 2/3.
// Macro F1 (1 + 0 + 2/3) / 3 = 5/9. Exact match 1/4. Language 0: (2, 3, 2):
// F1 0.8, exact 1/2; language 1: (3, 1, 1): F1 0.5, exact 0.
TEST(MultiLabel, CountsSumOverRanksAndScoreAsWorkedByHand) {
  const std::vector<std::string> labels = {"a", "b", "c"};
  auto rank0 = MakeEvalCounts(MetricFamily::kMultiLabel, 3, 2, labels);
  auto rank1 = MakeEvalCounts(MetricFamily::kMultiLabel, 3, 2, labels);
  rank0->AddLabelSet(0, {true, true, false}, {true, false, false}, 1);
  rank1->AddLabelSet(0, {false, false, true}, {false, false, true}, 2);
  rank0->AddLabelSet(1, {false, false, false}, {false, true, false}, 3);
  rank1->AddLabelSet(1, {true, false, false}, {true, false, true}, 4);
  for (size_t i = 0; i < rank0->raw().size(); ++i) rank0->raw()[i] += rank1->raw()[i];
  const EvalMetrics m = rank0->Compute();
  EXPECT_NEAR(m.precision, 0.6, 1e-6);
  EXPECT_NEAR(m.recall, 0.75, 1e-6);
  EXPECT_NEAR(m.f1, 2.0 / 3, 1e-6);
  EXPECT_NEAR(m.macro_f1, 5.0 / 9, 1e-6);
  EXPECT_NEAR(m.accuracy, 0.25, 1e-6);
  EXPECT_NEAR(m.loss, 10.0 / 12, 1e-6);  // per decision
  ASSERT_EQ(m.entities.size(), 3u);
  EXPECT_EQ(m.entities[2].type, "c");
  EXPECT_NEAR(m.entities[2].precision, 0.5, 1e-6);
  EXPECT_EQ(m.entities[2].support, 1);
  EXPECT_EQ(m.entities[2].found, 2);
  ASSERT_EQ(m.languages.size(), 2u);
  EXPECT_NEAR(m.languages[0].f1, 0.8, 1e-6);
  EXPECT_NEAR(m.languages[0].accuracy, 0.5, 1e-6);
  EXPECT_NEAR(m.languages[1].f1, 0.5, 1e-6);
  EXPECT_EQ(m.languages[1].count, 2);

  // The test split's report counts the same texts alike.
  LabelSetTally tally(3);
  tally.Add({true, true, false}, {true, false, false});
  tally.Add({false, false, true}, {false, false, true});
  tally.Add({false, false, false}, {false, true, false});
  tally.Add({true, false, false}, {true, false, true});
  const ClassReport r = tally.Report(labels);
  EXPECT_EQ(r.kind, ReportKind::kLabelSets);
  ASSERT_TRUE(r.micro.has_value());
  EXPECT_NEAR(r.micro->f1, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.macro.f1, 5.0 / 9, 1e-12);
  EXPECT_NEAR(r.accuracy, 0.25, 1e-12);
  EXPECT_EQ(r.total, 4);
  EXPECT_EQ(r.per_label[1].support, 1);
  EXPECT_EQ(r.per_label[1].f1, 0);
  const std::string text = RenderClassReport(r);
  EXPECT_NE(text.find("exact match"), std::string::npos) << text;
  EXPECT_NE(text.find("micro avg"), std::string::npos) << text;
}

}  // namespace
}  // namespace polysweep
