// Bad input is refused before anything starts: one clear message naming the
// key or FILE:LINE, exit code 2, and no journal or output directory left.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "command.h"
#include "tests/common/hf_zero_checkpoint.h"

namespace polysweep {
namespace {

using testing_util::Quote;
using testing_util::RunCommand;

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    data_ = dir_ + "/data.jsonl";
    std::ofstream(data_) << R"({"text": "Ein Spiel für zwei", "label": "games", "lang": "de"})" "\n"
                         << R"({"text": "A text editor", "label": "editors", "lang": "en"})" "\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Config(const std::string& extra_top, const std::string& space = "    lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}\n",
                     const std::string& data_file = "") {
    const std::string path = dir_ + "/bad.yaml";
    std::ofstream(path) << "name: bad\n"
                        << "output_dir: " << dir_ << "/run\n"
                        << "data:\n  files: [" << (data_file.empty() ? data_ : data_file) << "]\n"
                        << extra_top << "search:\n  space:\n" << space
                        << "budget: {max_trials: 2, max_steps: 10}\n";
    return path;
  }

  // Runs `polysweep sweep` (after `env`, "KEY=VALUE " words) and checks the refusal.
  void ExpectRefused(const std::string& config, const std::string& expected, const std::string& env = "") {
    auto r = RunCommand(env + std::string(POLYSWEEP_BIN) + " sweep " + Quote(config));
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << "message: " << r.err;
    size_t errors = 0;
    for (size_t at = r.err.find("error:"); at != std::string::npos; at = r.err.find("error:", at + 1)) ++errors;
    EXPECT_EQ(errors, 1u) << "expected one error line: " << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/run")) << "output directory left behind";
  }

  std::string dir_, data_;
};

TEST_F(BadInput, UnknownKeyIsNamedWithItsLine) {
  ExpectRefused(Config("model:\n  layers: 2\n  hiden: 64\n"), "bad.yaml:7: model.hiden: unknown key");
}

TEST_F(BadInput, WrongTypeIsNamedWithItsLine) {
  ExpectRefused(Config("trial:\n  ranks: two\n"), "bad.yaml:6: trial.ranks: expected a number, got \"two\"");
}

TEST_F(BadInput, EmptySearchSpace) {
  ExpectRefused(Config("", "    {}\n"), "search.space: empty search space");
}

TEST_F(BadInput, MissingDataFile) {
  ExpectRefused(Config("", "    lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}\n", dir_ + "/nope.jsonl"),
                "data.files[0]: no such file: " + dir_ + "/nope.jsonl");
}

TEST_F(BadInput, InvalidUtf8LineNamesFileAndLine) {
  std::ofstream(data_, std::ios::app) << "{\"text\": \"caf\xC3\x28\", \"label\": \"games\", \"lang\": \"fr\"}\n";
  ExpectRefused(Config(""), data_ + ":3: invalid UTF-8 at byte 14");
}

TEST_F(BadInput, LineWithoutLabelNamesFileAndLine) {
  std::ofstream(data_, std::ios::app) << R"({"text": "Un éditeur", "lang": "fr"})" "\n";
  ExpectRefused(Config(""), data_ + ":3: missing field \"label\"");
}

// Without mpirun every trial would fail at its launch, after the data was
// sharded and the journal written: the sweep is refused before either.
TEST_F(BadInput, MissingMpirunIsRefusedBeforeTheDataIsShardedOrATrialJournaled) {
  ExpectRefused(Config("trial: {launcher: mpirun}\n"),
                "bad.yaml: mpirun is not on PATH (trial.launcher: mpirun); install openmpi-bin, or give its path with "
                "--mpirun",
                "PATH=/nonexistent ");
}

TEST_F(BadInput, ValidateAcceptsAGoodConfigAndWritesNothing) {
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " validate " + Quote(Config("")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ok"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/run"));
}

TEST_F(BadInput, WatchingADirectoryWithoutAJournalIsAClearError) {
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " status --dir " + Quote(dir_));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no journal.db here"), std::string::npos) << r.err;
}

