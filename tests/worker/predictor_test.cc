// An exported model directory loads into exactly the weights that were saved,
// and `Predictor` classifies text as that model does on the same tokens.
#include "worker/predictor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "tests/common/test_models.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

class PredictorTest : public ::testing::Test {
 protected:
  // A small tokenizer from real multilingual text, trained once.
  static void SetUpTestSuite() {
    shared_ = ::testing::TempDir() + "predictor_test_tokenizer-" + std::to_string(getpid());
    fs::remove_all(shared_);
    fs::create_directories(shared_);
    std::ifstream data(POLYSWEEP_DEFAULT_DATA);
    ASSERT_TRUE(data) << "run scripts/make-default-data first";
    std::ofstream sample(shared_ + "/sample.txt");
    std::string line;
    for (int i = 0; i < 2000 && std::getline(data, line); ++i) {
      const auto row = nlohmann::json::parse(line);
      texts_.push_back(row["text"].get<std::string>());
      sample << texts_.back() << "\n";
    }
    sample.close();
    ASSERT_TRUE(Tokenizer::Train("--input=" + shared_ + "/sample.txt --model_prefix=" + shared_ +
                                 "/tokenizer --vocab_size=300 --model_type=unigram --pad_id=3 "
                                 "--hard_vocab_limit=false --minloglevel=2")
                    .ok());
  }
  static void TearDownTestSuite() { fs::remove_all(shared_); }

  void SetUp() override {
    // Each test runs in its own process, in parallel with the others.
    dir_ = ::testing::TempDir() + "predictor_test-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
           std::to_string(getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy_file(shared_ + "/tokenizer.model", dir_ + "/tokenizer.model");
    auto tokenizer = Tokenizer::Load(dir_ + "/tokenizer.model");
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
    package_.vocab = (*tokenizer)->vocab_size();
    package_.layers = 2;
    package_.hidden = 32;
    package_.heads = 4;
    package_.ffn = 64;
    package_.max_length = 24;
    package_.labels = {"games", "editors", "science"};
    package_.languages = {"de", "en"};
    shape_ = testing_util::TinyShape(package_.vocab, 3, 2, 32, 24, 0.0);
    torch::manual_seed(11);
    saved_ = EncoderClassifier(shape_);
    torch::save(saved_, dir_ + "/model.pt");
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/model.json", ModelPackageToJson(package_)).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  static inline std::string shared_;
  static inline std::vector<std::string> texts_;
  std::string dir_;
  ModelPackage package_;
  ModelShape shape_;
  EncoderClassifier saved_{nullptr};
};

TEST_F(PredictorTest, ClassifiesAsTheSavedModelDoesOnTheSameTokens) {
  auto predictor = Predictor::Load(dir_);
  ASSERT_TRUE(predictor.ok()) << predictor.status().message();
  EXPECT_EQ((*predictor)->package().labels, package_.labels);
  auto tokenizer = Tokenizer::Load(dir_ + "/tokenizer.model");
  ASSERT_TRUE(tokenizer.ok());
  saved_->eval();
  torch::NoGradGuard no_grad;
  const std::vector<std::string> batch(texts_.begin(), texts_.begin() + 40);
  auto predictions = (*predictor)->Classify(batch);
  ASSERT_TRUE(predictions.ok()) << predictions.status().message();
  ASSERT_EQ(predictions->size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    std::vector<int> ids;
    ASSERT_TRUE((*tokenizer)->Encode(batch[i], 24, &ids).ok());
    auto id_tensor = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).unsqueeze(0);
    auto pad = torch::zeros_like(id_tensor, torch::kBool);
    auto probs = torch::softmax(saved_->forward(id_tensor, pad), 1)[0];
    const auto& p = (*predictions)[i];
    ASSERT_EQ(p.probs.size(), 3u);
    EXPECT_EQ(p.label, probs.argmax().item<int64_t>()) << batch[i];
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(p.probs[c], probs[c].item<float>(), 1e-5) << batch[i];
  }
}

TEST_F(PredictorTest, WeightsOfAnotherShapeAreAClearError) {
  package_.hidden = 64;
  package_.ffn = 128;
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/model.json", ModelPackageToJson(package_)).ok());
  auto predictor = Predictor::Load(dir_);
  ASSERT_FALSE(predictor.ok());
  EXPECT_NE(predictor.status().message().find(dir_ + "/model.pt: "), std::string::npos) << predictor.status().message();
  EXPECT_NE(predictor.status().message().find("saved with another architecture"), std::string::npos)
      << predictor.status().message();
}

TEST_F(PredictorTest, AMissingFileIsNamed) {
  fs::remove(dir_ + "/tokenizer.model");
  auto predictor = Predictor::Load(dir_);
  ASSERT_FALSE(predictor.ok());
  EXPECT_NE(predictor.status().message().find("names tokenizer.model, which is missing from " + dir_), std::string::npos)
      << predictor.status().message();
}

}  // namespace
}  // namespace polysweep
