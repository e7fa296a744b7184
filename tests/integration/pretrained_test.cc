// Fine-tuning a Hugging Face checkpoint end to end: tiny checkpoints in the
// Hugging Face layout (tests/worker/hf_fixture.py: random weights; for XLM-R
// a SentencePiece model trained on the default dataset, for BERT (cased)
// and DistilBERT (uncased) a WordPiece vocab.txt of it, for RoBERTa a
// byte-level BPE vocab.json and merges.txt), named by
// model.init, fine-tuned by a real sweep of 2 MPI ranks. The sweep encodes
// the data with the checkpoint's tokenizer (fairseq's numbering for XLM-R,
// a tokenizer.json for the others), the ranks start from its
// weights, the loss falls, and the exported model carries the base's
// config.json and tokenizer and classifies text. Checkpoints polysweep cannot use are
// refused before anything starts, naming the key or the tensor.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "command.h"
#include "common/hf_checkpoint.h"
#include "common/safetensors.h"
#include "journal_reader.h"

namespace polysweep {
namespace {

using testing_util::JournalReader;
using testing_util::Quote;
using testing_util::RunCommand;

class PretrainedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new std::string(testing_util::FreshDir("pretrained")); }

  // The checkpoint `name` (hf_fixture.py), built the first time a test asks:
  // CTest runs each test in a process of its own.
  static std::string Fixture(const std::string& name) {
    static const std::map<std::string, std::string> flags = {
        {"xlmr", "xlm-roberta --spm-from " POLYSWEEP_DEFAULT_DATA},
        {"bert", "bert --wordpiece-from " POLYSWEEP_DEFAULT_DATA},
        {"distilbert", "distilbert --uncased --wordpiece-from " POLYSWEEP_DEFAULT_DATA},
        {"roberta", "roberta --bpe-from " POLYSWEEP_DEFAULT_DATA},
        {"roberta-bare", "roberta"}};
    const std::string dir = *dir_ + "/" + name;
    if (!std::filesystem::exists(dir + "/config.json")) {
      auto made = RunCommand("/usr/bin/python3 " POLYSWEEP_SOURCE_DIR "/tests/worker/hf_fixture.py " + Quote(dir) +
                             " " + flags.at(name));
      EXPECT_EQ(made.exit_code, 0) << made.err;
    }
    return dir;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // A sweep of one trial of 2 ranks from `init`; `model` is the rest of the model section.
  static std::string Config(const std::string& name, const std::string& init, const std::string& model = "") {
    const std::string path = *dir_ + "/" + name + ".yaml";
    std::ofstream(path) << "name: " << name << "\noutput_dir: " << *dir_ << "/" << name << "\n"
                        << "data: {files: [" POLYSWEEP_DEFAULT_DATA "], group_field: group, max_per_language: 120}\n"
                        << "model: {init: " << init << ", max_length: 32" << model << "}\n"
                        << "trial: {ranks: 2, threads_per_rank: 1}\n"
                        << "search: {space: {lr: {type: choice, values: [0.002]}}}\n"
                        << "training: {warmup_steps: 5, batch_size: 16}\n"
                        << "budget: {max_trials: 1, max_steps: 60, eval_every: 30, log_every: 5}\n";
    return path;
  }

  static nlohmann::json ReadJson(const std::string& path) {
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    return nlohmann::json::parse(text.str());
  }

  // The sweep's one trial completed its 60 steps, and its loss fell.
  static void ExpectCompletedWithAFallingLoss(const std::string& run) {
    JournalReader j(run + "/journal.db");
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
    const double first = std::stod(j.Scalar("SELECT loss FROM progress WHERE trial_id=1 ORDER BY step LIMIT 1"));
    const double last = std::stod(j.Scalar("SELECT loss FROM progress WHERE trial_id=1 ORDER BY step DESC LIMIT 1"));
    EXPECT_LT(last, first) << "the loss did not fall";
    EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1"), "60");
  }

  // Fine-tunes the checkpoint `name` by a sweep of 60 steps on 2 ranks and
  // checks what it made: shards of the checkpoint's tokenizer (`ids`), a
  // falling loss, weights from the checkpoint, and an export that classifies.
  static void FineTuneAndClassify(const std::string& name, const std::string& family, const std::string& ids,
                                  const std::string& tokenizer_file, const std::string& architecture) {
    const std::string run = *dir_ + "/" + name + "-sweep", init = Fixture(name);
    auto sweep = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(Config(name + "-sweep", init)));
    ASSERT_EQ(sweep.exit_code, 0) << sweep.out << sweep.err;
    const int vocab = ReadJson(init + "/config.json")["vocab_size"].get<int>();

    auto manifest = ReadJson(run + "/data/manifest.json");
    EXPECT_EQ(manifest["tokenizer"]["ids"], ids);
    EXPECT_EQ(manifest["tokenizer"]["vocab_size"], vocab);
    EXPECT_EQ(manifest["tokenizer"]["file"], tokenizer_file);

    ExpectCompletedWithAFallingLoss(run);

    // Rank 0 started from the checkpoint's weights.
    auto logs = RunCommand("grep -rh 'encoder initialised with' " + Quote(run));
    EXPECT_NE(logs.out.find("tensors from Hugging Face " + family + " checkpoint " + init), std::string::npos)
        << logs.out << logs.err;

    // The export carries the base's architecture and tokenizer, and classifies.
    EXPECT_TRUE(std::filesystem::is_regular_file(run + "/model/hf_config.json"));
    EXPECT_TRUE(std::filesystem::is_regular_file(run + "/model/" + tokenizer_file));
    auto package = ReadJson(run + "/model/model.json");
    EXPECT_EQ(package["tokenizer_ids"], ids);
    EXPECT_EQ(package["model"]["hf"]["config"], "hf_config.json");
    EXPECT_EQ(package["model"]["vocab"], vocab);
    const std::string texts = *dir_ + "/texts.jsonl";
    {
      std::ifstream data(POLYSWEEP_DEFAULT_DATA);
      std::ofstream out(texts);
      std::string line;
      for (int i = 0; i < 50 && std::getline(data, line); ++i) out << line << "\n";
    }
    auto predicted = RunCommand("(" + std::string(POLYSWEEP_BIN) + " predict " + Quote(run + "/model") + " < " +
                                Quote(texts) + ")");
    ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
    EXPECT_NE(predicted.err.find("classified 50 texts"), std::string::npos) << predicted.err;
    ExpectHfExport(run + "/model-hf", run + "/model", texts, family, architecture);
  }

