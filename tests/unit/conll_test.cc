// Reading tagged sentences: CoNLL column files (dataprep/conll.h) and JSONL
// tokens/tags arrays (common/example.h).
#include "dataprep/conll.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "common/example.h"

namespace polysweep {
namespace {

class ConllTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "conll_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl + "/data.conll";
  }
  // Every sentence of `text`, or the first bad one's error as "LINE: why".
  std::vector<Example> Read(const std::string& text, ConllColumns columns, std::string* bad = nullptr) {
    std::ofstream(path_) << text;
    auto reader = ConllReader::Open(path_, columns, 1 << 20);
    EXPECT_TRUE(reader.ok());
    std::vector<Example> out;
    while (true) {
      Example ex;
      int64_t line = 0;
      const auto r = (*reader)->Next(&ex, &line);
      if (r == ConllReader::Result::kEnd || r == ConllReader::Result::kError) break;
      if (r == ConllReader::Result::kBad) {
        if (bad && bad->empty()) *bad = std::to_string(line) + ": " + (*reader)->error();
        continue;
      }
      out.push_back(ex);
    }
    return out;
  }
  std::string path_;
};

TEST_F(ConllTest, ReadsSentencesSkippingDocstartAndComments) {
  const std::string text =
      "-DOCSTART- -X- -X- O\n\n"
      "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n\n"
      "# a comment\n"
      "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n";  // no blank line at the end
  const auto s = Read(text, ConllColumns{0, -1, "en"});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].words, (std::vector<std::string>{"EU", "rejects", "German"}));
  EXPECT_EQ(s[0].tags, (std::vector<std::string>{"B-ORG", "O", "B-MISC"}));
  EXPECT_EQ(s[0].text, "EU rejects German");
  EXPECT_EQ(s[0].lang, "en");
  EXPECT_EQ(s[1].tags, (std::vector<std::string>{"B-PER", "I-PER"}));
  // Another column as the tag: the part of speech.
  const auto pos = Read(text, ConllColumns{0, 1, "en"});
  ASSERT_EQ(pos.size(), 2u);
  EXPECT_EQ(pos[0].tags, (std::vector<std::string>{"NNP", "VBZ", "JJ"}));
}

TEST_F(ConllTest, TakesTheLanguageFromACommentOrDataLang) {
  const auto s = Read("# lang = de\nDer\tART\nHund\tNN\n\n# lang=fr\nLe\tDT\n\n", ConllColumns{0, -1, "en"});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].lang, "de");
  EXPECT_EQ(s[1].lang, "fr");
  std::string bad;
  EXPECT_TRUE(Read("Der\tART\n", ConllColumns{0, -1, ""}, &bad).empty());
  EXPECT_EQ(bad, "1: no language: set data.lang, or write a \"# lang = xx\" line before the sentence");
}

TEST_F(ConllTest, RefusesALineWithTheWrongNumberOfColumnsNamingIt) {
  std::string bad;
  const auto s = Read("a DT O\nb NN\nc NN O\n\nd DT O\n\n", ConllColumns{0, -1, "en"}, &bad);
  EXPECT_EQ(bad, "2: expected 3 columns (as the file's first token line), got 2");
  ASSERT_EQ(s.size(), 1u);  // the bad sentence skipped whole, the next one read
  EXPECT_EQ(s[0].words, (std::vector<std::string>{"d"}));
  bad.clear();
  Read("word\n", ConllColumns{0, -1, "en"}, &bad);
  EXPECT_EQ(bad, "1: 1 column, but data.token_column and data.tag_column need 2");
  bad.clear();
  Read("a\tb\n", ConllColumns{0, 4, "en"}, &bad);
  EXPECT_EQ(bad, "1: 2 columns, but data.token_column and data.tag_column need 5");
}

TEST(TaggedJsonl, ReadsTokensAndTagsArrays) {
  ExampleFields f;
  f.label = "";
  f.tokens = "tokens";
  f.tags = "tags";
  auto ex = ParseExampleLine(R"({"tokens": ["Anna", "wohnt", "in", "Köln"], "tags": ["B-PER", "O", "O", "B-LOC"], "lang": "de"})", f);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(ex->text, "Anna wohnt in Köln");
  EXPECT_EQ(ex->tags.size(), 4u);
  auto error = [&](const std::string& line) {
    auto r = ParseExampleLine(line, f);
    EXPECT_FALSE(r.ok()) << line;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(error(R"({"tokens": ["a", "b"], "tags": ["O"], "lang": "de"})"),
            "field \"tokens\" has 2 words but \"tags\" 1 tags");
  EXPECT_EQ(error(R"({"tokens": "a b", "tags": ["O"], "lang": "de"})"), "field \"tokens\" must be an array of strings");
  EXPECT_EQ(error(R"({"tokens": ["a", 3], "tags": ["O", "O"], "lang": "de"})"), "field \"tokens\" item 2 is not a string");
  EXPECT_EQ(error(R"({"tokens": ["a b"], "tags": ["O"], "lang": "de"})"), "word 1 (\"a b\") contains white space");
  EXPECT_EQ(error(R"({"tokens": [], "tags": [], "lang": "de"})"), "field \"tokens\" is empty");
  EXPECT_EQ(error(R"({"tokens": ["a"], "lang": "de"})"), "missing field \"tags\"");
}

}  // namespace
}  // namespace polysweep
