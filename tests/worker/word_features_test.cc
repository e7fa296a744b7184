// Word features in the worker (model.word_features): the batch tensor, the
// embedding the model adds (nothing for "no feature"), a model that reads
// them refusing a batch without, word dropout, and what they are for: a tagger that tags
// words it never saw by their endings, which pieces alone cannot.
#include "common/word_features.h"

#include <gtest/gtest.h>

#include <random>

#include "common/tagged.h"
#include "tests/common/test_models.h"
#include "tokenizer/words.h"
#include "worker/batching.h"
#include "worker/dataset.h"
#include "worker/heads.h"
#include "worker/model.h"

namespace polysweep {
namespace {

ModelShape TaggerShape(int vocab, int classes, int word_features) {
  ModelShape shape = testing_util::TinyShape(vocab, classes, 1, 32, 16, 0.0);
  shape.task = TaskKind::kTokenClassification;
  shape.word_features = word_features;
  return shape;
}

TEST(WordFeatureBatch, CarriesEachPiecesHashesAndZerosElsewhere) {
  TokenizedSplit split;
  split.AddTagged({2, 5, 6, 3}, {kUntaggedPiece, 0, 1, kUntaggedPiece}, 0, PieceWordFeatures({"ab", "cd"}, {-1, 0, 1, -1}));
  split.AddTagged({2, 7, 3}, {kUntaggedPiece, 1, kUntaggedPiece}, 0, PieceWordFeatures({"Ef"}, {-1, 0, -1}));
  const Batch b = MakeBatch(split, {0, 1}, 0, 16, Targets::kPerTokenTraining);
  ASSERT_TRUE(b.features.defined());
  ASSERT_EQ(b.features.sizes(), (torch::IntArrayRef{2, 4, kWordFeatures}));
  const WordFeatureHashes ef = HashWordFeatures("Ef");
  const auto ef_context = HashContextFeatures({"Ef"}, 0);
  for (int k = 0; k < kWordFeatures; ++k) {
    const uint32_t want = k < kOwnWordFeatures ? ef[static_cast<size_t>(k)]
                                               : ef_context[static_cast<size_t>(k - kOwnWordFeatures)];
    EXPECT_EQ(b.features[1][1][k].item<int64_t>(), static_cast<int64_t>(want));
    EXPECT_EQ(b.features[1][3][k].item<int64_t>(), 0) << "padding";
    EXPECT_EQ(b.features[0][0][k].item<int64_t>(), 0) << "[CLS]";
  }
  // Examples without features: no tensor.
  TokenizedSplit plain;
  plain.AddTagged({2, 5, 3}, {kUntaggedPiece, 0, kUntaggedPiece}, 0);
  EXPECT_FALSE(MakeBatch(plain, {0}, 0, 16, Targets::kPerTokenTraining).features.defined());
}

TEST(WordFeatureModel, AddsTheFeaturesOfAWordAndNothingForNone) {
  torch::manual_seed(1);
  EncoderClassifier model(TaggerShape(20, 3, 64));
  model->eval();
  torch::NoGradGuard no_grad;
  const auto ids = torch::tensor({{2, 5, 3}}, torch::kLong);
  const auto pad = torch::zeros({1, 3}, torch::kBool);
  const auto none = torch::zeros({1, 3, kWordFeatures}, torch::kLong);
  auto some = none.clone();
  some[0][1] = torch::tensor(std::vector<int64_t>(kWordFeatures, 12345));
  const auto a = model->forward(ids, pad, {}, none), b = model->forward(ids, pad, {}, some);
  EXPECT_FALSE(torch::allclose(a, b)) << "a word's features move its logits";
  // kNoFeature lands in the zero row: the same as the model's piece-only logits.
  EncoderClassifier plain(TaggerShape(20, 3, 0));
  plain->eval();
  for (const auto& p : plain->named_parameters()) p.value().copy_(model->named_parameters()[p.key()]);
  EXPECT_TRUE(torch::allclose(a, plain->forward(ids, pad), 1e-5, 1e-6));
  EXPECT_THROW(model->forward(ids, pad), c10::Error) << "a model that reads word features needs them";
}

// A model exported before the context features (model.json without
// word_feature_width: the word's own kOwnWordFeatures) reads only those of
// today's batches, so it predicts as it did; a batch with fewer than a model
// reads is refused.
TEST(WordFeatureModel, AModelOfTheOwnFeaturesReadsOnlyThoseOfEachPiece) {
  ModelShape shape = TaggerShape(20, 3, 64);
  shape.word_feature_width = kOwnWordFeatures;
  torch::manual_seed(3);
  EncoderClassifier model(shape);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto ids = torch::tensor({{2, 5, 3}}, torch::kLong);
  const auto pad = torch::zeros({1, 3}, torch::kBool);
  const auto features = torch::randint(1, 1 << 30, {1, 3, kWordFeatures}, torch::kLong);
  auto other_context = features.clone();
  other_context.narrow(2, kOwnWordFeatures, kContextFeatures).add_(7);
  EXPECT_TRUE(torch::equal(model->forward(ids, pad, {}, features), model->forward(ids, pad, {}, other_context)));
  EXPECT_TRUE(torch::equal(model->forward(ids, pad, {}, features),
                           model->forward(ids, pad, {}, features.narrow(2, 0, kOwnWordFeatures))));
  EncoderClassifier today(TaggerShape(20, 3, 64));
  today->eval();
  EXPECT_FALSE(torch::allclose(today->forward(ids, pad, {}, features), today->forward(ids, pad, {}, other_context)));
  EXPECT_THROW(today->forward(ids, pad, {}, features.narrow(2, 0, kOwnWordFeatures)), c10::Error);
}

TEST(WordFeatureModel, WordDropoutLeavesOutTheWholeWordFeatureInTrainingOnly) {
  ModelShape shape = TaggerShape(20, 3, 64);
  shape.word_dropout = 0.999999;  // as good as always
  torch::manual_seed(2);
  EncoderClassifier model(shape);
  torch::NoGradGuard no_grad;
  const auto ids = torch::tensor({{2, 5, 6, 3}}, torch::kLong);
  const auto pad = torch::zeros({1, 4}, torch::kBool);
  const auto features = torch::randint(1, 1 << 30, {1, 4, kWordFeatures}, torch::kLong);
  auto without_word = features.clone();
  without_word.select(2, 0).zero_();
  model->train();  // the model's dropout is 0: only the word dropout draws
  EXPECT_TRUE(torch::allclose(model->forward(ids, pad, {}, features), model->forward(ids, pad, {}, without_word)));
  model->eval();
  EXPECT_FALSE(torch::allclose(model->forward(ids, pad, {}, features), model->forward(ids, pad, {}, without_word)));
}

// Sentences of made-up words whose tag is their ending (-ing 0, -ness 1,
// -ly 2, -ed 3): each word its own piece id, so a test word's piece (the
// unknown id) says nothing, and only its features can tell its tag.
struct MadeUp {
  TokenizedSplit split;
  std::vector<int64_t> indices;
};
MadeUp MakeSentences(int n, bool unseen, uint64_t seed) {
  static const char* kEndings[] = {"ing", "ness", "ly", "ed"};
  std::mt19937_64 rng(seed);
  MadeUp out;
  for (int s = 0; s < n; ++s) {
    std::vector<std::string> words;
    std::vector<int32_t> ids = {2}, tags = {kUntaggedPiece};
    std::vector<int> piece_word = {kNoWord};
    for (int w = 0; w < 6; ++w) {
      const int tag = static_cast<int>(rng() % 4);
      std::string stem;
      for (int c = 0; c < 4; ++c) stem += static_cast<char>('a' + rng() % 26);
      words.push_back(stem + kEndings[tag]);
      ids.push_back(unseen ? 1 : 10 + static_cast<int32_t>(rng() % 180));
      tags.push_back(tag);
      piece_word.push_back(w);
    }
    ids.push_back(3);
    tags.push_back(kUntaggedPiece);
    piece_word.push_back(kNoWord);
    out.split.AddTagged(ids, tags, 0, PieceWordFeatures(words, piece_word));
    out.indices.push_back(s);
  }
  return out;
}

double TrainAndTag(int word_features) {
  torch::manual_seed(7);
  EncoderClassifier model(TaggerShape(200, 4, word_features));
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(3e-3));
  const MadeUp train = MakeSentences(256, false, 1);
  for (int step = 0; step < 120; ++step) {
    std::vector<int64_t> idx;
    for (int k = 0; k < 16; ++k) idx.push_back((step * 16 + k) % 256);
    const Batch b = MakeBatch(train.split, idx, 0, 16, Targets::kPerTokenTraining);
    auto scored = model->ForwardScored(b.ids, b.pad, b.labels, {}, word_features > 0 ? b.features : torch::Tensor());
    opt.zero_grad();
    (HeadLoss(scored.logits, scored.targets).sum / static_cast<double>(scored.targets.size(0))).backward();
    opt.step();
  }
  model->eval();
  torch::NoGradGuard no_grad;
  const MadeUp test = MakeSentences(64, true, 2);
  const Batch b = MakeBatch(test.split, test.indices, 0, 16, Targets::kPerTokenScoring);
  auto scored = model->ForwardScored(b.ids, b.pad, b.labels, {}, word_features > 0 ? b.features : torch::Tensor());
  return scored.logits.argmax(1).eq(scored.targets).to(torch::kDouble).mean().item<double>();
}

TEST(WordFeatureModel, TagsWordsItNeverSawByTheirEndings) {
  const double with = TrainAndTag(4096), without = TrainAndTag(0);
  EXPECT_GT(with, 0.95) << "every test word is new; its ending gives its tag";
  EXPECT_LT(without, 0.5) << "pieces alone: an unknown word's tag is a guess among 4";
}

}  // namespace
}  // namespace polysweep
