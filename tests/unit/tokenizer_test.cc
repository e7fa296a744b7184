// The tokenizer (tokenizer/tokenizer.h) on a small model trained here:
// encoding with piece offsets gives the same ids as plain encoding, and each
// piece's offsets cover the bytes of the text it came from.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace polysweep {
namespace {

namespace fs = std::filesystem;

class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "tokenizer_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::string(tmpl);
    {
      std::ofstream out(*dir_ + "/sample.txt");
      for (int i = 0; i < 200; ++i) {
        out << "the quick brown fox " << i << " jumps over the lazy dog\n"
            << "Русский текст номер " << i << ", čeština a Deutsch\n";
      }
    }
    ASSERT_TRUE(Tokenizer::Train("--input=" + *dir_ + "/sample.txt --model_prefix=" + *dir_ +
                                 "/tok --vocab_size=120 --model_type=unigram --hard_vocab_limit=false "
                                 "--minloglevel=2 --num_threads=1")
                    .ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string* dir_;
};
std::string* TokenizerTest::dir_ = nullptr;

TEST_F(TokenizerTest, OffsetsComeWithTheSameIdsAndCoverTheirPieces) {
  auto tok = Tokenizer::Load(*dir_ + "/tok.model");
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  for (const std::string text : {"the quick brown fox jumps", "Русский текст, čeština", "  two  spaces "}) {
    std::vector<int> ids, with_offsets;
    std::vector<PieceOffsets> offsets;
    ASSERT_TRUE((*tok)->Encode(text, 64, &ids).ok());
    ASSERT_TRUE((*tok)->Encode(text, 64, &with_offsets, &offsets).ok());
    EXPECT_EQ(with_offsets, ids) << text;
    ASSERT_EQ(offsets.size(), ids.size()) << text;
    uint32_t at = 0;
    for (const PieceOffsets& o : offsets) {
      EXPECT_LE(o.begin, o.end) << text;
      EXPECT_LE(at, o.begin) << text;  // in order, not overlapping
      EXPECT_LE(o.end, text.size()) << text;
      at = o.end;
    }
    // The words' bytes are covered: the last piece ends where the last word does.
    EXPECT_EQ(offsets.back().end, text.find_last_not_of(' ') + 1) << text;
  }
  // Each piece covers its word's bytes and the space its word-boundary mark
  // stands for: together they spell the text.
  std::vector<int> ids;
  std::vector<PieceOffsets> offsets;
  const std::string text = "the quick fox";
  ASSERT_TRUE((*tok)->Encode(text, 64, &ids, &offsets).ok());
  std::string spelled;
  for (const PieceOffsets& o : offsets) spelled += text.substr(o.begin, o.end - o.begin);
  EXPECT_EQ(spelled, text);
}

TEST_F(TokenizerTest, AtMostMaxIdsWithTheirOffsets) {
  auto tok = Tokenizer::Load(*dir_ + "/tok.model");
  ASSERT_TRUE(tok.ok());
  std::vector<int> all, cut = {7};  // appends after what is there
  std::vector<PieceOffsets> all_offsets, cut_offsets;
  const std::string text = "the quick brown fox jumps over the lazy dog";
  ASSERT_TRUE((*tok)->Encode(text, 64, &all, &all_offsets).ok());
  ASSERT_GT(all.size(), 3u);
  ASSERT_TRUE((*tok)->Encode(text, 3, &cut, &cut_offsets).ok());
  ASSERT_EQ(cut.size(), 4u);
  EXPECT_EQ(cut[0], 7);
  EXPECT_EQ(std::vector<int>(cut.begin() + 1, cut.end()), std::vector<int>(all.begin(), all.begin() + 3));
  EXPECT_EQ(cut_offsets, std::vector<PieceOffsets>(all_offsets.begin(), all_offsets.begin() + 3));
}

// XLM-R's numbering of a SentencePiece model (fairseq's dictionary): the
// same pieces one id up, <unk> at 3, and every text wrapped in <s> (0) and
// </s> (2), within the same budget of ids.
TEST_F(TokenizerTest, FairseqIdsAreThePiecesOneUpWrappedInBosAndEos) {
  auto plain = Tokenizer::Load(*dir_ + "/tok.model");
  auto fairseq = Tokenizer::Load(*dir_ + "/tok.model", TokenIds::kFairseq);
  ASSERT_TRUE(plain.ok() && fairseq.ok());
  EXPECT_EQ((*fairseq)->vocab_size(), (*plain)->vocab_size() + 2);  // <pad> and <mask> join the pieces
  EXPECT_EQ((*fairseq)->pad_id(), 1);
  EXPECT_EQ((*fairseq)->unk_id(), 3);
  const std::string text = "the quick brown fox \u2603 jumps";  // a snowman the model has no piece for
  std::vector<int> pieces, ids;
  std::vector<PieceOffsets> piece_offsets, offsets;
  ASSERT_TRUE((*plain)->Encode(text, 64, &pieces, &piece_offsets).ok());
  ASSERT_TRUE((*fairseq)->Encode(text, 64, &ids, &offsets).ok());
  ASSERT_NE(std::find(pieces.begin(), pieces.end(), 0), pieces.end()) << "the text has an unknown piece";
  std::vector<int> expected = {0};
  for (int id : pieces) expected.push_back(id == 0 ? 3 : id + 1);
  expected.push_back(2);
  EXPECT_EQ(ids, expected);
  ASSERT_EQ(offsets.size(), ids.size());
  EXPECT_EQ(offsets.front(), (PieceOffsets{0, 0}));
  EXPECT_EQ(offsets.back(), (PieceOffsets{static_cast<uint32_t>(text.size()), static_cast<uint32_t>(text.size())}));
  EXPECT_EQ(std::vector<PieceOffsets>(offsets.begin() + 1, offsets.end() - 1), piece_offsets);

  // The budget holds the two specials: 5 ids are <s>, three pieces, </s>.
  std::vector<int> cut;
  ASSERT_TRUE((*fairseq)->Encode(text, 5, &cut).ok());
  EXPECT_EQ(cut, (std::vector<int>{0, expected[1], expected[2], expected[3], 2}));
  EXPECT_FALSE((*fairseq)->Encode(text, 1, &cut).ok());

  // XLM-R's special tokens written in a text are those tokens, as Hugging
  // Face's tokenizer reads them; <mask> takes the space before it.
  const int mask = (*fairseq)->vocab_size() - 1;
  std::vector<int> fox, marked;
  std::vector<PieceOffsets> marked_offsets;
  ASSERT_TRUE((*fairseq)->Encode("fox", 64, &fox).ok());
  ASSERT_TRUE((*fairseq)->Encode("fox <mask></s>", 64, &marked, &marked_offsets).ok());
  std::vector<int> want(fox.begin(), fox.end() - 1);
  want.insert(want.end(), {mask, 2, 2});
  EXPECT_EQ(marked, want);
  EXPECT_EQ(marked_offsets[marked_offsets.size() - 3], (PieceOffsets{3, 10})) << "<mask> with the space before it";
}

}  // namespace
}  // namespace polysweep
