// Text pairs (tokenizer/pair.h, Tokenizer::EncodePair): the longest-first
// truncation's lengths worked out by hand and checked against a step-by-step
// statement of the rule; where the library stops counting a text; the frame, the second segment's start, offsets and
// refusals; and EncodePair on a WordPiece vocabulary small enough to work
// out by hand and on SentencePiece models trained here (own ids, with and
// without </s>; fairseq ids). tests/oracle/ compares pairs with Hugging
// Face's library.
#include "tokenizer/pair.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/files.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/wordpiece.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

TEST(TruncateLongestFirstTest, KeepsWhatFitsThenTheShorterThenHalves) {
  EXPECT_EQ(TruncateLongestFirst(3, 4, 7), (PairLengths{3, 4}));     // fits
  EXPECT_EQ(TruncateLongestFirst(3, 20, 10), (PairLengths{3, 7}));   // the shorter kept whole
  EXPECT_EQ(TruncateLongestFirst(20, 3, 10), (PairLengths{7, 3}));
  EXPECT_EQ(TruncateLongestFirst(5, 20, 10), (PairLengths{5, 5}));
  EXPECT_EQ(TruncateLongestFirst(6, 20, 10), (PairLengths{5, 5}));   // halves
  EXPECT_EQ(TruncateLongestFirst(6, 20, 11), (PairLengths{5, 6}));   // the odd piece to the longer...
  EXPECT_EQ(TruncateLongestFirst(20, 6, 11), (PairLengths{6, 5}));
  EXPECT_EQ(TruncateLongestFirst(9, 9, 9), (PairLengths{4, 5}));     // ...and to the second among equals
  EXPECT_EQ(TruncateLongestFirst(0, 20, 10), (PairLengths{0, 10}));
  EXPECT_EQ(TruncateLongestFirst(20, 0, 10), (PairLengths{10, 0}));
  EXPECT_EQ(TruncateLongestFirst(20, 30, 0), (PairLengths{0, 0}));
  EXPECT_EQ(TruncateLongestFirst(20, 30, 1), (PairLengths{0, 1}));
  EXPECT_EQ(TruncateLongestFirst(30, 20, 1), (PairLengths{1, 0}));
}

// The rule as the library states it, step by step (n1 the shorter, swapped
// back at the end), against the function on every small case: never over
// the budget, never longer than a text, and all of the budget used.
TEST(TruncateLongestFirstTest, AgreesWithTheRuleStepByStep) {
  for (size_t a = 0; a <= 24; ++a) {
    for (size_t b = 0; b <= 24; ++b) {
      for (size_t max = 0; max <= 50; ++max) {
        PairLengths want{a, b};
        if (a + b > max) {
          size_t n1 = std::min(a, b), n2 = std::max(a, b);
          n2 = n1 > max ? n1 : std::max(n1, max - n1);
          if (n1 + n2 > max) {
            n1 = max / 2;
            n2 = n1 + max % 2;
          }
          want = a > b ? PairLengths{n2, n1} : PairLengths{n1, n2};
        }
        const PairLengths got = TruncateLongestFirst(a, b, max);
        ASSERT_EQ(got, want) << a << " " << b << " " << max;
        ASSERT_LE(got.first, a);
        ASSERT_LE(got.second, b);
        ASSERT_EQ(got.first + got.second, std::min(a + b, max)) << a << " " << b << " " << max;
      }
    }
  }
}

TextPieces Pieces(std::vector<int> ids) {
  TextPieces p;
  for (size_t i = 0; i < ids.size(); ++i) p.offsets.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1)});
  p.ids = std::move(ids);
  return p;
}

// The library stops encoding a text at the end of the word that brings it
// to max_ids pieces; a special token written in the text does not stop it.
TEST(EncodedLengthTest, EndsWithTheWordThatReachesTheBudget) {
  TextPieces text;
  text.ids.assign(10, 7);
  text.word_ends = {2, 5, 6, 9, 10};  // pieces 6..8 one word, piece 9 a special token after it
  EXPECT_EQ(EncodedLength(text, 1), 2u);
  EXPECT_EQ(EncodedLength(text, 3), 5u);
  EXPECT_EQ(EncodedLength(text, 5), 5u);
  EXPECT_EQ(EncodedLength(text, 7), 9u);
  EXPECT_EQ(EncodedLength(text, 10), 10u);
  EXPECT_EQ(EncodedLength(text, 11), 10u);
  text.word_ends = {2, 5, 6, 9};  // the special token last: no word ends at 10
  EXPECT_EQ(EncodedLength(text, 10), 10u);
}