TEST_F(BadInput, ShardRefusesAnUnknownLanguageAndWritesNothing) {
  std::ofstream(data_, std::ios::app) << R"({"text": "Texte", "label": "games", "lang": "french"})" "\n";
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " shard " + Quote(Config("")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(data_ + ":3: unknown language code \"french\""), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/run"));
}

TEST_F(BadInput, ObjectiveOverALanguageNotInTheDataIsRefused) {
  // Enough German and English lines for every split; no French.
  const std::string data = dir_ + "/two-languages.jsonl";
  {
    std::ofstream out(data);
    for (int i = 0; i < 60; ++i) {
      out << R"({"text": "Ein Spiel Nummer )" << i << R"( für zwei", "label": "games", "lang": "de"})" "\n"
          << R"({"text": "A text editor number )" << i << R"(", "label": "editors", "lang": "en"})" "\n";
    }
  }
  ExpectRefused(Config("metric: {name: language_f1, over: fr}\n", "    lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}\n", data),
                "bad.yaml: metric.over: language \"fr\" is not in the data (de, en)");
}

TEST(ShippedConfigs, EveryConfigValidatesAndPreviews) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  // From a scratch directory holding the repo's data and, for the config
  // that fine-tunes from `polysweep pretrain`'s output (runs/pretrain/model),
  // a stand-in of that model directory: validate and preview read its
  // model.json and check its files exist; no config then depends on an
  // earlier run in the checkout.
  namespace fs = std::filesystem;
  const std::string cwd = testing_util::FreshDir("shipped-configs");
  // data/default is the checkout's; the data the task configs read
  // (data/pos, data/reviews) is extracted here by the scripts that make it,
  // as a user runs them, since a clean clone has none.
  fs::create_directories(cwd + "/data");
  fs::create_directory_symlink(std::string(POLYSWEEP_SOURCE_DIR) + "/data/default", cwd + "/data/default");
  for (const char* task : {"pos", "reviews"}) {
    auto made = RunCommand("cd " + Quote(cwd) + " && " + POLYSWEEP_SOURCE_DIR + "/scripts/make-" + task +
                           "-data --out data/" + task + " --max-per-language 60");
    ASSERT_EQ(made.exit_code, 0) << task << ": " << made.err;
  }
  const std::string model = cwd + "/runs/pretrain/model";
  fs::create_directories(model);
  std::ofstream(model + "/model.pt") << "stand-in";
  std::ofstream(model + "/tokenizer.model") << "stand-in";
  std::ofstream(model + "/model.json")
      << R"({"format": "polysweep-classifier", "version": 1, "labels": [], "languages": [], "weights": "model.pt",)"
      << R"( "tokenizer": "tokenizer.model", "source": {},)"
      << R"( "model": {"task": "masked_lm", "vocab": 8000, "layers": 2, "hidden": 128, "heads": 4, "ffn": 256,)"
      << R"( "max_length": 64}})";
  // configs/finetune-hf.yaml's checkpoint: a BERT of its depth and positions
  // (the config searches freeze_layers up to 4 and max_length 128), narrow.
  const std::string bert = cwd + "/models/bert-base-multilingual-cased";
  Status written = testing_util::WriteZeroHfCheckpoint(
      bert, R"({"model_type": "bert", "vocab_size": 6, "hidden_size": 8, "num_hidden_layers": 12,
                "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 512})",
      HfLayout{"bert.", false});
  ASSERT_TRUE(written.ok()) << written.message();
  std::ofstream(bert + "/vocab.txt") << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(POLYSWEEP_SOURCE_DIR) + "/configs")) {
    if (e.path().extension() != ".yaml") continue;
    ++n;
    const std::string in_repo = "cd " + Quote(cwd) + " && " + POLYSWEEP_BIN;
    auto v = RunCommand(in_repo + " validate " + Quote(e.path().string()));
    EXPECT_EQ(v.exit_code, 0) << e.path() << ": " << v.err;
    auto p = RunCommand(in_repo + " preview " + Quote(e.path().string()));
    EXPECT_EQ(p.exit_code, 0) << e.path() << ": " << p.err;
    EXPECT_NE(p.out.find("TRIAL"), std::string::npos) << p.out;
  }
  EXPECT_GE(n, 5);
  fs::remove_all(cwd);
}

TEST_F(BadInput, DataStatsWithoutShardsSaysWhatToRun) {
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " data stats " + Quote(Config("")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("run `polysweep shard CONFIG` first"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace polysweep

namespace polysweep {
namespace {

// `polysweep predict` on something that is not a model, or on lines that are
// not JSON objects with a text: one message naming the file or the line.
TEST_F(BadInput, PredictNamesTheMissingModelAndTheBadLine) {
  auto none = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(dir_ + "/nowhere") + " < /dev/null");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find(dir_ + "/nowhere/model.json: cannot open"), std::string::npos) << none.err;

  const std::string model = dir_ + "/model";
  std::filesystem::create_directories(model);
  std::ofstream(model + "/model.json") << R"({"format": "polysweep-classifier", "version": 1, "model": {"vocab": 10}})";
  auto partial = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(model) + " < /dev/null");
  EXPECT_EQ(partial.exit_code, 1);
  EXPECT_NE(partial.err.find(model + "/model.json: model.layers: missing or malformed"), std::string::npos)
      << partial.err;

  std::ofstream(model + "/model.json") << R"({"format": "polysweep-classifier", "version": 9})";
  auto newer = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(model) + " < /dev/null");
  EXPECT_NE(newer.err.find("version 9 is newer than this polysweep reads"), std::string::npos) << newer.err;
}

}  // namespace
}  // namespace polysweep

namespace polysweep {
namespace {

// Checkpoints without a journal are an earlier sweep's: a new sweep must not
// resume its trials from them, so it refuses until --overwrite removes them.
TEST_F(BadInput, CheckpointsOfAnEarlierSweepWithoutItsJournalAreRefused) {
  const std::string config = Config("");
  std::filesystem::create_directories(dir_ + "/run/checkpoints/trial-1/step-10");
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(config));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(dir_ + "/run/checkpoints holds checkpoints of an earlier sweep whose journal is gone"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/run/checkpoints/trial-1/step-10")) << "nothing is removed without --overwrite";
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/run/journal.db"));
}

}  // namespace
}  // namespace polysweep
