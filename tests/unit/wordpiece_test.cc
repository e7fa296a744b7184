// WordPiece (tokenizer/wordpiece.h) on a vocabulary small enough to work
// the expected pieces out by hand: BERT's normalizer and pre-tokenizer, the
// greedy longest match, the unknown token, special tokens in the text,
// truncation, byte offsets, and the refusals of what it does not read.
// tests/oracle/ compares it with Hugging Face's library on 10,000 texts.
#include "tokenizer/wordpiece.h"

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

const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able",
                                         "cafe", "!", "机", "器", "a", "##b", "straße", "istanbul"};

class WordPieceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "wordpiece_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<WordPiece> Make(bool lowercase) {
    WordPieceSpec spec;
    spec.vocab = kVocab;
    spec.lowercase = lowercase;
    spec.special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    spec.max_input_chars_per_word = 12;
    auto w = WordPiece::Make(spec);
    EXPECT_TRUE(w.ok()) << w.status().message();
    return w.ok() ? std::move(*w) : nullptr;
  }
  static std::vector<int> Ids(const WordPiece& w, const std::string& text, size_t max_ids = 512) {
    std::vector<int> ids;
    EXPECT_TRUE(w.Encode(text, max_ids, &ids, nullptr).ok());
    return ids;
  }
  std::string dir_;
};

TEST_F(WordPieceTest, NormalizesSplitsAndMatchesTheLongestPieces) {
  auto uncased = Make(true);
  ASSERT_NE(uncased, nullptr);
  // Lower-cased, accents stripped (é is e + a non-spacing mark), punctuation
  // and CJK ideographs words of their own, control characters dropped.
  EXPECT_EQ(Ids(*uncased, "UnAffable Café!\x01机器"), (std::vector<int>{2, 5, 6, 7, 8, 9, 10, 11, 3}));
  // A word with no split into pieces is one [UNK]; so is one over 12 characters.
  EXPECT_EQ(Ids(*uncased, "unaffablex abbbbbbbbbbbbb ab"), (std::vector<int>{2, 1, 1, 12, 13, 3}));
  // ß stays ß; İ decomposes to I and a dot above, which stripping removes
  // before lower-casing.
  EXPECT_EQ(Ids(*uncased, "STRASSE Straße İSTANBUL"), (std::vector<int>{2, 1, 14, 15, 3}));
  auto cased = Make(false);
  ASSERT_NE(cased, nullptr);
  EXPECT_EQ(Ids(*cased, "UnAffable cafe İstanbul"), (std::vector<int>{2, 1, 8, 1, 3}));
}

TEST_F(WordPieceTest, SpecialTokensInTheTextTruncationAndOffsets) {
  auto w = Make(true);
  ASSERT_NE(w, nullptr);
  // Special tokens are matched in the raw text, before lower-casing.
  EXPECT_EQ(Ids(*w, "a[MASK]a [mask]"), (std::vector<int>{2, 12, 4, 12, 1, 1, 1, 3}));
  // At most max_ids ids, [CLS] and [SEP] among them.
  EXPECT_EQ(Ids(*w, "unaffable cafe", 4), (std::vector<int>{2, 5, 6, 3}));
  std::vector<int> ids;
  EXPECT_FALSE(w->Encode("a", 1, &ids, nullptr).ok());
  EXPECT_TRUE(ids.empty()) << "a refused text left ids behind";
  // Each piece's bytes in the original text.
  std::vector<PieceOffsets> offsets;
  ids.clear();
  ASSERT_TRUE(w->Encode(" Café unaffable", 64, &ids, &offsets).ok());
  EXPECT_EQ(offsets, (std::vector<PieceOffsets>{{0, 0}, {1, 6}, {7, 9}, {9, 12}, {12, 16}, {16, 16}}));
}

TEST_F(WordPieceTest, ReadsVocabTxtAndWritesATokenizerJsonThatReadsBackTheSame) {
  {
    std::ofstream vocab(dir_ + "/vocab.txt");
    for (const std::string& t : kVocab) vocab << t << "\n";
  }
  std::ofstream(dir_ + "/tokenizer_config.json") << R"({"do_lower_case": false, "strip_accents": true})";
  auto spec = ReadWordPieceSpec(dir_ + "/vocab.txt");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_FALSE(spec->lowercase);
  EXPECT_TRUE(spec->strips_accents());
  EXPECT_EQ(spec->special_tokens, (std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}));
  auto file = Tokenizer::CopyInto(dir_ + "/vocab.txt", TokenIds::kWordPiece, dir_);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(*file, "tokenizer.json");
  auto again = ReadWordPieceSpec(dir_ + "/tokenizer.json");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->vocab, spec->vocab);
  EXPECT_EQ(again->lowercase, spec->lowercase);
  EXPECT_EQ(again->strip_accents, spec->strip_accents);
  EXPECT_EQ(again->special_tokens, spec->special_tokens);
  auto tokenizer = Tokenizer::Load(dir_ + "/tokenizer.json", TokenIds::kWordPiece);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  EXPECT_EQ((*tokenizer)->vocab_size(), static_cast<int>(kVocab.size()));
  EXPECT_EQ((*tokenizer)->pad_id(), 0);
  EXPECT_EQ((*tokenizer)->unk_id(), 1);
}

TEST_F(WordPieceTest, WhatItDoesNotReadIsRefusedNamingTheFileAndKey) {
  const std::string path = dir_ + "/tokenizer.json";
  std::ofstream(path) << R"({"normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}}})";
  auto normalizer = ReadWordPieceSpec(path);
  ASSERT_FALSE(normalizer.ok());
  EXPECT_EQ(normalizer.status().message(), path + ": normalizer.type: \"Lowercase\" is not read; BertNormalizer is");
  std::ofstream(path) << R"({"model": {"type": "Unigram", "vocab": []}})";
  auto unigram = ReadWordPieceSpec(path);
  ASSERT_FALSE(unigram.ok());
  EXPECT_EQ(unigram.status().message(), path + ": model.type: not a WordPiece model");
  std::ofstream(path) << R"({"normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "[CLS]": 2}}})";
  auto gap = ReadWordPieceSpec(path);
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.status().message(), path + ": model.vocab[\"[CLS]\"]: the ids are not 0..1");
  std::ofstream(path) << R"({"normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "[CLS]": 1}}})";
  auto no_sep = Tokenizer::Load(path, TokenIds::kWordPiece);
  ASSERT_FALSE(no_sep.ok());
  EXPECT_EQ(no_sep.status().message(), path + ": the separator token \"[SEP]\" is not in the vocabulary");
}

}  // namespace
}  // namespace polysweep
