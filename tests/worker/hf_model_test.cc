// Tests of Hugging Face encoder checkpoints as polysweep models
// (worker/hf_model.h): for a tiny checkpoint of each family, built by
// tests/worker/hf_fixture.py with Debian's PyTorch, polysweep's encoder must
// compute the hidden states and classifier logits that a reference forward
// pass written from the published equations computes, within 1e-5; a
// checkpoint with a tensor missing or of the wrong shape is refused naming
// the file and the tensor, and leaves the model as it was.
#include "worker/hf_model.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace polysweep {
namespace {

namespace fs = std::filesystem;

class HfModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "hf_model_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Builds the fixture; `flags` go to hf_fixture.py.
  std::string Fixture(const std::string& family, const std::string& flags = "") {
    const std::string out = dir_ + "/" + family + (flags.empty() ? "" : "-x");
    const std::string command = "/usr/bin/python3 " POLYSWEEP_SOURCE_DIR "/tests/worker/hf_fixture.py " + out + " " +
                                family + " " + flags;
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return out;
  }

  static torch::Tensor Reference(const SafetensorsFile& file, const std::string& name) {
    const SafeTensor& t = file.tensors().at(name);
    auto dtype = t.dtype == SafeDType::kI64 ? torch::kLong : torch::kFloat32;
    return torch::from_blob(const_cast<uint8_t*>(t.data), t.shape, torch::TensorOptions().dtype(dtype)).clone();
  }

  // Loads the checkpoint in `dir`, runs the reference batch through it and
  // compares hidden states and logits with the reference's.
  void ExpectReferenceOutputs(const std::string& dir, HfFamily family, Pooling pooling) {
    auto config = ReadHfModelConfig(dir);
    ASSERT_TRUE(config.ok()) << config.status().message();
    ASSERT_EQ(config->family, family);
    auto checkpoint = SafetensorsCheckpoint::Open(dir);
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().message();
    auto layout = FindHfLayout(*config, *checkpoint);
    ASSERT_TRUE(layout.ok()) << layout.status().message();
    const ModelShape shape = HfModelShape(*config, *layout, TaskKind::kSequenceClassification, 3, -1);
    EXPECT_EQ(shape.style.pooling, pooling);
    EncoderClassifier model(shape);
    auto loaded = LoadHfWeights(model, *config, *layout, *checkpoint);
    ASSERT_TRUE(loaded.ok()) << loaded.message();
    model->eval();

    auto reference = SafetensorsFile::Open(dir + "/reference.safetensors");
    ASSERT_TRUE(reference.ok()) << reference.status().message();
    const auto ids = Reference(**reference, "input_ids");
    const auto pad = ids == config->pad_token_id;
    const auto types = Reference(**reference, "token_type_ids");  // text pairs' second texts, where BERT's
    torch::NoGradGuard no_grad;
    const auto hidden = model->Encode(ids, pad, types);
    const auto expected = Reference(**reference, "hidden");
    ASSERT_EQ(hidden.sizes(), expected.sizes());
    EXPECT_LT((hidden - expected).abs().max().item<double>(), 1e-5) << HfFamilyName(family) << " hidden states";

    // The head's fresh weights replaced with the reference's: the logits
    // then check the family's pooling end to end.
    auto params = model->named_parameters();
    for (const char* name : {"head.weight", "head.bias", "head.dense.weight", "head.dense.bias"}) {
      ASSERT_NE(params.find(name), nullptr) << name;
      if (std::string(name).rfind("head.dense", 0) == 0 && pooling == Pooling::kBertPooler) {
        EXPECT_TRUE(params[name].equal(Reference(**reference, name))) << name << " is the checkpoint's pooler";
      }
      params[name].copy_(Reference(**reference, name));
    }
    const auto logits = model->forward(ids, pad, types);
    EXPECT_LT((logits - Reference(**reference, "logits")).abs().max().item<double>(), 1e-5)
        << HfFamilyName(family) << " logits";
  }

  std::string dir_;
};

TEST_F(HfModelTest, BertComputesWhatTheReferenceComputesThroughItsPooler) {
  ExpectReferenceOutputs(Fixture("bert"), HfFamily::kBert, Pooling::kBertPooler);
}

TEST_F(HfModelTest, BertWithoutAPoolerClassifiesAsRobertaDoes) {
  ExpectReferenceOutputs(Fixture("bert", "--no-pooler"), HfFamily::kBert, Pooling::kRobertaHead);
}

TEST_F(HfModelTest, DistilBertComputesWhatTheReferenceComputes) {
  ExpectReferenceOutputs(Fixture("distilbert"), HfFamily::kDistilBert, Pooling::kDistilBertHead);
}