  // The sweep also wrote the model in Hugging Face's layout: polysweep reads
  // it back as a checkpoint (every tensor where config.json says), and the
  // PyTorch reference computes from it the probabilities polysweep's model
  // gives (scripts/check-hf-export; with transformers too where installed).
  static void ExpectHfExport(const std::string& hf, const std::string& model, const std::string& texts,
                             const std::string& family, const std::string& architecture) {
    auto config = ReadJson(hf + "/config.json");
    EXPECT_EQ(config["architectures"][0], architecture);
    EXPECT_EQ(config["model_type"], family);
    EXPECT_EQ(config["id2label"].size(), ReadJson(model + "/model.json")["labels"].size());
    EXPECT_TRUE(std::filesystem::is_regular_file(hf + "/tokenizer_config.json"));
    auto back = OpenHfCheckpoint(hf);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_TRUE(CheckHfCheckpoint(back->config, back->layout, back->weights).ok());
    EXPECT_EQ(back->layout.prefix, family == "xlm-roberta" ? "roberta." : family + ".");
    auto check = RunCommand("/usr/bin/python3 " POLYSWEEP_SOURCE_DIR "/scripts/check-hf-export " + Quote(hf) + " " +
                            Quote(model) + " " + Quote(texts));
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_NE(check.out.find("check-hf-export: the export agrees"), std::string::npos) << check.out << check.err;
  }
  static std::string* dir_;
};
std::string* PretrainedTest::dir_ = nullptr;

TEST_F(PretrainedTest, AnXlmRobertaCheckpointFineTunesOnTwoRanksAndItsExportClassifies) {
  FineTuneAndClassify("xlmr", "xlm-roberta", "fairseq", "tokenizer.model", "XLMRobertaForSequenceClassification");
}

TEST_F(PretrainedTest, ACasedBertCheckpointWithItsWordPieceFineTunesAndItsExportClassifies) {
  FineTuneAndClassify("bert", "bert", "wordpiece", "tokenizer.json", "BertForSequenceClassification");
  // export-model --format hf writes the same, and a new sweep can start from it.
  const std::string path = *dir_ + "/bert-sweep.yaml", again = *dir_ + "/bert-again";
  auto exported = RunCommand(std::string(POLYSWEEP_BIN) + " export-model " + Quote(path) + " --format hf -o " +
                             Quote(again));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find("in Hugging Face's layout"), std::string::npos) << exported.out;
  EXPECT_FALSE(std::filesystem::exists(again + ".polysweep")) << "the intermediate export was left behind";
  auto same = RunCommand("cmp " + Quote(again + "/model.safetensors") + " " +
                         Quote(*dir_ + "/bert-sweep/model-hf/model.safetensors"));
  EXPECT_EQ(same.exit_code, 0) << same.out;
  auto from_export = RunCommand(std::string(POLYSWEEP_BIN) + " preview " + Quote(Config("from-export", again)));
  EXPECT_EQ(from_export.exit_code, 0) << from_export.err;
}

