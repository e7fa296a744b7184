// The tokenizer (tokenizer/tokenizer.h) on a small model trained here:
// encoding with piece offsets gives the same ids as plain encoding, and each
// piece's offsets cover the bytes of the text it came from.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

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

}  // namespace
}  // namespace polysweep