TEST_F(HfModelTest, RobertaAndXlmRobertaCountPositionsFromThePaddingIndex) {
  ExpectReferenceOutputs(Fixture("roberta"), HfFamily::kRoberta, Pooling::kRobertaHead);
  ExpectReferenceOutputs(Fixture("xlm-roberta"), HfFamily::kXlmRoberta, Pooling::kRobertaHead);
}

TEST_F(HfModelTest, HalfPrecisionAndShardedCheckpointsLoadAsFloat) {
  ExpectReferenceOutputs(Fixture("xlm-roberta", "--dtype bf16 --sharded"), HfFamily::kXlmRoberta, Pooling::kRobertaHead);
  ExpectReferenceOutputs(Fixture("bert", "--dtype f16"), HfFamily::kBert, Pooling::kBertPooler);
}

// Copies the checkpoint in `from` to `to` with `edit` applied to its tensors.
void Rewrite(const std::string& from, const std::string& to,
             const std::function<void(std::vector<SafeTensorData>*)>& edit) {
  fs::create_directories(to);
  fs::copy_file(from + "/config.json", to + "/config.json");
  auto file = SafetensorsFile::Open(from + "/model.safetensors");
  ASSERT_TRUE(file.ok()) << file.status().message();
  std::vector<SafeTensorData> tensors;
  for (const auto& [name, t] : (*file)->tensors()) {
    tensors.push_back({name, t.dtype, t.shape, std::string(reinterpret_cast<const char*>(t.data), t.bytes)});
  }
  edit(&tensors);
  ASSERT_TRUE(WriteSafetensors(to + "/model.safetensors", tensors).ok());
}

TEST_F(HfModelTest, AMissingOrMisshapenTensorIsRefusedNamingFileAndTensorAndChangesNothing) {
  const std::string good = Fixture("bert");
  const std::string value = "bert.encoder.layer.1.attention.self.value.weight";
  Rewrite(good, dir_ + "/missing", [&](std::vector<SafeTensorData>* t) {
    t->erase(std::remove_if(t->begin(), t->end(), [&](const SafeTensorData& d) { return d.name == value; }), t->end());
  });
  Rewrite(good, dir_ + "/misshapen", [&](std::vector<SafeTensorData>* t) {
    for (auto& d : *t) {
      if (d.name == "bert.encoder.layer.0.intermediate.dense.weight") {
        d.shape = {d.shape[1], d.shape[0]};  // transposed: same bytes, the wrong shape
      }
    }
  });
  for (const auto& [dir, expected] :
       {std::pair{dir_ + "/missing", dir_ + "/missing/model.safetensors: tensor " + value + " is missing (polysweep's "
                                         "layers.1.qkv.weight)"},
        std::pair{dir_ + "/misshapen", dir_ + "/misshapen/model.safetensors: tensor bert.encoder.layer.0.intermediate."
                                           "dense.weight has shape [32, 64], config.json says [64, 32]"}}) {
    auto config = ReadHfModelConfig(dir);
    ASSERT_TRUE(config.ok());
    auto checkpoint = SafetensorsCheckpoint::Open(dir);
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().message();
    auto layout = FindHfLayout(*config, *checkpoint);
    ASSERT_TRUE(layout.ok());
    EncoderClassifier model(HfModelShape(*config, *layout, TaskKind::kSequenceClassification, 3, -1));
    const auto before = model->named_parameters()["tokens.weight"].clone();
    auto loaded = LoadHfWeights(model, *config, *layout, *checkpoint);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.message(), expected);
    EXPECT_TRUE(model->named_parameters()["tokens.weight"].equal(before)) << "nothing is copied before all is checked";
  }
}

TEST_F(HfModelTest, ACheckpointOfAnotherFamilyIsNotTakenForThisOne) {
  const std::string bert = Fixture("bert");
  const std::string distil = Fixture("distilbert");
  fs::copy_file(distil + "/config.json", bert + "/config.json", fs::copy_options::overwrite_existing);
  auto config = ReadHfModelConfig(bert);
  ASSERT_TRUE(config.ok());
  auto checkpoint = SafetensorsCheckpoint::Open(bert);
  ASSERT_TRUE(checkpoint.ok());
  // BERT's word embeddings are where DistilBERT's would be, but its layers are not.
  auto layout = FindHfLayout(*config, *checkpoint);
  ASSERT_TRUE(layout.ok());
  EncoderClassifier model(HfModelShape(*config, *layout, TaskKind::kSequenceClassification, 3, -1));
  auto loaded = LoadHfWeights(model, *config, *layout, *checkpoint);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.message().find("tensor bert.transformer.layer.0.attention.q_lin.weight is missing"),
            std::string::npos)
      << loaded.message();
}

}  // namespace
}  // namespace polysweep
