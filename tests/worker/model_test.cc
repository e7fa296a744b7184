#include <gtest/gtest.h>

#include <random>

#include "worker/comm/communicator.h"
#include "worker/dataset.h"
#include "tests/common/test_models.h"
#include "worker/train_step.h"

namespace polysweep {
namespace {

using testing_util::SyntheticSplit;

int64_t Length(const TokenizedSplit& s, int64_t i) { return static_cast<int64_t>(s.Get(i).length); }

TEST(MakeBatch, PadsToTheLongestExampleOnly) {
  TokenizedSplit s = SyntheticSplit(10, 50, 3, 12, 1);
  std::vector<int64_t> idx = {0, 3, 5};
  Batch b = MakeBatch(s, idx, 3, 64);
  int64_t longest = 0;
  for (int64_t i : idx) longest = std::max(longest, Length(s, i));
  EXPECT_EQ(b.ids.size(1), longest);
  EXPECT_EQ(b.pad.sum().item<int64_t>(), 3 * longest - (Length(s, 0) + Length(s, 3) + Length(s, 5)));
  EXPECT_EQ(b.labels[1].item<int64_t>(), s.labels[3]);
  // max_length truncates.
  Batch cut = MakeBatch(s, idx, 3, 2);
  EXPECT_LE(cut.ids.size(1), 2);
}

TEST(MakeBatch, TextPairsGetTokenTypesFromTheirSecondTextOn) {
  TokenizedSplit s;
  s.Add({2, 10, 11, 3, 12, 3}, 0, 0, 4);  // [CLS] a a [SEP] b [SEP]
  s.Add({2, 10, 3}, 1, 0);                // a single text among pairs: all type 0
  s.Add({2, 10, 3, 12, 13, 14, 3}, 1, 0, 3);
  Batch b = MakeBatch(s, {0, 1, 2}, 0, 5);  // the third cut to 5 tokens
  ASSERT_TRUE(b.types.defined());
  EXPECT_TRUE(torch::equal(b.types, torch::tensor({{0, 0, 0, 0, 1}, {0, 0, 0, 0, 0}, {0, 0, 0, 1, 1}}, torch::kLong)))
      << b.types;
  // No pair in the batch: no types tensor (the model reads type 0).
  EXPECT_FALSE(MakeBatch(s, {1}, 0, 8).types.defined());
}

TEST(EncoderClassifier, PaddingDoesNotChangeTheLogits) {
  ModelShape shape = testing_util::TinyShape(60, 4, 2, 32, 32, 0.0);
  torch::manual_seed(0);
  EncoderClassifier model(shape);
  model->eval();
  torch::NoGradGuard no_grad;
  auto ids = torch::tensor({{5, 6, 7}}, torch::kLong);
  auto no_pad = torch::zeros({1, 3}, torch::kBool);
  auto short_logits = model->forward(ids, no_pad);
  auto padded = torch::tensor({{5, 6, 7, 3, 3, 3}}, torch::kLong);
  auto pad = torch::tensor({{false, false, false, true, true, true}});
  auto long_logits = model->forward(padded, pad);
  EXPECT_EQ(short_logits.sizes(), (std::vector<int64_t>{1, 4}));
  EXPECT_TRUE(torch::allclose(short_logits, long_logits, 1e-5, 1e-6))
      << short_logits << "\n" << long_logits;
}

}  // namespace
}  // namespace polysweep
