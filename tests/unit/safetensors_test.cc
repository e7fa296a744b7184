// Tests of the safetensors reader and writer (common/safetensors.h) and of
// the Hugging Face config reader (common/hf_config.h): what a well-formed
// file holds, and that every malformed one is refused naming the file and
// the tensor or key, before any byte of a tensor is read.
#include "common/safetensors.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/files.h"
#include "common/hf_config.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

std::string Floats(std::initializer_list<float> values) {
  std::string bytes(values.size() * 4, '\0');
  std::memcpy(bytes.data(), values.begin(), bytes.size());
  return bytes;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A file of an 8-byte header length, the header text and `data`.
std::string Raw(uint64_t header_len, const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header_len >> (8 * i)) & 0xff);
  return out + header + data;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "safetensors_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << bytes;
    return dir_ + "/" + name;
  }
  std::string OpenError(const std::string& bytes) {
    auto f = SafetensorsFile::Open(Write("bad.safetensors", bytes));
    EXPECT_FALSE(f.ok());
    return f.ok() ? "" : f.status().message();
  }
  std::string dir_;
};

TEST_F(SafetensorsTest, WrittenTensorsReadBackWithTheirDtypeShapeBytesAndMetadata) {
  const std::string path = dir_ + "/model.safetensors";
  std::string half(6, '\x3c');  // three F16 values
  ASSERT_TRUE(WriteSafetensors(path,
                               {{"b.weight", SafeDType::kF32, {2, 2}, Floats({1, 2, 3, 4})},
                                {"a.bias", SafeDType::kF16, {3}, half},
                                {"empty", SafeDType::kBF16, {0, 5}, ""}},
                               {{"format", "pt"}})
                  .ok());
  const std::string raw = Slurp(path);
  uint64_t header_len = 0;
  std::memcpy(&header_len, raw.data(), 8);
  EXPECT_EQ((8 + header_len) % 8, 0u) << "tensor data starts 8-byte aligned";
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ((*f)->tensors().size(), 3u);
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  const SafeTensor& b = (*f)->tensors().at("b.weight");
  EXPECT_EQ(b.dtype, SafeDType::kF32);
  EXPECT_EQ(b.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(b.numel(), 4);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data), b.bytes), Floats({1, 2, 3, 4}));
  const SafeTensor& a = (*f)->tensors().at("a.bias");
  EXPECT_EQ(a.dtype, SafeDType::kF16);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(a.data), a.bytes), half);
  EXPECT_LT(a.data, b.data) << "written in name order";
  EXPECT_EQ((*f)->tensors().at("empty").bytes, 0u);
}

TEST_F(SafetensorsTest, MalformedFilesAreRefusedNamingFileAndTensor) {
  EXPECT_NE(OpenError("abc").find("bad.safetensors: truncated: 3 bytes"), std::string::npos);
  EXPECT_NE(OpenError(Raw(1000, "{}", "")).find("the header claims 1000 bytes, past the end of the file"),
            std::string::npos);
  EXPECT_NE(OpenError(Raw(5, "[1,2]", "")).find("the header is not a JSON object"), std::string::npos);
  const std::string past = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  EXPECT_NE(OpenError(Raw(past.size(), past, std::string(8, '\0'))).find("tensor w: bytes 0..16 point past the end"),
            std::string::npos);
  const std::string mismatch = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  EXPECT_NE(OpenError(Raw(mismatch.size(), mismatch, std::string(8, '\0'))).find("tensor w: 8 bytes do not hold its shape in F32"),
            std::string::npos);
  const std::string dtype = R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_NE(OpenError(Raw(dtype.size(), dtype, "x")).find("tensor w: unknown dtype F8_E4M3"), std::string::npos);
  const std::string shape = R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})";
  EXPECT_NE(OpenError(Raw(shape.size(), shape, "xxxx")).find("tensor w: a shape of non-negative integers"),
            std::string::npos);
  const std::string missing = R"({"w":{"dtype":"F32","shape":[1]}})";
  EXPECT_NE(OpenError(Raw(missing.size(), missing, "xxxx")).find("tensor w: expected"), std::string::npos);
  // A valid file cut short: its header now points past the end.
  ASSERT_TRUE(WriteSafetensors(dir_ + "/whole.safetensors", {{"w", SafeDType::kF32, {4}, Floats({1, 2, 3, 4})}}).ok());
  const std::string whole = Slurp(dir_ + "/whole.safetensors");
  EXPECT_NE(OpenError(whole.substr(0, whole.size() - 1)).find("tensor w: bytes 0..16 point past the end"),
            std::string::npos);
}

TEST_F(SafetensorsTest, ACheckpointIsOneFileOrTheShardsItsIndexNames) {
  ASSERT_TRUE(WriteSafetensors(dir_ + "/model-00001-of-00002.safetensors",
                               {{"a", SafeDType::kF32, {1}, Floats({1})}}).ok());
  ASSERT_TRUE(WriteSafetensors(dir_ + "/model-00002-of-00002.safetensors",
                               {{"b", SafeDType::kF32, {2}, Floats({2, 3})}}).ok());
  Write("model.safetensors.index.json",
        R"({"metadata": {"total_size": 12}, "weight_map": {"a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors"}})");
  auto sharded = SafetensorsCheckpoint::Open(dir_);
  ASSERT_TRUE(sharded.ok()) << sharded.status().message();
  ASSERT_NE(sharded->Find("a"), nullptr);
  ASSERT_NE(sharded->Find("b"), nullptr);
  EXPECT_EQ(sharded->Find("b")->numel(), 2);
  EXPECT_EQ(sharded->Find("c"), nullptr);
  EXPECT_EQ(sharded->names(), (std::vector<std::string>{"a", "b"}));

  Write("model.safetensors.index.json", R"({"weight_map": {"a": "model-00002-of-00002.safetensors"}})");
  auto wrong = SafetensorsCheckpoint::Open(dir_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("tensor a is mapped to " + dir_ + "/model-00002-of-00002.safetensors, which lacks it"),
            std::string::npos)
      << wrong.status().message();
}

