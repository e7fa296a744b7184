// Task heads and masking: the sequence head keeps the classifier's parameter
// names; a token-classification head fits the same seam (per-token logits,
// ignored targets, trains); masked_lm masks as BERT does, deterministically.
#include "worker/heads.h"

#include <gtest/gtest.h>

#include "tests/common/test_models.h"
#include "worker/masking.h"
#include "worker/model.h"

namespace polysweep {
namespace {

std::vector<std::string> HeadParameters(EncoderClassifier& model) {
  std::vector<std::string> names;
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind("head.", 0) == 0) names.push_back(item.key());
  }
  return names;
}

TEST(TaskHeads, EachTaskHasItsOutputShapeAndParameterNames) {
  ModelShape shape = testing_util::TinyShape(50, 3, 1, 16, 10, 0.0);
  auto ids = torch::randint(4, 50, {2, 7}, torch::kLong);
  auto pad = torch::zeros({2, 7}, torch::kBool);
  EncoderClassifier sequence(shape);
  // The names checkpoints and exported models have always used.
  EXPECT_EQ(HeadParameters(sequence), (std::vector<std::string>{"head.weight", "head.bias"}));
  EXPECT_EQ(sequence->forward(ids, pad).sizes(), (std::vector<int64_t>{2, 3}));

  shape.task = TaskKind::kTokenClassification;
  EncoderClassifier token(shape);
  EXPECT_EQ(HeadParameters(token), (std::vector<std::string>{"head.weight", "head.bias"}));
  EXPECT_EQ(token->forward(ids, pad).sizes(), (std::vector<int64_t>{2, 7, 3}));
  EXPECT_TRUE(token->head().per_token());

  shape.task = TaskKind::kMaskedLm;
  EncoderClassifier mlm(shape);
  EXPECT_EQ(HeadParameters(mlm), (std::vector<std::string>{"head.transform.weight", "head.transform.bias",
                                                            "head.norm.weight", "head.norm.bias",
                                                            "head.decoder.weight", "head.decoder.bias"}));
  EXPECT_EQ(mlm->forward(ids, pad).sizes(), (std::vector<int64_t>{2, 7, 50})) << "one logit per vocabulary id";
}

// Training and evaluation run a per-token head on the scored positions
// only: the same logits and loss as the full forward's at those positions.
TEST(TaskHeads, ScoredPositionsOnlyGiveTheFullForwardsLogitsAndLoss) {
  ModelShape shape = testing_util::TinyShape(60, 0, 1, 16, 10, 0.0);
  shape.task = TaskKind::kMaskedLm;
  EncoderClassifier model(shape);
  model->eval();
  auto ids = torch::randint(4, 60, {3, 8}, torch::kLong);
  auto pad = torch::zeros({3, 8}, torch::kBool);
  pad[2].narrow(0, 5, 3).fill_(true);
  const int64_t x = kIgnoreTarget;
  auto targets = torch::full({3, 8}, x, torch::kLong);
  targets[0][1] = 7;
  targets[1][6] = 9;
  targets[2][4] = 11;
  auto scored = model->ForwardScored(ids, pad, targets);
  ASSERT_EQ(scored.logits.sizes(), (std::vector<int64_t>{3, 60}));
  EXPECT_TRUE(torch::equal(scored.index, torch::tensor({int64_t{1}, int64_t{14}, int64_t{20}})));
  auto full = model->forward(ids, pad);
  EXPECT_TRUE(torch::allclose(scored.logits[1], full[1][6], 1e-5, 1e-6));
  EXPECT_NEAR(HeadLoss(scored.logits, scored.targets).sum.item<double>(), HeadLoss(full, targets).sum.item<double>(),
              1e-4);
}

TEST(TaskHeads, TaskNamesRoundTripAndUnknownOnesAreNamed) {
  for (TaskKind k : {TaskKind::kSequenceClassification, TaskKind::kTokenClassification, TaskKind::kMaskedLm,
                     TaskKind::kRegression}) {
    auto parsed = ParseTaskKind(TaskKindName(k));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, k);
  }
  auto bad = ParseTaskKind("multi_label");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown task \"multi_label\""), std::string::npos);
}

// Regression: one output per text, its loss the summed squared error.
TEST(HeadLoss, RegressionSumsSquaredErrors) {
  ModelShape shape = testing_util::TinyShape(30, 0, 1, 16, 8, 0.0);
  shape.task = TaskKind::kRegression;
  EncoderClassifier model(shape);
  auto out = model->forward(torch::randint(4, 30, {3, 5}, torch::kLong), torch::zeros({3, 5}, torch::kBool));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 1}));
  LossSum loss = HeadLoss(torch::tensor({1.0f, 2.0f, 4.0f}).view({3, 1}), torch::tensor({1.5f, 2.0f, 2.0f}));
  EXPECT_EQ(loss.count, 3);
  EXPECT_NEAR(loss.sum.item<double>(), 0.25 + 0 + 4, 1e-6);
}