TEST_F(PretrainedTest, ARobertaCheckpointWithItsByteLevelBpeFineTunesAndItsExportClassifies) {
  FineTuneAndClassify("roberta", "roberta", "byte_bpe", "tokenizer.json", "RobertaForSequenceClassification");
}

TEST_F(PretrainedTest, AnUncasedDistilBertCheckpointWithItsWordPieceFineTunesAndItsExportClassifies) {
  FineTuneAndClassify("distilbert", "distilbert", "wordpiece", "tokenizer.json", "DistilBertForSequenceClassification");
}

// Text pairs on a BERT checkpoint: is the second text in the first's
// language? The sweep encodes each pair as [CLS] a [SEP] b [SEP] with token
// types, the loss falls, and the export classifies pairs read from the field
// its data had.
TEST_F(PretrainedTest, ACasedBertCheckpointFineTunesOnTextPairsWithTokenTypes) {
  const std::string pairs = *dir_ + "/pairs.jsonl";
  {
    std::vector<nlohmann::json> rows;
    std::ifstream data(POLYSWEEP_DEFAULT_DATA);
    for (std::string line; std::getline(data, line);) rows.push_back(nlohmann::json::parse(line));
    std::ofstream out(pairs);
    for (size_t i = 0; i + 1 < rows.size(); i += 7) {
      // Every other pair takes its second text from the next row of the same
      // language, the others from the next row of another.
      const bool same = i % 2 == 0;
      size_t j = i + 1;
      while (j < rows.size() && (rows[j]["lang"] == rows[i]["lang"]) != same) ++j;
      if (j == rows.size()) continue;
      nlohmann::json pair = {{"text", rows[i]["text"]}, {"second", rows[j]["text"]}, {"lang", rows[i]["lang"]},
                             {"label", rows[i]["lang"] == rows[j]["lang"] ? "same" : "other"}};
      out << pair.dump() << "\n";
    }
  }
  const std::string path = Config("bert-pairs", Fixture("bert"));
  std::string text = testing_util::ReadText(path);
  const std::string from = "data: {files: [" POLYSWEEP_DEFAULT_DATA "], group_field: group, max_per_language: 120}";
  text.replace(text.find(from), from.size(), "data: {files: [" + pairs + "], text_pair_field: second}");
  std::ofstream(path) << text;
  auto sweep = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(path));
  ASSERT_EQ(sweep.exit_code, 0) << sweep.out << sweep.err;

  const std::string run = *dir_ + "/bert-pairs";
  auto manifest = ReadJson(run + "/data/manifest.json");
  const std::string shard = run + "/data/" + manifest["shards"][0]["file"].get<std::string>();
  uint32_t version = 0;
  std::ifstream(shard, std::ios::binary).seekg(8).read(reinterpret_cast<char*>(&version), sizeof version);
  EXPECT_EQ(version, 3u) << "the shards do not record where each second text starts";
  ExpectCompletedWithAFallingLoss(run);

  EXPECT_EQ(ReadJson(run + "/model/model.json")["text_pair_field"], "second");
  auto predicted = RunCommand("(head -n 40 " + Quote(pairs) + " | " + std::string(POLYSWEEP_BIN) + " predict " +
                              Quote(run + "/model") + ")");
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  EXPECT_NE(predicted.err.find("classified 40 texts"), std::string::npos) << predicted.err;
  EXPECT_NE(predicted.err.find("accuracy"), std::string::npos) << predicted.err;
  auto single = RunCommand("(head -n 3 " POLYSWEEP_DEFAULT_DATA " | " + std::string(POLYSWEEP_BIN) + " predict " +
                           Quote(run + "/model") + ")");
  EXPECT_NE(single.exit_code, 0);
  EXPECT_NE(single.err.find("stdin:1: no string field \"second\": the model classifies text pairs"),
            std::string::npos)
      << single.err;
}