TEST_F(SafetensorsTest, APickleCheckpointIsRefusedWithTheCommandThatConvertsIt) {
  Write("pytorch_model.bin", "not read");
  auto c = SafetensorsCheckpoint::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(c.status().message().find("has pytorch_model.bin but no model.safetensors"), std::string::npos);
  EXPECT_NE(c.status().message().find("safe_serialization=True"), std::string::npos);
  fs::remove(dir_ + "/pytorch_model.bin");
  EXPECT_EQ(SafetensorsCheckpoint::Open(dir_).status().code(), StatusCode::kNotFound);
}

TEST_F(SafetensorsTest, HfConfigsOfEachFamilyAreRead) {
  Write("config.json", R"({"model_type": "bert", "vocab_size": 119547, "hidden_size": 768, "num_hidden_layers": 12,
    "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 512,
    "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
    "pad_token_id": 0, "classifier_dropout": null, "position_embedding_type": "absolute"})");
  ASSERT_TRUE(IsHfModelDir(dir_));
  auto bert = ReadHfModelConfig(dir_);
  ASSERT_TRUE(bert.ok()) << bert.status().message();
  EXPECT_EQ(bert->family, HfFamily::kBert);
  EXPECT_EQ(bert->vocab, 119547);
  EXPECT_EQ(bert->layers, 12);
  EXPECT_EQ(bert->ffn, 3072);
  EXPECT_EQ(bert->type_vocab, 2);
  EXPECT_EQ(bert->max_length(), 512);
  EXPECT_LT(bert->classifier_dropout, 0);

  Write("config.json", R"({"model_type": "xlm-roberta", "vocab_size": 250002, "hidden_size": 768,
    "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 514,
    "type_vocab_size": 1, "layer_norm_eps": 1e-05, "pad_token_id": 1})");
  auto xlmr = ReadHfModelConfig(dir_);
  ASSERT_TRUE(xlmr.ok()) << xlmr.status().message();
  EXPECT_TRUE(xlmr->padding_offset_positions());
  EXPECT_EQ(xlmr->max_length(), 512);
  EXPECT_DOUBLE_EQ(xlmr->layer_norm_eps, 1e-5);

  Write("config.json", R"({"model_type": "distilbert", "vocab_size": 119547, "dim": 768, "n_layers": 6,
    "n_heads": 12, "hidden_dim": 3072, "activation": "gelu", "max_position_embeddings": 512, "dropout": 0.1,
    "attention_dropout": 0.1, "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": false})");
  auto distil = ReadHfModelConfig(dir_);
  ASSERT_TRUE(distil.ok()) << distil.status().message();
  EXPECT_EQ(distil->family, HfFamily::kDistilBert);
  EXPECT_EQ(distil->layers, 6);
  EXPECT_EQ(distil->type_vocab, 0);
  EXPECT_DOUBLE_EQ(distil->classifier_dropout, 0.2);
}

TEST_F(SafetensorsTest, HfConfigsPolysweepCannotComputeAreRefusedNamingTheKey) {
  const std::string path = dir_ + "/config.json";
  struct Case {
    const char* json;
    const char* expected;
  } cases[] = {
      {R"({"model_type": "gpt2"})", "model_type: \"gpt2\" is not an encoder polysweep fine-tunes"},
      {R"({"vocab_size": 10})", "model_type: missing"},
      {R"({"model_type": "bert", "vocab_size": 10, "hidden_size": 10, "num_hidden_layers": 1,
           "num_attention_heads": 3, "intermediate_size": 8, "max_position_embeddings": 8})",
       "num_attention_heads: 3 heads do not divide hidden_size 10"},
      {R"({"model_type": "bert", "vocab_size": 10, "hidden_size": 12, "num_attention_heads": 3,
           "intermediate_size": 8, "max_position_embeddings": 8})",
       "num_hidden_layers: missing"},
      {R"({"model_type": "bert", "vocab_size": 10, "hidden_size": 12, "num_hidden_layers": 1,
           "num_attention_heads": 3, "intermediate_size": 8, "max_position_embeddings": 8, "hidden_act": "swish"})",
       "hidden_act: activation \"swish\" is not one polysweep computes"},
      {R"({"model_type": "bert", "vocab_size": 10, "hidden_size": 12, "num_hidden_layers": 1,
           "num_attention_heads": 3, "intermediate_size": 8, "max_position_embeddings": 8,
           "position_embedding_type": "relative_key"})",
       "position_embedding_type: only absolute positions"},
      {"{not json", "not a JSON object"},
  };
  for (const Case& c : cases) {
    Write("config.json", c.json);
    auto read = ReadHfModelConfig(dir_);
    ASSERT_FALSE(read.ok()) << c.json;
    EXPECT_EQ(read.status().message().rfind(path + ": ", 0), 0u) << read.status().message();
    EXPECT_NE(read.status().message().find(c.expected), std::string::npos) << read.status().message();
  }
}

}  // namespace
}  // namespace polysweep
