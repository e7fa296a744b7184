// model.init: an encoder saved by polysweep (a model directory) or exported
// as TorchScript with PyTorch's nn.TransformerEncoder names loads exactly;
// the head starts fresh; mismatches are named.
#include "worker/init_weights.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <torch/script.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "common/model_package.h"
#include "tests/common/test_models.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

class InitWeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Each test runs in its own process, in parallel with the others.
    dir_ = ::testing::TempDir() + "init_weights_test-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
           std::to_string(getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A model directory holding `model` (classes 3) as a sweep exports it, or
  // as `polysweep pretrain` does (masked_lm: no labels).
  std::string WritePackage(EncoderClassifier& model, const ModelShape& shape) {
    const std::string dir = dir_ + "/package";
    fs::create_directories(dir);
    torch::save(model, dir + "/model.pt");
    std::ofstream(dir + "/tokenizer.model") << "not read here";
    ModelPackage p;
    p.vocab = shape.vocab;
    p.layers = shape.layers;
    p.hidden = shape.hidden;
    p.heads = shape.heads;
    p.ffn = shape.ffn;
    p.max_length = shape.max_length;
    if (shape.task == TaskKind::kMaskedLm) {
      p.task = ModelPackage::kMaskedLm;
    } else {
      p.labels = {"a", "b", "c"};
    }
    EXPECT_TRUE(WriteFileAtomic(dir + "/model.json", ModelPackageToJson(p)).ok());
    return dir;
  }

  std::string dir_;
};

TEST_F(InitWeightsTest, AModelDirectoryLoadsTheEncoderExactlyAndLeavesTheHeadFresh) {
  ModelShape saved_shape = testing_util::TinyShape(120, 3, 2, 32, 24, 0.1);
  torch::manual_seed(1);
  EncoderClassifier saved(saved_shape);
  const std::string dir = WritePackage(saved, saved_shape);
  ModelShape shape = saved_shape;
  shape.classes = 5;       // another task's head
  shape.max_length = 16;   // shorter sequences: the first positions
  torch::manual_seed(2);
  EncoderClassifier model(shape);
  const torch::Tensor head_before = model->named_parameters()["head.weight"].clone();
  auto loaded = LoadEncoderWeights(model, dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_NE(loaded->find("tensors from model directory " + dir), std::string::npos) << *loaded;
  auto from = saved->named_parameters();
  int compared = 0;
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (name.rfind("head.", 0) == 0) continue;
    torch::Tensor expected = from[name];
    if (name == "positions.weight") expected = expected.narrow(0, 0, 16);
    EXPECT_TRUE(torch::equal(item.value(), expected)) << name;
    ++compared;
  }
  EXPECT_EQ(compared, 4 + 2 * 12);  // tokens, positions, norm (2); 12 per layer
  EXPECT_TRUE(torch::equal(model->named_parameters()["head.weight"], head_before)) << "the head must start fresh";
}

// The pretrain -> fine-tune chain: a masked-language model trained a few
// steps and saved as `polysweep pretrain` exports it initialises a
// classifier's encoder bit for bit; its vocabulary head is not taken.
TEST_F(InitWeightsTest, APretrainedMaskedLmEncoderLoadsExactlyIntoAClassifier) {
  ModelShape pretrain = testing_util::TinyShape(120, 0, 2, 32, 24, 0.0);
  pretrain.task = TaskKind::kMaskedLm;
  torch::manual_seed(3);
  EncoderClassifier saved(pretrain);
  // Train it away from its initialisation: predict each token from itself masked.
  torch::optim::AdamW opt(saved->parameters(), torch::optim::AdamWOptions(1e-2));
  auto ids = torch::randint(4, 120, {8, 12}, torch::kLong);
  auto pad = torch::zeros({8, 12}, torch::kBool);
  for (int s = 0; s < 3; ++s) {
    opt.zero_grad();
    LossSum loss = HeadLoss(saved->forward(ids.masked_fill(ids.remainder(3) == 0, 3), pad), ids);
    (loss.sum / static_cast<double>(loss.count)).backward();
    opt.step();
  }
  EXPECT_EQ(saved->named_parameters()["head.decoder.weight"].size(0), 120) << "the head predicts the vocabulary";
  const std::string dir = WritePackage(saved, pretrain);

  ModelShape classifier = pretrain;
  classifier.task = TaskKind::kSequenceClassification;
  classifier.classes = 4;
  torch::manual_seed(4);
  EncoderClassifier model(classifier);
  const torch::Tensor head_before = model->named_parameters()["head.weight"].clone();
  auto loaded = LoadEncoderWeights(model, dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto from = saved->named_parameters();
  int compared = 0;
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind("head.", 0) == 0) continue;
    EXPECT_TRUE(torch::equal(item.value(), from[item.key()])) << item.key();
    ++compared;
  }
  EXPECT_EQ(compared, 4 + 2 * 12);
  EXPECT_TRUE(torch::equal(model->named_parameters()["head.weight"], head_before)) << "the head must start fresh";
  // And the two encoders compute the same hidden states.
  saved->eval();
  model->eval();
  EXPECT_TRUE(torch::equal(saved->Encode(ids, pad), model->Encode(ids, pad)));
}

