// Sharding tagged sentences (model.task token_classification): each word's
// tag on its first piece, as Hugging Face's word_ids() aligns them, worked
// out by hand on a WordPiece vocabulary; the scheme checked and resolved;
// bad input refused naming the file and line, nothing written.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "common/shard.h"
#include "common/word_features.h"
#include "dataprep/sharder.h"
#include "tokenizer/words.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

// Lower-case words only: a vocab.txt alone is read as an uncased BERT's.
constexpr const char* kVocab[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "anna", "wohnt", "in", "ber",
                                  "##lin", ".",     "karl",  "lebt",  "paris",  "und",  "ist",  "da"};
// The tags sorted, as the label map orders them: B-LOC 0, B-PER 1, O 2.
constexpr int kLoc = 0, kPer = 1, kO = 2, kNone = kUntaggedPiece;

class TaggedDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "tagged_data_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream vocab(dir_ + "/vocab.txt");
    for (const char* v : kVocab) vocab << v << "\n";
    config_.tokenizer = dir_ + "/vocab.txt";
    config_.token_ids = TokenIds::kWordPiece;
    config_.shard_dir = dir_ + "/prepared";
    config_.tagged = true;
    config_.lang = "de";
    config_.threads = 1;
    config_.train_files = {Write("train.conll", kTrainText)};
    config_.valid_files = {Write("valid.conll", "karl\tB-PER\nist\tO\nda\tO\n")};
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  }
  // The train shard's first sentence (its longest example): its ids and label values.
  std::pair<std::vector<int32_t>, std::vector<int32_t>> FirstTrain(const Manifest& m) {
    auto shard = MappedShard::Open(config_.shard_dir + "/" + m.Find(kTrain, "de")->file);
    EXPECT_TRUE(shard.ok());
    uint64_t i = 0;
    for (uint64_t k = 1; k < (*shard)->size(); ++k) {
      if ((*shard)->length(k) > (*shard)->length(i)) i = k;
    }
    const int32_t* t = (*shard)->tokens(i);
    const LabelSpan l = (*shard)->labels(i);
    EXPECT_EQ(l.size, (*shard)->length(i));  // a label value per token
    return {std::vector<int32_t>(t, t + (*shard)->length(i)), std::vector<int32_t>(l.begin(), l.end())};
  }
  void ExpectFailure(const std::string& want) {
    auto out = ShardDataset(config_, Logger("tagged_data_test"));
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.status().message().find(want), std::string::npos) << out.status().message();
    EXPECT_FALSE(fs::exists(config_.shard_dir));
    EXPECT_FALSE(fs::exists(config_.shard_dir + ".tmp"));
  }
  static constexpr const char* kTrainText = "anna\tB-PER\nwohnt\tO\nin\tO\nberlin\tB-LOC\n.\tO\n\nkarl\tB-PER\nlebt\tO\n\n";
  std::string dir_;
  DataConfig config_;
};

TEST_F(TaggedDataTest, PutsEachWordsTagOnItsFirstPiece) {
  auto out = ShardDataset(config_, Logger("tagged_data_test"));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->manifest.labels, (std::vector<std::string>{"B-LOC", "B-PER", "O"}));
  EXPECT_EQ(out->manifest.tag_scheme, TagScheme::kIob2);  // auto: entity tags
  const auto [ids, labels] = FirstTrain(out->manifest);
  // [CLS] anna wohnt in ber ##lin . [SEP]
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 5, 6, 7, 8, 9, 10, 3}));
  EXPECT_EQ(labels, (std::vector<int32_t>{kNone, kPer, kO, kO, kLoc, kNone, kO, kNone}));
}

TEST_F(TaggedDataTest, EveryPieceCarriesItsWordsFeatures) {
  auto out = ShardDataset(config_, Logger("tagged_data_test"));
  ASSERT_TRUE(out.ok()) << out.status().message();
  auto shard = MappedShard::Open(config_.shard_dir + "/" + out->manifest.Find(kTrain, "de")->file);
  ASSERT_TRUE(shard.ok());
  ASSERT_EQ((*shard)->version(), 4u);
  ASSERT_EQ((*shard)->feature_width(), static_cast<uint32_t>(kWordFeatures));
  // [CLS] anna wohnt in ber ##lin . [SEP]: both pieces of "berlin" carry its features.
  const std::vector<uint32_t> want =
      PieceWordFeatures({"anna", "wohnt", "in", "berlin", "."}, {-1, 0, 1, 2, 3, 3, 4, -1}, "de");
  for (uint64_t i = 0; i < (*shard)->size(); ++i) {
    if ((*shard)->length(i) != 8) continue;
    EXPECT_EQ(std::vector<uint32_t>((*shard)->features(i), (*shard)->features(i) + want.size()), want);
    return;
  }
  ADD_FAILURE() << "no sentence of 8 pieces";
}