// A rank killed mid-trial: the next attempt resumes from the fine-tuned
// checkpoint (the Hugging Face-shaped model's every parameter saved and
// restored), not from the pretrained weights.
TEST_F(PretrainedTest, AKilledRankResumesTheFineTunedModelFromItsCheckpoint) {
  const std::string path = Config("xlmr-resume", Fixture("xlmr"));
  std::string text = testing_util::ReadText(path);
  auto swap = [&](const std::string& from, const std::string& to) { text.replace(text.find(from), from.size(), to); };
  swap("trial: {ranks: 2, threads_per_rank: 1}",
       "trial: {ranks: 2, threads_per_rank: 1, checkpoint_every: 100, max_restarts: 1}");
  swap("max_steps: 60, eval_every: 30", "max_steps: 1500, eval_every: 0");
  std::ofstream(path) << text;
  const std::string run = *dir_ + "/xlmr-resume", journal = run + "/journal.db";
  const pid_t sweep = testing_util::Spawn({POLYSWEEP_BIN, "sweep", path}, *dir_ + "/resume.log");
  ASSERT_GT(sweep, 0);
  auto max_step = [&]() -> int64_t {
    if (!std::filesystem::exists(journal)) return int64_t{0};
    const std::string s = JournalReader(journal).Scalar("SELECT COALESCE(MAX(step), 0) FROM progress");
    return s.empty() ? int64_t{0} : std::stoll(s);
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (max_step() < 350) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << testing_util::ReadText(*dir_ + "/resume.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // "[-]" keeps the pattern from matching the shell that runs pkill.
  auto killed = RunCommand("pkill -KILL -f -- '[-]-sweep xlmr-resume --trial 1 --attempt 1'");
  ASSERT_EQ(killed.exit_code, 0) << "no rank to kill";
  ASSERT_EQ(testing_util::WaitFor(sweep, 300), 0) << testing_util::ReadText(*dir_ + "/resume.log");

  JournalReader j(journal);
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=1"), "2");
  const int64_t resumed = std::stoll(j.Scalar("SELECT MIN(resumed_from) FROM progress WHERE attempt=2"));
  EXPECT_GE(resumed, 300) << "attempt 2 did not resume from a checkpoint of attempt 1";
  const double start = std::stod(j.Scalar("SELECT loss FROM progress WHERE attempt=1 ORDER BY step LIMIT 1"));
  const double again = std::stod(j.Scalar("SELECT loss FROM progress WHERE attempt=2 ORDER BY step LIMIT 1"));
  EXPECT_LT(again, start) << "attempt 2 trained from the pretrained weights again";
  EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress"), "1500");
}

TEST_F(PretrainedTest, WhatTheCheckpointDecidesOrLacksIsRefusedBeforeAnythingStarts) {
  // The architecture is the checkpoint's.
  auto layers = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " +
                           Quote(Config("layers", Fixture("xlmr"), ", layers: 4")));
  EXPECT_NE(layers.exit_code, 0);
  EXPECT_NE(layers.err.find("model.layers: the checkpoint decides it (" + *dir_ + "/xlmr/config.json)"),
            std::string::npos)
      << layers.err;
  // A checkpoint without its tokenizer files: said, not guessed.
  auto bare = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(Config("bare", Fixture("roberta-bare"))));
  EXPECT_NE(bare.exit_code, 0);
  EXPECT_NE(bare.err.find("is a roberta checkpoint whose weights polysweep reads, but it has neither tokenizer.json "
                          "nor vocab.json and merges.txt"),
            std::string::npos)
      << bare.err;
  // A tensor short: named, with its file, and nothing is started or written.
  const std::string broken = *dir_ + "/broken";
  std::filesystem::create_directories(broken);
  for (const char* f : {"config.json", "sentencepiece.bpe.model"}) {
    std::filesystem::copy_file(*dir_ + "/xlmr/" + f, broken + "/" + f, std::filesystem::copy_options::overwrite_existing);
  }
  auto file = SafetensorsFile::Open(*dir_ + "/xlmr/model.safetensors");
  ASSERT_TRUE(file.ok());
  std::vector<SafeTensorData> tensors;
  for (const auto& [name, t] : (*file)->tensors()) {
    if (name == "roberta.encoder.layer.1.output.dense.bias") continue;
    tensors.push_back({name, t.dtype, t.shape, std::string(reinterpret_cast<const char*>(t.data), t.bytes)});
  }
  ASSERT_TRUE(WriteSafetensors(broken + "/model.safetensors", tensors).ok());
  auto missing = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(Config("missing", broken)));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("model.init: " + broken +
                             "/model.safetensors: tensor roberta.encoder.layer.1.output.dense.bias is missing"),
            std::string::npos)
      << missing.err;
  EXPECT_FALSE(std::filesystem::exists(*dir_ + "/missing")) << "a refused sweep left its output directory";
}

}  // namespace
}  // namespace polysweep
