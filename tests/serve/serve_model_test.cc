// The real `polysweep serve` with a real exported model (a small encoder and
// a SentencePiece tokenizer trained on the default data): it answers what
// `polysweep predict` answers on the same texts, and SIGTERM drains it with
// requests in flight, none dropped.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "common/model_package.h"
#include "tests/common/test_models.h"
#include "tests/integration/command.h"
#include "tokenizer/tokenizer.h"
#include "worker/model.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;
using testing_util::Quote;
using testing_util::RunCommand;

class ServeModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshDir("serve_model");
    std::ifstream data(POLYSWEEP_DEFAULT_DATA);
    ASSERT_TRUE(data) << "run scripts/make-default-data first";
    std::ofstream sample(dir_ + "/sample.txt"), lines(dir_ + "/lines.jsonl");
    std::string line;
    for (int i = 0; i < 1500 && std::getline(data, line); ++i) {
      const auto row = nlohmann::json::parse(line);
      texts_.push_back(row["text"].get<std::string>());
      sample << texts_.back() << "\n";
      if (i < 48) lines << nlohmann::json{{"text", texts_.back()}}.dump() << "\n";
    }
    sample.close();
    lines.close();
    model_ = dir_ + "/model";
    fs::create_directories(model_);
    ASSERT_TRUE(Tokenizer::Train("--input=" + dir_ + "/sample.txt --model_prefix=" + model_ +
                                 "/tokenizer --vocab_size=300 --model_type=unigram --pad_id=3 "
                                 "--hard_vocab_limit=false --minloglevel=2")
                    .ok());
    auto tokenizer = Tokenizer::Load(model_ + "/tokenizer.model");
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
    ModelPackage package;
    package.vocab = (*tokenizer)->vocab_size();
    package.layers = 2;
    package.hidden = 32;
    package.heads = 4;
    package.ffn = 64;
    package.max_length = 32;
    package.labels = {"games", "editors", "science"};
    package.languages = {"de", "en"};
    package.sweep = "serve-test";
    package.trial = 5;
    torch::manual_seed(5);
    EncoderClassifier model(testing_util::TinyShape(package.vocab, 3, 2, 32, 32, 0.0));
    torch::save(model, model_ + "/model.pt");
    ASSERT_TRUE(WriteFileAtomic(model_ + "/model.json", ModelPackageToJson(package)).ok());
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  // Starts `polysweep serve` on a free port and waits until /readyz says 200.
  void StartServer(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {POLYSWEEP_BIN, "serve", model_, "--port", "0", "--port-file", dir_ + "/port"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = testing_util::Spawn(args, dir_ + "/serve.log");
    ASSERT_GT(pid_, 0);
    for (int i = 0; i < 600 && port_ == 0; ++i) {
      const std::string text = testing_util::ReadText(dir_ + "/port");
      if (!text.empty()) port_ = std::stoi(text);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GT(port_, 0) << testing_util::ReadText(dir_ + "/serve.log");
    httplib::Client c("127.0.0.1", port_);
    int status = 0;
    for (int i = 0; i < 600 && status != 200; ++i) {
      auto res = c.Get("/readyz");
      status = res ? res->status : 0;
      if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(status, 200) << testing_util::ReadText(dir_ + "/serve.log");
  }

  nlohmann::json Predict(const std::vector<std::string>& texts) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    auto res = c.Post("/v1/predict", nlohmann::json{{"texts", texts}, {"probs", true}}.dump(), "application/json");
    if (!res) return nullptr;
    EXPECT_EQ(res->status, 200) << res->body;
    return nlohmann::json::parse(res->body, nullptr, false);
  }

  std::string dir_, model_;
  std::vector<std::string> texts_;
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST_F(ServeModelTest, AnswersWhatPredictAnswersOnTheSameModel) {
  StartServer({"--max-batch", "8"});
  auto predicted = RunCommand("(" + std::string(POLYSWEEP_BIN) + " predict " + Quote(model_) + " --probs < " +
                              Quote(dir_ + "/lines.jsonl") + ")");
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  std::istringstream out(predicted.out);
  std::vector<nlohmann::json> expected;
  for (std::string line; std::getline(out, line);) expected.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(expected.size(), 48u);
  // In requests of different sizes, so batches mix texts of several requests.
  size_t at = 0;
  for (size_t n : {1u, 7u, 16u, 24u}) {
    const std::vector<std::string> texts(texts_.begin() + static_cast<std::ptrdiff_t>(at),
                                         texts_.begin() + static_cast<std::ptrdiff_t>(at + n));
    const nlohmann::json reply = Predict(texts);
    ASSERT_EQ(reply["predictions"].size(), n) << reply;
    EXPECT_EQ(reply["model"]["sweep"], "serve-test");
    EXPECT_EQ(reply["model"]["trial"], 5);
    for (size_t i = 0; i < n; ++i) {
      const auto& want = expected[at + i];
      const auto& got = reply["predictions"][i];
      EXPECT_EQ(got["predicted"], want["predicted"]) << texts[i];
      EXPECT_NEAR(got["probability"].get<double>(), want["probability"].get<double>(), 1e-5) << texts[i];
      for (const auto& [label, p] : want["probs"].items()) {
        EXPECT_NEAR(got["probs"][label].get<double>(), p.get<double>(), 1e-5) << label;
      }
    }
    at += n;
  }
}

TEST_F(ServeModelTest, SigtermDrainsTheRequestsInFlight) {
  // A long batching wait holds every request in the queue when SIGTERM comes.
  // OpenBLAS with threads starts them before main(): the signal may be
  // delivered to one of those, and must still drain.
  const char* saved = std::getenv("OPENBLAS_NUM_THREADS");
  const std::string restore = saved ? saved : "";
  setenv("OPENBLAS_NUM_THREADS", "2", 1);
  StartServer({"--max-wait-ms", "1500", "--max-batch", "64"});
  if (restore.empty()) {
    unsetenv("OPENBLAS_NUM_THREADS");
  } else {
    setenv("OPENBLAS_NUM_THREADS", restore.c_str(), 1);
  }
  std::vector<std::future<nlohmann::json>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::async(std::launch::async, [this, i] {
      return Predict({texts_[static_cast<size_t>(i)], texts_[static_cast<size_t>(i + 10)]});
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  for (auto& c : clients) {
    const nlohmann::json reply = c.get();
    ASSERT_TRUE(reply.is_object()) << testing_util::ReadText(dir_ + "/serve.log");
    EXPECT_EQ(reply["predictions"].size(), 2u);
  }
  EXPECT_EQ(testing_util::WaitFor(pid_, 30), 0) << testing_util::ReadText(dir_ + "/serve.log");
  pid_ = -1;
  const std::string log = testing_util::ReadText(dir_ + "/serve.log");
  EXPECT_NE(log.find("SIGTERM: draining"), std::string::npos) << log;
  EXPECT_NE(log.find("drained; "), std::string::npos) << log;
}

// The same weights as a multi-label model (a sigmoid per label, threshold
// 0.3), then a regression model (one output): the server answers each kind
// as predict does; a token classifier is refused when it loads.
TEST_F(ServeModelTest, MultiLabelAndRegressionModelsAnswerAsPredictDoes) {
  auto package = LoadModelPackage(model_);
  ASSERT_TRUE(package.ok()) << package.status().message();
  auto compare = [&](const std::string& kind) {
    StartServer({});
    auto predicted = RunCommand("(" + std::string(POLYSWEEP_BIN) + " predict " + Quote(model_) + " < " +
                                Quote(dir_ + "/lines.jsonl") + ")");
    ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
    std::istringstream out(predicted.out);
    const std::vector<std::string> texts(texts_.begin(), texts_.begin() + 12);
    const nlohmann::json reply = Predict(texts);
    ASSERT_EQ(reply["predictions"].size(), 12u) << reply;
    int with_labels = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      std::string line;
      std::getline(out, line);
      const auto want = nlohmann::json::parse(line);
      const auto& got = reply["predictions"][i];
      if (kind == "regression") {
        ASSERT_TRUE(got["predicted"].is_number()) << got;
        EXPECT_NEAR(got["predicted"].get<double>(), want["predicted"].get<double>(), 1e-5) << texts[i];
        continue;
      }
      EXPECT_EQ(got["predicted"], want["predicted"]) << texts[i];
      EXPECT_EQ(got["probabilities"].size(), got["predicted"].size()) << got;
      with_labels += !got["predicted"].empty();
    }
    if (kind == "multi-label") EXPECT_GT(with_labels, 0);
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    port_ = 0;
    fs::remove(dir_ + "/port");
  };
  package->task = ModelPackage::kMultiLabel;
  package->threshold = 0.3;
  ASSERT_TRUE(WriteFileAtomic(model_ + "/model.json", ModelPackageToJson(*package)).ok());
  compare("multi-label");
  package->task = TaskKindName(TaskKind::kRegression);
  package->labels.clear();
  torch::manual_seed(6);
  EncoderClassifier regression(testing_util::TinyShape(package->vocab, 1, 2, 32, 32, 0.0));
  torch::save(regression, model_ + "/model.pt");
  ASSERT_TRUE(WriteFileAtomic(model_ + "/model.json", ModelPackageToJson(*package)).ok());
  compare("regression");
  package->task = ModelPackage::kTokenClassification;
  package->labels = {"O", "B-PER", "I-PER"};
  package->tag_scheme = TagScheme::kIob2;
  EncoderClassifier tagger_model(testing_util::TinyShape(package->vocab, 3, 2, 32, 32, 0.0));
  torch::save(tagger_model, model_ + "/model.pt");
  ASSERT_TRUE(WriteFileAtomic(model_ + "/model.json", ModelPackageToJson(*package)).ok());
  auto tagger = RunCommand(std::string(POLYSWEEP_BIN) + " serve " + Quote(model_) + " --port 0");
  EXPECT_NE(tagger.exit_code, 0);
  EXPECT_NE(tagger.err.find("a token_classification model tags words"), std::string::npos) << tagger.err;
}

TEST_F(ServeModelTest, HelpNeedsNoModelAndAMissingModelIsNamed) {
  auto help = RunCommand(std::string(POLYSWEEP_BIN) + " serve --help");
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("--max-wait-ms"), std::string::npos) << help.out;
  auto predict_help = RunCommand(std::string(POLYSWEEP_BIN) + " predict --help");
  EXPECT_EQ(predict_help.exit_code, 0) << predict_help.err;
  EXPECT_NE(predict_help.out.find("--pair-field"), std::string::npos) << predict_help.out;
  auto missing = RunCommand(std::string(POLYSWEEP_BIN) + " serve " + Quote(dir_ + "/nowhere") + " --port 0");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find(dir_ + "/nowhere"), std::string::npos) << missing.err;
  auto token = RunCommand(std::string(POLYSWEEP_BIN) + " serve " + Quote(model_) + " --bind 0.0.0.0 --port 0");
  EXPECT_EQ(token.exit_code, 1);
  EXPECT_NE(token.err.find("give --token-file"), std::string::npos) << token.err;
}

}  // namespace
}  // namespace polysweep