TEST(HeadLoss, SumsOverTheTargetsThatAreNotIgnored) {
  auto logits = torch::randn({2, 4, 5});
  const int64_t x = kIgnoreTarget;
  auto targets = torch::tensor({int64_t{1}, x, int64_t{3}, x, x, int64_t{0}, int64_t{4}, int64_t{2}}).view({2, 4});
  LossSum loss = HeadLoss(logits, targets);
  EXPECT_EQ(loss.count, 5);
  double expected = 0;
  auto log_probs = torch::log_softmax(logits, -1);
  for (int b = 0; b < 2; ++b) {
    for (int t = 0; t < 4; ++t) {
      const int64_t y = targets[b][t].item<int64_t>();
      if (y != kIgnoreTarget) expected -= log_probs[b][t][y].item<double>();
    }
  }
  EXPECT_NEAR(loss.sum.item<double>(), expected, 1e-4);
  // One target per sequence: every one counts.
  LossSum sequence = HeadLoss(torch::randn({3, 5}), torch::tensor({0, 4, 2}, torch::kLong));
  EXPECT_EQ(sequence.count, 3);
}

// Token classification fits the seam: the encoder and a per-token head learn
// a per-token rule (is the id even?) that no sequence label could express.
TEST(TaskHeads, ATokenClassificationModelLearnsAPerTokenRule) {
  torch::manual_seed(5);
  ModelShape shape = testing_util::TinyShape(40, 2, 1, 32, 12, 0.0);
  shape.task = TaskKind::kTokenClassification;
  EncoderClassifier model(shape);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(3e-3));
  auto ids = torch::randint(4, 40, {32, 12}, torch::kLong);
  auto pad = torch::zeros({32, 12}, torch::kBool);
  pad.narrow(1, 9, 3).fill_(true);  // the last three positions are padding: not scored
  auto targets = ids.remainder(2).masked_fill(pad, kIgnoreTarget);
  double first = 0, last = 0;
  for (int s = 0; s < 150; ++s) {
    opt.zero_grad();
    LossSum loss = HeadLoss(model->forward(ids, pad), targets);
    ASSERT_EQ(loss.count, 32 * 9);
    auto mean = loss.sum / static_cast<double>(loss.count);
    (s == 0 ? first : last) = mean.item<double>();
    mean.backward();
    opt.step();
  }
  EXPECT_LT(last, 0.2 * first) << "first " << first << ", last " << last;
}

Batch TextBatch(int rows, int length, int padded_from) {
  Batch b;
  b.ids = torch::randint(4, 1000, {rows, length}, torch::kLong);
  b.pad = torch::zeros({rows, length}, torch::kBool);
  b.pad.narrow(1, padded_from, length - padded_from).fill_(true);
  b.labels = torch::zeros({rows}, torch::kLong);
  return b;
}

TEST(MaskTokens, ChoosesTheShareAsBertDoesAndNeverPadding) {
  torch::manual_seed(6);
  Batch b = TextBatch(200, 50, 40);
  const torch::Tensor original = b.ids.clone();
  MaskTokens(&b, 0.15, 3, 1000, 42);
  ASSERT_EQ(b.labels.sizes(), b.ids.sizes());
  auto chosen = b.labels != kIgnoreTarget;
  EXPECT_FALSE(chosen.logical_and(b.pad).any().item<bool>()) << "a padding position was chosen";
  const double share = chosen.sum().item<double>() / (200.0 * 40);
  EXPECT_NEAR(share, 0.15, 0.01);
  // Targets are the original ids; what is not chosen is unchanged.
  EXPECT_TRUE(torch::equal(b.labels.masked_select(chosen), original.masked_select(chosen)));
  EXPECT_TRUE(torch::equal(b.ids.masked_select(~chosen), original.masked_select(~chosen)));
  const double masked = (b.ids == 3).logical_and(chosen).sum().item<double>() / chosen.sum().item<double>();
  const double kept = (b.ids == original).logical_and(chosen).sum().item<double>() / chosen.sum().item<double>();
  EXPECT_NEAR(masked, 0.8, 0.03);
  EXPECT_NEAR(kept, 0.1, 0.03);  // (a random id equal to the original counts as kept: 1 in 1000)
}

TEST(MaskTokens, IsAFunctionOfTheSeed) {
  torch::manual_seed(7);
  Batch a = TextBatch(8, 20, 15), b = a, c = a;
  b.ids = a.ids.clone();
  c.ids = a.ids.clone();
  MaskTokens(&a, 0.3, 3, 1000, MaskSeed(1, 10, 0, 0));
  MaskTokens(&b, 0.3, 3, 1000, MaskSeed(1, 10, 0, 0));
  MaskTokens(&c, 0.3, 3, 1000, MaskSeed(1, 10, 1, 0));  // another rank
  EXPECT_TRUE(torch::equal(a.ids, b.ids));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_FALSE(torch::equal(a.labels, c.labels));
  EXPECT_NE(MaskSeed(1, 10, 0, 0), MaskSeed(1, 11, 0, 0));
  EXPECT_NE(MaskSeed(1, 10, 0, 0), MaskSeed(1, 10, 0, 1));
}

}  // namespace
}  // namespace polysweep
