// The evaluator (worker/evaluator.h) and the step's placement: one batching
// loop for every head gives the metrics of scoring every example at once,
// masks alike every time, and a device or precision this build does not
// compute with is refused.
#include "worker/evaluator.h"

#include <gtest/gtest.h>

#include <random>

#include "common/tagged.h"

#include "tests/common/solo_communicator.h"
#include "tests/common/test_models.h"
#include "worker/train_step.h"

namespace polysweep {
namespace {

using testing_util::SoloCommunicator;

// `n` examples in two languages, more than one evaluation batch.
TokenizedSplit TwoLanguages(int n, int vocab, int labels) {
  TokenizedSplit base = testing_util::SyntheticSplit(n, vocab, labels, 12, 5);
  TokenizedSplit s;
  for (int64_t i = 0; i < base.size(); ++i) {
    const ExampleView v = base.Get(i);
    s.Add(std::vector<int32_t>(v.tokens, v.tokens + v.length), v.label, static_cast<int32_t>(i % 2));
  }
  return s;
}

TEST(Evaluator, SequenceMetricsAreThoseOfScoringEveryExampleAtOnce) {
  const int kLabels = 3, kVocab = 50;
  TokenizedSplit split = TwoLanguages(300, kVocab, kLabels);
  torch::manual_seed(1);
  EncoderClassifier model(testing_util::TinyShape(kVocab, kLabels, 1, 16, 16, 0.0));
  SoloCommunicator comm;
  EvalSpec spec;
  spec.num_labels = kLabels;
  spec.num_langs = 2;
  spec.max_length = 16;
  auto metrics = Evaluator(split, spec, &comm).Evaluate(model, 7);
  ASSERT_TRUE(metrics.ok()) << metrics.status().message();

  std::vector<int64_t> all(static_cast<size_t>(split.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  Batch b = MakeBatch(split, all, 0, 16);
  torch::NoGradGuard no_grad;
  auto logits = model->forward(b.ids, b.pad);
  auto losses = torch::nn::functional::cross_entropy(
      logits, b.labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  ConfusionCounts want(kLabels, 2);
  for (int64_t r = 0; r < split.size(); ++r) {
    want.Add(b.langs[static_cast<size_t>(r)], static_cast<int>(b.labels[r].item<int64_t>()),
             static_cast<int>(logits[r].argmax().item<int64_t>()), losses[r].item<float>());
  }
  const EvalMetrics w = want.Compute();
  EXPECT_DOUBLE_EQ(metrics->accuracy, w.accuracy);
  EXPECT_DOUBLE_EQ(metrics->macro_f1, w.macro_f1);
  EXPECT_NEAR(metrics->loss, w.loss, 1e-5);
  ASSERT_EQ(metrics->languages.size(), 2u);
  EXPECT_EQ(metrics->languages[0].count, 150);
  EXPECT_DOUBLE_EQ(metrics->languages[1].f1, w.languages[1].f1);
}

TEST(Evaluator, MaskedTokensAreMaskedAlikeEveryTimeAndCountedPerLanguage) {
  const int kVocab = 60;
  TokenizedSplit split = TwoLanguages(200, kVocab, 2);
  ModelShape shape = testing_util::TinyShape(kVocab, 0, 1, 16, 16, 0.0);
  shape.task = TaskKind::kMaskedLm;
  torch::manual_seed(2);
  EncoderClassifier model(shape);
  SoloCommunicator comm;
  EvalSpec spec;
  spec.task = TaskKind::kMaskedLm;
  spec.num_labels = 0;
  spec.num_langs = 2;
  spec.max_length = 16;
  spec.masking = MaskingSpec{0.3, 3, kVocab, 9};
  Evaluator evaluator(split, spec, &comm);
  auto first = evaluator.Evaluate(model, 1);
  auto again = evaluator.Evaluate(model, 2);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->accuracy, again->accuracy);
  EXPECT_EQ(first->loss, again->loss);
  int64_t tokens = 0;
  for (int64_t i = 0; i < split.size(); ++i) tokens += static_cast<int64_t>(split.Get(i).length);
  const int64_t scored = first->languages[0].count + first->languages[1].count;
  EXPECT_GT(first->languages[0].count, 0);
  EXPECT_GT(first->languages[1].count, 0);
  EXPECT_GT(scored, tokens / 5);  // about 30% of the tokens
  EXPECT_LT(scored, tokens / 2);
  EXPECT_EQ(first->macro_f1, 0);  // no F1 for scored tokens
}

// Token classification: the evaluator scores each word's first piece, and
// its entity figures are those of the spans of each sentence's words, gold
// against the argmax of the model's outputs (a word's later pieces, trained
// on with data.label_all_pieces, are not scored).
TEST(Evaluator, TaggedWordsScoreTheirFirstPiecesAndTheirSpans) {
  const std::vector<std::string> labels = {"B-LOC", "B-PER", "I-LOC", "I-PER", "O"};
  const int kVocab = 40, kLabels = 5;
  TokenizedSplit split;
  std::mt19937 rng(5);
  for (int i = 0; i < 150; ++i) {
    std::vector<int32_t> ids{2}, tags{kUntaggedPiece};
    const int words = 3 + static_cast<int>(rng() % 8);
    for (int w = 0; w < words; ++w) {
      const int32_t tag = static_cast<int32_t>(rng() % kLabels);
      ids.push_back(5 + static_cast<int32_t>(rng() % 30));
      tags.push_back(tag);
      if (rng() % 3 == 0) {  // a later piece of the word
        ids.push_back(5 + static_cast<int32_t>(rng() % 30));
        tags.push_back(kLaterPiece + tag);
      }
    }
    ids.push_back(3);
    tags.push_back(kUntaggedPiece);
    split.AddTagged(ids, tags, i % 2);
  }
  ModelShape shape = testing_util::TinyShape(kVocab, kLabels, 1, 16, 32, 0.0);
  shape.task = TaskKind::kTokenClassification;
  torch::manual_seed(3);
  EncoderClassifier model(shape);
  SoloCommunicator comm;
  EvalSpec spec;
  spec.task = TaskKind::kTokenClassification;
  spec.num_labels = kLabels;
  spec.num_langs = 2;
  spec.max_length = 32;
  spec.named_labels = labels;
  auto metrics = Evaluator(split, spec, &comm).Evaluate(model, 1);
  ASSERT_TRUE(metrics.ok()) << metrics.status().message();

  std::vector<int64_t> all(static_cast<size_t>(split.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  const Batch b = MakeBatch(split, all, 0, 32, Targets::kPerTokenScoring);
  torch::NoGradGuard no_grad;
  const auto predicted = model->forward(b.ids, b.pad).argmax(-1);
  const SpanTags table = SpanTags::FromLabels(labels);
  SpanCounts spans(table.types.size());
  int64_t words = 0, right = 0;
  for (int64_t r = 0; r < split.size(); ++r) {
    std::vector<int> gold, guess;
    const ExampleView v = split.Get(r);
    for (uint64_t t = 0; t < v.length; ++t) {
      if (v.labels[t] < 0 || v.labels[t] >= kLaterPiece) continue;
      gold.push_back(v.labels[t]);
      guess.push_back(static_cast<int>(predicted[r][static_cast<int64_t>(t)].item<int64_t>()));
      right += gold.back() == guess.back();
      ++words;
    }
    spans.Add(ExtractSpans(gold, table), ExtractSpans(guess, table));
  }
  EXPECT_EQ(metrics->languages[0].count + metrics->languages[1].count, words);
  EXPECT_DOUBLE_EQ(metrics->accuracy, static_cast<double>(right) / static_cast<double>(words));
  int64_t found = 0, gold = 0, correct = 0;
  for (size_t t = 0; t < table.types.size(); ++t) {
    found += spans.found[t];
    gold += spans.gold[t];
    correct += spans.correct[t];
  }
  ASSERT_GT(found, 0);
  EXPECT_NEAR(metrics->precision, static_cast<double>(correct) / static_cast<double>(found), 1e-9);
  EXPECT_NEAR(metrics->recall, static_cast<double>(correct) / static_cast<double>(gold), 1e-9);
  ASSERT_EQ(metrics->entities.size(), 2u);
  EXPECT_EQ(metrics->entities[0].type, "LOC");
  EXPECT_EQ(metrics->entities[0].support + metrics->entities[1].support, gold);
  // Training reads a later piece's tag; scoring ignores it.
  const Batch train = MakeBatch(split, all, 0, 32, Targets::kPerTokenTraining);
  EXPECT_GT((train.labels >= 0).sum().item<int64_t>(), (b.labels >= 0).sum().item<int64_t>());
  EXPECT_EQ((b.labels >= 0).sum().item<int64_t>(), words);
}

TEST(DataParallelStep, RefusesADeviceOrPrecisionThisBuildDoesNotComputeWith) {
  SoloCommunicator comm;
  TrainingParams params;
  Placement gpu;
  gpu.device = Device{DeviceType::kCuda, 1};
  DataParallelStep on_gpu(testing_util::TinyShape(50, 3, 1, 16, 8, 0.0), params, &comm, {}, gpu);
  Status s = on_gpu.Init();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("device cuda:1"), std::string::npos) << s.message();
  Placement bf16;
  bf16.precision = Precision::kBf16Mixed;
  DataParallelStep mixed(testing_util::TinyShape(50, 3, 1, 16, 8, 0.0), params, &comm, {}, bf16);
  s = mixed.Init();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("precision bf16-mixed"), std::string::npos) << s.message();
  DataParallelStep cpu(testing_util::TinyShape(50, 3, 1, 16, 8, 0.0), params, &comm);
  EXPECT_TRUE(cpu.Init().ok());
  EXPECT_TRUE(CheckSupported(Placement{}).ok());
}

}  // namespace
}  // namespace polysweep
