// model.init naming a Hugging Face model directory, as the sweep config
// reads it (common/config_files.cc): the checkpoint decides the
// architecture and the dropout, its tokenizer and numbering go to the
// sharder, and what contradicts the checkpoint is refused naming the key.
// The checkpoints are written here from the table of tensors a family has
// (common/hf_checkpoint.h), zeros of the shapes config.json implies.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/config_names.h"
#include "common/config.h"
#include "common/hf_checkpoint.h"
#include "tests/common/hf_zero_checkpoint.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

class HfInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "hf_init_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ckpt_ = dir_ + "/xlmr";
    WriteCheckpoint(ckpt_, R"({"model_type": "xlm-roberta", "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 3,
              "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 42,
              "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1, "hidden_dropout_prob": 0.25})",
                    HfLayout{"roberta.", false});
    std::ofstream(ckpt_ + "/sentencepiece.bpe.model") << "read by the sharder, not here";
    std::ofstream(dir_ + "/data.jsonl") << R"({"text": "hallo", "label": "games", "lang": "de"})" << "\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A checkpoint of `config_json` in `dir`: zeros of every tensor's shape.
  static void WriteCheckpoint(const std::string& dir, const std::string& config_json, const HfLayout& layout) {
    Status written = testing_util::WriteZeroHfCheckpoint(dir, config_json, layout);
    ASSERT_TRUE(written.ok()) << written.message();
  }

  StatusOr<SweepConfig> Load(const std::string& model, const std::string& extra = "") {
    const std::string path = dir_ + "/sweep.yaml";
    std::ofstream(path) << "name: t\ndata: {files: [" << dir_ << "/data.jsonl]}\n"
                        << "model: {init: " << ckpt_ << model << "}\n"
                        << "search: {space: {lr: {type: choice, values: [0.001]}}}\n"
                        << "budget: {max_steps: 10}\n"
                        << extra;
    return LoadSweepConfig(path, RegisteredConfigNames());
  }
  std::string dir_, ckpt_;
};

TEST_F(HfInitTest, TheCheckpointDecidesTheArchitectureTheDropoutAndTheTokenizer) {
  auto c = Load("");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model.layers, 3);
  EXPECT_EQ(c->model.hidden, 16);
  EXPECT_EQ(c->model.heads, 2);
  EXPECT_EQ(c->model.ffn, 32);
  EXPECT_EQ(c->model.max_length, 40);  // 42 positions less RoBERTa's padding offset: under the default 64
  EXPECT_DOUBLE_EQ(c->training.dropout, 0.25);
  EXPECT_EQ(c->data.tokenizer, ckpt_ + "/sentencepiece.bpe.model");
  EXPECT_EQ(c->data.token_ids, TokenIds::kFairseq);
  EXPECT_EQ(c->data.checkpoint_vocab, 50);
  // A framed text is truncated as it is encoded, its </s> kept: to what the model reads.
  EXPECT_EQ(c->data.max_tokens, 40);

  // Set or searched, the config's dropout stands.
  auto set = Load("", "training: {dropout: 0.05}\n");
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_DOUBLE_EQ(set->training.dropout, 0.05);
  auto shorter = Load(", max_length: 24");
  ASSERT_TRUE(shorter.ok()) << shorter.status().message();
  EXPECT_EQ(shorter->model.max_length, 24);
  EXPECT_EQ(shorter->data.max_tokens, 24);
}

TEST_F(HfInitTest, WhatContradictsTheCheckpointIsRefusedNamingTheKey) {
  const std::string yaml = dir_ + "/sweep.yaml";
  auto layers = Load(", layers: 4");
  ASSERT_FALSE(layers.ok());
  EXPECT_EQ(layers.status().message(),
            yaml + ":3: model.layers: the checkpoint decides it (" + ckpt_ + "/config.json); remove model.layers");
  auto length = Load(", max_length: 64");
  ASSERT_FALSE(length.ok());
  EXPECT_NE(length.status().message().find("model.max_length: 64 is more than the checkpoint's 40 positions allow"),
            std::string::npos)
      << length.status().message();
  auto frozen = Load("", "training: {freeze_layers: 4}\n");
  ASSERT_FALSE(frozen.ok());
  EXPECT_NE(frozen.status().message().find("training.freeze_layers: 4 is more than the 3 layers of " + ckpt_),
            std::string::npos)
      << frozen.status().message();
  EXPECT_TRUE(Load("", "training: {freeze_layers: 3}\n").ok());
  auto tokenizer = Load("", "");
  ASSERT_TRUE(tokenizer.ok());
  fs::remove(ckpt_ + "/sentencepiece.bpe.model");
  auto no_spm = Load("");
  ASSERT_FALSE(no_spm.ok());
  EXPECT_NE(no_spm.status().message().find("it has no sentencepiece.bpe.model"), std::string::npos)
      << no_spm.status().message();
}

// A BERT checkpoint's tokenizer is its WordPiece: tokenizer.json where the
// directory has one, else vocab.txt (with tokenizer_config.json beside it).
TEST_F(HfInitTest, ABertCheckpointEncodesWithItsWordPiece) {
  ckpt_ = dir_ + "/bert";
  WriteCheckpoint(ckpt_, R"({"model_type": "bert", "vocab_size": 30, "hidden_size": 16, "num_hidden_layers": 2,
            "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 40,
            "type_vocab_size": 2})",
                  HfLayout{"bert.", false});
  auto none = Load("");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("is a bert checkpoint whose weights polysweep reads, but it has neither "
                                         "tokenizer.json nor vocab.txt"),
            std::string::npos)
      << none.status().message();
  std::ofstream(ckpt_ + "/vocab.txt") << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
  auto vocab = Load("");
  ASSERT_TRUE(vocab.ok()) << vocab.status().message();
  EXPECT_EQ(vocab->data.tokenizer, ckpt_ + "/vocab.txt");
  EXPECT_EQ(vocab->data.token_ids, TokenIds::kWordPiece);
  EXPECT_EQ(vocab->data.checkpoint_vocab, 30);
  EXPECT_EQ(vocab->model.max_length, 40);
  std::ofstream(ckpt_ + "/tokenizer.json") << "{}";
  auto json = Load("");
  ASSERT_TRUE(json.ok()) << json.status().message();
  EXPECT_EQ(json->data.tokenizer, ckpt_ + "/tokenizer.json");
}

}  // namespace
}  // namespace polysweep