TEST_F(TaggedDataTest, LabelsEveryPieceWhenAsked) {
  config_.label_all_pieces = true;
  auto out = ShardDataset(config_, Logger("tagged_data_test"));
  ASSERT_TRUE(out.ok()) << out.status().message();
  const auto [ids, labels] = FirstTrain(out->manifest);
  EXPECT_EQ(labels, (std::vector<int32_t>{kNone, kPer, kO, kO, kLoc, kLaterPiece + kLoc, kO, kNone}));
}

TEST_F(TaggedDataTest, ReadsJsonlTokensAndTagsAsCoNLL) {
  const std::string conll_ids = [&] {
    auto out = ShardDataset(config_, Logger("tagged_data_test"));
    EXPECT_TRUE(out.ok());
    auto [ids, labels] = FirstTrain(out->manifest);
    return testing::PrintToString(ids) + testing::PrintToString(labels);
  }();
  fs::remove_all(config_.shard_dir);
  config_.train_files = {Write("train.jsonl",
                               R"({"tokens": ["anna", "wohnt", "in", "berlin", "."], "tags": ["B-PER", "O", "O", "B-LOC", "O"], "lang": "de"})"
                               "\n"
                               R"({"tokens": ["karl", "lebt"], "tags": ["B-PER", "O"], "lang": "de"})"
                               "\n")};
  auto out = ShardDataset(config_, Logger("tagged_data_test"));
  ASSERT_TRUE(out.ok()) << out.status().message();
  auto [ids, labels] = FirstTrain(out->manifest);
  EXPECT_EQ(testing::PrintToString(ids) + testing::PrintToString(labels), conll_ids);
}

TEST_F(TaggedDataTest, PlainTagsHaveNoSpans) {
  config_.train_files = {Write("pos.conll", "anna\tNE\nwohnt\tVVFIN\n\nkarl\tNE\nlebt\tVVFIN\n\n")};
  config_.valid_files = {Write("pos-valid.conll", "karl\tNE\nist\tVAFIN\n\n")};
  auto out = ShardDataset(config_, Logger("tagged_data_test"));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->manifest.tag_scheme, TagScheme::kPlain);
  fs::remove_all(config_.shard_dir);
  config_.needs_spans = true;  // metric f1
  ExpectFailure("data: the tags (NE, VAFIN, VVFIN) are not entity tags");
}

TEST_F(TaggedDataTest, RefusesATagOutsideTheSchemeNamingTheLine) {
  config_.tag_scheme = TagScheme::kIob2;
  config_.train_files = {Write("bad.conll", "anna\tB-PER\n\nkarl\tS-PER\nlebt\tO\n\n")};
  ExpectFailure("bad.conll:3: word 1 (\"karl\"): tag \"S-PER\" is outside data.tag_scheme iob2");
}

TEST_F(TaggedDataTest, RefusesAWrongColumnCountNamingTheLineOrCountsIt) {
  config_.train_files = {Write("bad.conll", std::string(kTrainText) + "karl B-PER extra\nlebt\tO\n\n")};
  ExpectFailure("bad.conll:10: expected 2 columns (as the file's first token line), got 3");
  config_.max_bad_lines = 1;  // the sentence is skipped and counted
  auto out = ShardDataset(config_, Logger("tagged_data_test"));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->manifest.bad_lines, 1);
  EXPECT_EQ(out->manifest.split_size(kTrain), 2);
}

TEST_F(TaggedDataTest, EncodesWordsAsHuggingFacesWordIds) {
  auto tokenizer = Tokenizer::Load(config_.tokenizer, TokenIds::kWordPiece);
  ASSERT_TRUE(tokenizer.ok());
  WordPieces p;
  ASSERT_TRUE(EncodeWords(**tokenizer, {"Anna", "Berlin."}, 64, &p).ok());
  // [CLS] anna ber ##lin . [SEP]: "Berlin." is one word of two pre-tokens.
  EXPECT_EQ(p.ids, (std::vector<int>{2, 5, 8, 9, 10, 3}));
  EXPECT_EQ(p.word, (std::vector<int>{kNoWord, 0, 1, 1, 1, kNoWord}));
  EXPECT_EQ(p.first, (std::vector<bool>{false, true, true, false, false, false}));
  EXPECT_EQ(p.words_kept, 2u);
  ASSERT_TRUE(EncodeWords(**tokenizer, {"Anna", "Berlin."}, 4, &p).ok());  // [CLS] anna ber [SEP]
  EXPECT_EQ(p.words_kept, 2u);
  ASSERT_TRUE(EncodeWords(**tokenizer, {"Anna", "Berlin."}, 3, &p).ok());  // [CLS] anna [SEP]
  EXPECT_EQ(p.words_kept, 1u);
}

}  // namespace
}  // namespace polysweep