// Where both texts are longer than the budget, the odd piece goes to the
// one longer when each is counted to the end of the word that reached it.
TEST(AppendPairTest, CountsEachTextToTheWordThatReachedTheBudget) {
  const PairFrame bert{{101}, {102}, {102}, 1};
  TextPieces a, b;
  a.ids = {10, 11, 12, 13, 14, 15, 16, 17};  // 8 pieces, words of 4: counted to 8 at max_ids 6
  a.word_ends = {4, 8};
  b.ids = {20, 21, 22, 23, 24, 25, 26, 27, 28};  // 9 pieces, words of 1: counted to 6
  for (uint32_t i = 1; i <= 9; ++i) b.word_ends.push_back(i);
  std::vector<int> out;
  size_t second = 0;
  ASSERT_TRUE(AppendPair(bert, a, b, 6, &out, nullptr, &second).ok());
  EXPECT_EQ(out, (std::vector<int>{101, 10, 11, 102, 20, 102})) << "3 pieces: 2 to a, 1 to b";
  EXPECT_EQ(second, 4u);
  a.word_ends = {1, 2, 3, 4, 5, 6, 7, 8};  // words of 1: a counted to 6 as b, the odd piece to b
  out.clear();
  ASSERT_TRUE(AppendPair(bert, a, b, 6, &out, nullptr, &second).ok());
  EXPECT_EQ(out, (std::vector<int>{101, 10, 102, 20, 21, 102}));
}

TEST(AppendPairTest, FramesCutsAndMarksTheSecondSegment) {
  const PairFrame roberta{{0}, {2, 2}, {2}, 1};
  std::vector<int> out = {99};  // appended after what is there
  std::vector<PieceOffsets> offsets = {{7, 7}};
  size_t second = 0;
  ASSERT_TRUE(AppendPair(roberta, Pieces({10, 11, 12}), Pieces({20, 21, 22, 23, 24, 25}), 10, &out, &offsets,
                         &second).ok());
  EXPECT_EQ(out, (std::vector<int>{99, 0, 10, 11, 12, 2, 2, 20, 21, 22, 2}));
  EXPECT_EQ(second, 5u) << "the second </s>, counted from the first id appended";
  EXPECT_EQ(offsets, (std::vector<PieceOffsets>{{7, 7}, {0, 0}, {0, 1}, {1, 2}, {2, 3}, {0, 0}, {0, 0}, {0, 1},
                                                {1, 2}, {2, 3}, {0, 0}}));

  const PairFrame bert{{101}, {102}, {102}, 1};
  out.clear();
  ASSERT_TRUE(AppendPair(bert, Pieces({10, 11}), Pieces({}), 3, &out, nullptr, &second).ok());
  EXPECT_EQ(out, (std::vector<int>{101, 102, 102}));
  EXPECT_EQ(second, 2u) << "an empty second text: the last [SEP] begins its segment";

  const PairFrame separator{{}, {2}, {}, 1};
  out.clear();
  ASSERT_TRUE(AppendPair(separator, Pieces({10, 11}), Pieces({20}), 100, &out, nullptr, &second).ok());
  EXPECT_EQ(out, (std::vector<int>{10, 11, 2, 20}));
  EXPECT_EQ(second, 3u);

  out = {99};
  EXPECT_FALSE(AppendPair(roberta, Pieces({10}), Pieces({20}), 3, &out, nullptr, &second).ok());
  EXPECT_EQ(out, (std::vector<int>{99})) << "no room for the frame: nothing appended";
  ASSERT_TRUE(AppendPair(roberta, Pieces({10}), Pieces({20}), 4, &out, nullptr, nullptr).ok());
  EXPECT_EQ(out, (std::vector<int>{99, 0, 2, 2, 2}));
}

class TokenizerPairTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "tokenizer_pair_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::string(tmpl);
    {
      std::ofstream out(*dir_ + "/sample.txt");
      for (int i = 0; i < 200; ++i) out << "the quick brown fox " << i << " jumps over the lazy dog\n";
    }
    for (const char* eos : {"2", "-1"}) {
      ASSERT_TRUE(Tokenizer::Train("--input=" + *dir_ + "/sample.txt --model_prefix=" + *dir_ + "/eos" + eos +
                                   " --vocab_size=60 --model_type=unigram --hard_vocab_limit=false --pad_id=3"
                                   " --eos_id=" + eos + " --minloglevel=2 --num_threads=1")
                      .ok());
    }
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::vector<int> Ids(const Tokenizer& t, const std::string& text) {
    std::vector<int> ids;
    EXPECT_TRUE(t.Encode(text, 1 << 20, &ids).ok());
    return ids;
  }
  static std::string* dir_;
};
std::string* TokenizerPairTest::dir_ = nullptr;

