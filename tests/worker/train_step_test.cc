// Layer-wise learning-rate decay in the data-parallel step
// (worker/train_step.h): each parameter trains at the scheduled rate times
// its layer's factor, and without decay the optimizer is the one group it
// always was.
#include "worker/train_step.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "tests/common/solo_communicator.h"
#include "tests/common/test_models.h"

namespace polysweep {
namespace {

TEST(LayerLrDecay, TheTopLayerAndHeadTrainAtLrAndEachLayerBelowAtDecayTimesTheOneAbove) {
  EXPECT_DOUBLE_EQ(LayerLrScale("head.weight", 3, 0.5), 1);
  EXPECT_DOUBLE_EQ(LayerLrScale("head.dense.bias", 3, 0.5), 1);
  EXPECT_DOUBLE_EQ(LayerLrScale("layers.2.qkv.weight", 3, 0.5), 1);
  EXPECT_DOUBLE_EQ(LayerLrScale("layers.1.ff1.bias", 3, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(LayerLrScale("layers.0.qkv_lora.a", 3, 0.5), 0.25);
  for (const char* embedding : {"tokens.weight", "positions.weight", "types.weight", "norm.bias"}) {
    EXPECT_DOUBLE_EQ(LayerLrScale(embedding, 3, 0.5), 0.125) << embedding;
  }
  EXPECT_DOUBLE_EQ(LayerLrScale("tokens.weight", 3, 1), 1);
}

TEST(LayerLrDecay, EachParametersGroupHasItsFactorOfTheStepsLearningRate) {
  testing_util::SoloCommunicator comm;
  const ModelShape shape = testing_util::TinyShape(40, 3, 3, 16, 8, 0.0);
  Batch batch;
  batch.ids = torch::randint(4, 40, {4, 6}, torch::kLong);
  batch.pad = torch::zeros({4, 6}, torch::kBool);
  batch.labels = torch::tensor({0, 1, 2, 1}, torch::kLong);

  TrainingParams params;
  params.batch_size = 4;
  params.layer_lr_decay = 0.5;
  DataParallelStep step(shape, params, &comm);
  ASSERT_TRUE(step.Init().ok());
  ASSERT_TRUE(step.Step(batch, 0.01).ok());
  std::map<const void*, std::string> names;
  for (const auto& item : step.model()->named_parameters()) names[item.value().unsafeGetTensorImpl()] = item.key();
  ASSERT_EQ(step.optimizer().param_groups().size(), 4u);  // head and layer 2, layer 1, layer 0, embeddings
  size_t seen = 0;
  for (auto& group : step.optimizer().param_groups()) {
    const double lr = static_cast<torch::optim::AdamWOptions&>(group.options()).lr();
    for (const auto& p : group.params()) {
      const std::string& name = names.at(p.unsafeGetTensorImpl());
      EXPECT_DOUBLE_EQ(lr, 0.01 * LayerLrScale(name, 3, 0.5)) << name;
      ++seen;
    }
  }
  EXPECT_EQ(seen, step.model()->parameters().size());

  params.layer_lr_decay = 1;
  DataParallelStep plain(shape, params, &comm);
  ASSERT_EQ(plain.optimizer().param_groups().size(), 1u);
}

}  // namespace
}  // namespace polysweep
