// Byte-level BPE (tokenizer/byte_bpe.h) on a vocabulary small enough to
// work the expected pieces out by hand: GPT-2's pre-tokenizer (a space goes
// with the word after it, runs of spaces keep their last one for the next
// word, contractions), merges by rank, bytes without a token dropped as
// RoBERTa's model does, <mask> taking the space before it, truncation,
// offsets, and the refusals of what it does not read. tests/oracle/ compares
// it with Hugging Face's library on 10,000 texts.
#include "tokenizer/byte_bpe.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

// "Ġ" is GPT-2's stand-in for the space byte.
const std::vector<std::string> kVocab = {"<s>", "<pad>", "</s>", "<unk>", "h", "e", "l", "o", "Ġ", "w", "r", "d", "'",
                                         "he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "Ġworl", "Ġworld", "'ll",
                                         "<mask>"};
const std::vector<std::pair<std::string, std::string>> kMerges = {
    {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}, {"Ġwor", "l"},
    {"Ġworl", "d"}, {"'", "ll"}};

class ByteBpeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "byte_bpe_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ByteBpeSpec spec;
    spec.vocab = kVocab;
    spec.merges = kMerges;
    spec.special_tokens = {{"<s>", 0}, {"</s>", 0}, {"<mask>", 0, /*lstrip=*/true, false}};
    auto made = ByteBpe::Make(spec);
    ASSERT_TRUE(made.ok()) << made.status().message();
    bpe_ = std::move(*made);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<int> Ids(const std::string& text, size_t max_ids = 512) {
    std::vector<int> ids;
    EXPECT_TRUE(bpe_->Encode(text, max_ids, &ids, nullptr).ok());
    return ids;
  }
  std::string dir_;
  std::unique_ptr<ByteBpe> bpe_;
};

TEST_F(ByteBpeTest, SplitsAsGpt2AndMergesByRank) {
  EXPECT_EQ(Ids("hello world"), (std::vector<int>{0, 16, 21, 2}));
  // Of two spaces before a word, the first is a word of its own.
  EXPECT_EQ(Ids("hello  world"), (std::vector<int>{0, 16, 8, 21, 2}));
  // A contraction is a word; "hell" merges before "o" joins it.
  EXPECT_EQ(Ids("he'll hello"), (std::vector<int>{0, 13, 22, 8, 16, 2}));
  // Bytes without a token ("x", "é") are dropped, as RoBERTa's model (no unknown token) drops them.
  EXPECT_EQ(Ids("hex é"), (std::vector<int>{0, 13, 8, 2}));
}

TEST_F(ByteBpeTest, MaskTakesTheSpaceBeforeItTruncationAndOffsets) {
  EXPECT_EQ(Ids("hello <mask> world"), (std::vector<int>{0, 16, 23, 21, 2}));
  EXPECT_EQ(Ids("hello world hello", 3), (std::vector<int>{0, 16, 2}));
  std::vector<int> ids;
  std::vector<PieceOffsets> offsets;
  ASSERT_TRUE(bpe_->Encode("hello  world", 64, &ids, &offsets).ok());
  EXPECT_EQ(offsets, (std::vector<PieceOffsets>{{0, 0}, {0, 5}, {5, 6}, {6, 12}, {12, 12}}));
  ids.clear();
  EXPECT_FALSE(bpe_->Encode("hello", 1, &ids, nullptr).ok());
  EXPECT_TRUE(ids.empty()) << "a refused text left ids behind";
}

TEST_F(ByteBpeTest, ReadsVocabJsonAndMergesAndWritesATokenizerJsonThatReadsBackTheSame) {
  {
    std::ofstream vocab(dir_ + "/vocab.json");
    vocab << "{";
    for (size_t i = 0; i < kVocab.size(); ++i) vocab << (i ? ", " : "") << '"' << kVocab[i] << "\": " << i;
    vocab << "}";
    std::ofstream merges(dir_ + "/merges.txt");
    merges << "#version: 0.2\n";
    for (const auto& [a, b] : kMerges) merges << a << " " << b << "\n";
  }
  auto spec = ReadByteBpeSpec(dir_ + "/vocab.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->merges, kMerges);
  ASSERT_EQ(spec->special_tokens.size(), 5u);  // <s> <pad> </s> <unk> <mask>
  EXPECT_TRUE(spec->special_tokens.back().lstrip);
  auto file = Tokenizer::CopyInto(dir_ + "/vocab.json", TokenIds::kByteBpe, dir_);
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto again = ReadByteBpeSpec(dir_ + "/" + *file);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->vocab, spec->vocab);
  EXPECT_EQ(again->merges, spec->merges);
  EXPECT_EQ(again->special_tokens.size(), spec->special_tokens.size());
  auto tokenizer = Tokenizer::Load(dir_ + "/tokenizer.json", TokenIds::kByteBpe);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  std::vector<int> ids;
  ASSERT_TRUE((*tokenizer)->Encode("hello world", 16, &ids).ok());
  EXPECT_EQ(ids, (std::vector<int>{0, 16, 21, 2}));
  EXPECT_EQ((*tokenizer)->pad_id(), 1);
}

TEST_F(ByteBpeTest, WhatItDoesNotReadIsRefusedNamingTheFileAndKey) {
  const std::string path = dir_ + "/tokenizer.json";
  std::ofstream(path) << R"({"model": {"type": "WordPiece", "vocab": {}}})";
  auto wordpiece = ReadByteBpeSpec(path);
  ASSERT_FALSE(wordpiece.ok());
  EXPECT_EQ(wordpiece.status().message(), path + ": model.type: not a BPE model");
  std::ofstream(path) << R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]},
                             "pre_tokenizer": {"type": "ByteLevel"}})";
  auto merge = ReadByteBpeSpec(path);
  ASSERT_FALSE(merge.ok());
  EXPECT_EQ(merge.status().message(), path + ": model.merges[0]: not a merge of two tokens");
  std::ofstream(path) << R"({"model": {"type": "BPE", "vocab": {"<s>": 0, "</s>": 1}, "merges": []},
                             "pre_tokenizer": {"type": "Metaspace"}})";
  auto metaspace = ReadByteBpeSpec(path);
  ASSERT_FALSE(metaspace.ok());
  EXPECT_EQ(metaspace.status().message(),
            path + ": pre_tokenizer: polysweep reads GPT-2's (ByteLevel with its regular expression)");
  std::ofstream(path) << R"({"model": {"type": "BPE", "vocab": {"<s>": 0, "</s>": 1, "a": 2}, "merges": ["a a"]},
                             "pre_tokenizer": {"type": "ByteLevel"}})";
  auto missing = Tokenizer::Load(path, TokenIds::kByteBpe);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), path + ": merge 0 \"a a\" names a token that is not in the vocabulary");
}

}  // namespace
}  // namespace polysweep