TEST_F(TokenizerPairTest, WordPiecePairIsClsASepBSep) {
  WordPieceSpec spec;
  spec.vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "cafe", "!", "a", "##b"};
  spec.special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  ASSERT_TRUE(WriteFileAtomic(*dir_ + "/tokenizer.json", WordPieceTokenizerJson(spec)).ok());
  auto bert = Tokenizer::Load(*dir_ + "/tokenizer.json", TokenIds::kWordPiece);
  ASSERT_TRUE(bert.ok()) << bert.status().message();
  std::vector<int> ids;
  std::vector<PieceOffsets> offsets;
  size_t second = 0;
  ASSERT_TRUE((*bert)->EncodePair("unaffable!", "cafe [MASK] ab", 64, &ids, &second, &offsets).ok());
  EXPECT_EQ(ids, (std::vector<int>{2, 5, 6, 7, 9, 3, 8, 4, 10, 11, 3}));
  EXPECT_EQ(second, 6u);
  EXPECT_EQ(offsets, (std::vector<PieceOffsets>{{0, 0}, {0, 2}, {2, 5}, {5, 9}, {9, 10}, {0, 0}, {0, 4}, {5, 11},
                                                {12, 13}, {13, 14}, {0, 0}}));
  // 8 ids: 5 pieces for two texts of 4, half each, the odd one to the second.
  ids.clear();
  ASSERT_TRUE((*bert)->EncodePair("unaffable!", "cafe [MASK] ab", 8, &ids, &second).ok());
  EXPECT_EQ(ids, (std::vector<int>{2, 5, 6, 3, 8, 4, 10, 3}));
  EXPECT_EQ(second, 4u);
  ids.clear();
  EXPECT_FALSE((*bert)->EncodePair("a", "a", 2, &ids, &second).ok());
  EXPECT_TRUE(ids.empty());
}

TEST_F(TokenizerPairTest, OwnSentencePiecePutsItsEosBetweenTheTexts) {
  auto with_eos = Tokenizer::Load(*dir_ + "/eos2.model");
  auto without = Tokenizer::Load(*dir_ + "/eos-1.model");
  ASSERT_TRUE(with_eos.ok() && without.ok());
  const std::string a = "the quick brown fox", b = "jumps over the lazy dog";
  const std::vector<int> ia = Ids(**with_eos, a), ib = Ids(**with_eos, b);
  ASSERT_LT(ia.size(), ib.size());
  std::vector<int> ids, want = ia;
  want.push_back(2);
  want.insert(want.end(), ib.begin(), ib.end());
  size_t second = 0;
  ASSERT_TRUE((*with_eos)->EncodePair(a, b, 1000, &ids, &second).ok());
  EXPECT_EQ(ids, want);
  EXPECT_EQ(second, ia.size() + 1) << "b's first piece";

  // Room for a whole and one piece more of b: the shorter text is kept whole.
  ASSERT_GT(ib.size(), ia.size() + 1);
  const size_t max_ids = ia.size() + 1 + ia.size() + 1;
  ids.clear();
  ASSERT_TRUE((*with_eos)->EncodePair(a, b, max_ids, &ids, &second).ok());
  EXPECT_EQ(ids, std::vector<int>(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(max_ids)));
  ids.clear();
  EXPECT_FALSE((*with_eos)->EncodePair(a, b, 0, &ids, &second).ok()) << "no room for </s>";

  // Without </s>: the pieces one after the other.
  const std::vector<int> ja = Ids(**without, a), jb = Ids(**without, b);
  ids.clear();
  ASSERT_TRUE((*without)->EncodePair(a, b, 1000, &ids, &second).ok());
  want = ja;
  want.insert(want.end(), jb.begin(), jb.end());
  EXPECT_EQ(ids, want);
  EXPECT_EQ(second, ja.size());
}

TEST_F(TokenizerPairTest, FairseqPairIsBosAEosEosBEosWithOffsetsInEachText) {
  auto xlmr = Tokenizer::Load(*dir_ + "/eos2.model", TokenIds::kFairseq);
  ASSERT_TRUE(xlmr.ok());
  const std::string a = "the lazy dog", b = "quick</s>fox";  // a special token written in b is one of its pieces
  std::vector<int> ia, ib;
  std::vector<PieceOffsets> oa, ob;
  ASSERT_TRUE((*xlmr)->Encode(a, 100, &ia, &oa).ok());
  ASSERT_TRUE((*xlmr)->Encode(b, 100, &ib, &ob).ok());
  std::vector<int> want = {0};
  want.insert(want.end(), ia.begin() + 1, ia.end() - 1);
  want.insert(want.end(), {2, 2});
  want.insert(want.end(), ib.begin() + 1, ib.end() - 1);
  want.push_back(2);
  std::vector<int> ids;
  std::vector<PieceOffsets> offsets;
  size_t second = 0;
  ASSERT_TRUE((*xlmr)->EncodePair(a, b, 100, &ids, &second, &offsets).ok());
  EXPECT_EQ(ids, want);
  EXPECT_EQ(second, ia.size()) << "the second </s>: 1 + the pieces of a + 1";
  ASSERT_EQ(offsets.size(), ids.size());
  const auto na = static_cast<std::ptrdiff_t>(ia.size());
  EXPECT_EQ(std::vector<PieceOffsets>(offsets.begin() + 1, offsets.begin() + na - 1),
            std::vector<PieceOffsets>(oa.begin() + 1, oa.end() - 1));
  EXPECT_EQ(std::vector<PieceOffsets>(offsets.begin() + na + 1, offsets.end() - 1),
            std::vector<PieceOffsets>(ob.begin() + 1, ob.end() - 1));
  EXPECT_EQ(offsets.back(), (PieceOffsets{0, 0}));
}

}  // namespace
}  // namespace polysweep