// A TorchScript module laid out as PyTorch's reference classifier
// (bench/ddp_peer.py: nn.TransformerEncoder under `encoder`).
torch::jit::Module PyTorchLayout(const ModelShape& s, EncoderClassifier& like) {
  auto p = like->named_parameters();
  auto leaf = [](const std::string& type, std::vector<std::pair<std::string, torch::Tensor>> params) {
    torch::jit::Module m(type);
    for (auto& [name, t] : params) m.register_parameter(name, t.clone(), false);
    return m;
  };
  torch::jit::Module root("__torch__.Classifier");
  root.register_module("tokens", leaf("__torch__.Tokens", {{"weight", p["tokens.weight"]}}));
  root.register_module("positions", leaf("__torch__.Positions", {{"weight", p["positions.weight"]}}));
  root.register_module("norm", leaf("__torch__.Norm", {{"weight", p["norm.weight"]}, {"bias", p["norm.bias"]}}));
  torch::jit::Module layers("__torch__.Layers");
  for (int l = 0; l < s.layers; ++l) {
    const std::string ours = "layers." + std::to_string(l) + ".";
    torch::jit::Module layer("__torch__.Layer" + std::to_string(l));
    torch::jit::Module attn = leaf("__torch__.Attn" + std::to_string(l),
                                   {{"in_proj_weight", p[ours + "qkv.weight"]}, {"in_proj_bias", p[ours + "qkv.bias"]}});
    attn.register_module("out_proj", leaf("__torch__.Out" + std::to_string(l),
                                          {{"weight", p[ours + "out.weight"]}, {"bias", p[ours + "out.bias"]}}));
    layer.register_module("self_attn", attn);
    for (auto [theirs, mine] : {std::pair{"linear1", "ff1"}, std::pair{"linear2", "ff2"}, std::pair{"norm1", "norm1"},
                                std::pair{"norm2", "norm2"}}) {
      layer.register_module(theirs, leaf("__torch__." + std::string(theirs) + std::to_string(l),
                                         {{"weight", p[ours + mine + ".weight"]}, {"bias", p[ours + mine + ".bias"]}}));
    }
    layers.register_module(std::to_string(l), layer);
  }
  torch::jit::Module encoder("__torch__.Encoder");
  encoder.register_module("layers", layers);
  root.register_module("encoder", encoder);
  return root;
}

TEST_F(InitWeightsTest, ATorchScriptModelWithPyTorchNamesLoads) {
  ModelShape shape = testing_util::TinyShape(120, 3, 2, 32, 24, 0.1);
  torch::manual_seed(3);
  EncoderClassifier source(shape);
  const std::string path = dir_ + "/exported.pt";
  PyTorchLayout(shape, source).save(path);
  torch::manual_seed(4);
  EncoderClassifier model(shape);
  auto loaded = LoadEncoderWeights(model, path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_NE(loaded->find("TorchScript " + path), std::string::npos);
  auto from = source->named_parameters();
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind("head.", 0) == 0) continue;
    EXPECT_TRUE(torch::equal(item.value(), from[item.key()])) << item.key();
  }
}

TEST_F(InitWeightsTest, MismatchesAndMissingTensorsAreNamed) {
  ModelShape shape = testing_util::TinyShape(120, 3, 2, 32, 24, 0.1);
  EncoderClassifier source(shape);
  const std::string dir = WritePackage(source, shape);
  ModelShape other = shape;
  other.vocab = 200;  // another tokenizer
  EncoderClassifier model(other);
  auto wrong = LoadEncoderWeights(model, dir);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("tokens.weight has shape [120, 32], the configured model [200, 32]"),
            std::string::npos)
      << wrong.status().message();

  ModelShape deeper = shape;
  deeper.layers = 3;
  torch::jit::Module shallow = PyTorchLayout(shape, source);
  shallow.save(dir_ + "/shallow.pt");
  EncoderClassifier three(deeper);
  auto missing = LoadEncoderWeights(three, dir_ + "/shallow.pt");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("lacks layers.2.qkv.weight"), std::string::npos) << missing.status().message();

  std::ofstream(dir_ + "/junk.pt") << "junk";
  auto junk = LoadEncoderWeights(model, dir_ + "/junk.pt");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("not a TorchScript file"), std::string::npos) << junk.status().message();
}

}  // namespace
}  // namespace polysweep
