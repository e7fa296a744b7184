// Tests of the dataset line parser and the UTF-8 validator (common/example.h).
#include "common/example.h"

#include <gtest/gtest.h>

#include <string>

namespace polysweep {
namespace {

constexpr size_t npos = std::string_view::npos;

TEST(FindInvalidUtf8, AcceptsValidMultilingualText) {
  EXPECT_EQ(FindInvalidUtf8(""), npos);
  EXPECT_EQ(FindInvalidUtf8("plain ASCII, with punctuation!"), npos);
  EXPECT_EQ(FindInvalidUtf8("Schöne Grüße, ça va? Příliš žluťoučký kůň"), npos);
  EXPECT_EQ(FindInvalidUtf8("日本語のテキスト"), npos);                // 3-byte sequences
  EXPECT_EQ(FindInvalidUtf8("Русский текст"), npos);                  // 2-byte sequences
  EXPECT_EQ(FindInvalidUtf8("한국어 텍스트"), npos);
  EXPECT_EQ(FindInvalidUtf8("emoji \xF0\x9F\x98\x80 and \xF0\x9F\x8E\x89"), npos);  // 4-byte
  // Boundaries of the valid ranges.
  EXPECT_EQ(FindInvalidUtf8("\xC2\x80"), npos);          // U+0080
  EXPECT_EQ(FindInvalidUtf8("\xE0\xA0\x80"), npos);      // U+0800
  EXPECT_EQ(FindInvalidUtf8("\xED\x9F\xBF"), npos);      // U+D7FF, just below surrogates
  EXPECT_EQ(FindInvalidUtf8("\xEE\x80\x80"), npos);      // U+E000, just above surrogates
  EXPECT_EQ(FindInvalidUtf8("\xF0\x90\x80\x80"), npos);  // U+10000
  EXPECT_EQ(FindInvalidUtf8("\xF4\x8F\xBF\xBF"), npos);  // U+10FFFF
  EXPECT_EQ(FindInvalidUtf8(std::string_view("a\0b", 3)), npos);  // NUL is valid UTF-8
}

TEST(FindInvalidUtf8, ReportsOffsetOfTruncatedSequences) {
  EXPECT_EQ(FindInvalidUtf8("abc\xC3"), 3u);              // 2-byte lead at the end
  EXPECT_EQ(FindInvalidUtf8("ab\xE6\x97"), 2u);           // 3-byte sequence cut after 2
  EXPECT_EQ(FindInvalidUtf8("\xF0\x9F\x98"), 0u);         // 4-byte sequence cut after 3
  EXPECT_EQ(FindInvalidUtf8("x\xC3y"), 1u);               // continuation missing mid-string
  EXPECT_EQ(FindInvalidUtf8("日本\xE8\xAA"), 6u);          // valid text, then a cut character
}

TEST(FindInvalidUtf8, RejectsStrayAndInvalidBytes) {
  EXPECT_EQ(FindInvalidUtf8("ok\x80"), 2u);    // lone continuation byte
  EXPECT_EQ(FindInvalidUtf8("\xBF"), 0u);
  EXPECT_EQ(FindInvalidUtf8("ab\xFF"), 2u);    // never valid in UTF-8
  EXPECT_EQ(FindInvalidUtf8("\xFE"), 0u);
  EXPECT_EQ(FindInvalidUtf8("\xF8\x88\x80\x80\x80"), 0u);  // old 5-byte form
  EXPECT_EQ(FindInvalidUtf8("\xF4\x90\x80\x80"), 0u);      // U+110000, above the range
  EXPECT_EQ(FindInvalidUtf8("\xF5\x80\x80\x80"), 0u);
}

TEST(FindInvalidUtf8, RejectsOverlongEncodings) {
  EXPECT_EQ(FindInvalidUtf8("\xC0\xAF"), 0u);              // '/' in 2 bytes
  EXPECT_EQ(FindInvalidUtf8("a\xC1\xBF"), 1u);             // U+007F in 2 bytes
  EXPECT_EQ(FindInvalidUtf8("ab\xE0\x80\xAF"), 2u);        // '/' in 3 bytes
  EXPECT_EQ(FindInvalidUtf8("\xE0\x9F\xBF"), 0u);          // U+07FF in 3 bytes
  EXPECT_EQ(FindInvalidUtf8("\xF0\x8F\xBF\xBF"), 0u);      // U+FFFF in 4 bytes
  EXPECT_EQ(FindInvalidUtf8("\xC0\x80"), 0u);              // "modified UTF-8" NUL
}

TEST(FindInvalidUtf8, RejectsSurrogates) {
  EXPECT_EQ(FindInvalidUtf8("\xED\xA0\x80"), 0u);          // U+D800
  EXPECT_EQ(FindInvalidUtf8("x\xED\xBF\xBF"), 1u);         // U+DFFF
  EXPECT_EQ(FindInvalidUtf8("\xED\xA0\xBD\xED\xB8\x80"), 0u);  // CESU-8 pair for U+1F600
}

ExampleFields Fields() { return ExampleFields{}; }

TEST(ParseExampleLine, ParsesGoodLine) {
  auto ex = ParseExampleLine(R"({"text": "Ein Spiel mit Würfeln", "label": "games", "lang": "de", "extra": [1]})",
                             Fields());
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(ex->text, "Ein Spiel mit Würfeln");
  EXPECT_EQ(ex->label, "games");
  EXPECT_EQ(ex->lang, "de");
  EXPECT_EQ(ex->group, "");
}

TEST(ParseExampleLine, ParsesMultilingualTextAndEscapes) {
  auto ja = ParseExampleLine(R"({"text": "日本語の説明", "label": "text", "lang": "ja"})", Fields());
  ASSERT_TRUE(ja.ok()) << ja.status().message();
  EXPECT_EQ(ja->text, "日本語の説明");
  auto esc = ParseExampleLine(R"({"text": "\u0420\u0443\u0441 \"q\"", "label": "net", "lang": "ru"})", Fields());
  ASSERT_TRUE(esc.ok()) << esc.status().message();
  EXPECT_EQ(esc->text, "Рус \"q\"");
}

TEST(ParseExampleLine, AcceptsIntegerLabel) {
  auto ex = ParseExampleLine(R"({"text": "x", "label": 7, "lang": "en"})", Fields());
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(ex->label, "7");
  auto neg = ParseExampleLine(R"({"text": "x", "label": -2, "lang": "en"})", Fields());
  ASSERT_TRUE(neg.ok()) << neg.status().message();
  EXPECT_EQ(neg->label, "-2");
}

// Integer labels keep their decimal text, so distinct labels stay distinct
// (an integer above INT64_MAX once wrapped to "-1").
TEST(ParseExampleLine, HugeIntegerLabelKeepsItsDigits) {
  auto ex = ParseExampleLine(R"({"text": "x", "label": 18446744073709551615, "lang": "en"})", Fields());
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(ex->label, "18446744073709551615");
  auto big = ParseExampleLine(R"({"text": "x", "label": 9223372036854775808, "lang": "en"})", Fields());
  ASSERT_TRUE(big.ok()) << big.status().message();
  EXPECT_EQ(big->label, "9223372036854775808");
}

TEST(ParseExampleLine, RejectsNonStringFields) {
  auto real_label = ParseExampleLine(R"({"text": "x", "label": 1.5, "lang": "en"})", Fields());
  ASSERT_FALSE(real_label.ok());
  EXPECT_NE(real_label.status().message().find("\"label\" must be a string"), std::string::npos)
      << real_label.status().message();
  auto int_text = ParseExampleLine(R"({"text": 3, "label": "a", "lang": "en"})", Fields());
  ASSERT_FALSE(int_text.ok());
  EXPECT_NE(int_text.status().message().find("\"text\""), std::string::npos);
}

TEST(ParseExampleLine, MissingFieldIsNamed) {
  auto no_label = ParseExampleLine(R"({"text": "x", "lang": "en"})", Fields());
  ASSERT_FALSE(no_label.ok());
  EXPECT_EQ(no_label.status().message(), "missing field \"label\"");

  auto null_lang = ParseExampleLine(R"({"text": "x", "label": "a", "lang": null})", Fields());
  ASSERT_FALSE(null_lang.ok());
  EXPECT_EQ(null_lang.status().message(), "missing field \"lang\"");

  ExampleFields custom{"body", "topic", "language", ""};
  auto custom_missing = ParseExampleLine(R"({"body": "x", "label": "a", "language": "en"})", custom);
  ASSERT_FALSE(custom_missing.ok());
  EXPECT_EQ(custom_missing.status().message(), "missing field \"topic\"");
  auto custom_ok = ParseExampleLine(R"({"body": "x", "topic": "a", "language": "en"})", custom);
  ASSERT_TRUE(custom_ok.ok()) << custom_ok.status().message();
  EXPECT_EQ(custom_ok->label, "a");
}

TEST(ParseExampleLine, RejectsEmptyTextAndLabel) {
  for (const char* line : {R"({"text": "", "label": "a", "lang": "en"})",
                           R"({"text": " \t\n ", "label": "a", "lang": "en"})"}) {
    auto ex = ParseExampleLine(line, Fields());
    ASSERT_FALSE(ex.ok()) << line;
    EXPECT_EQ(ex.status().message(), "field \"text\" is empty");
  }
  auto empty_label = ParseExampleLine(R"({"text": "x", "label": "", "lang": "en"})", Fields());
  ASSERT_FALSE(empty_label.ok());
  EXPECT_EQ(empty_label.status().message(), "field \"label\" is empty");
}

TEST(ParseExampleLine, InvalidUtf8NamesOneBasedByte) {
  // The message counts bytes from 1, like an editor's columns: the bad byte
  // is at offset 11, so byte 12.
  const std::string line = std::string(R"({"text": "a)") + "\xC3(" + R"(", "label": "a", "lang": "en"})";
  ASSERT_EQ(FindInvalidUtf8(line), 11u);
  auto ex = ParseExampleLine(line, Fields());
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().message(), "invalid UTF-8 at byte 12");

  const std::string first = "\xFF{}";
  auto ex2 = ParseExampleLine(first, Fields());
  ASSERT_FALSE(ex2.ok());
  EXPECT_EQ(ex2.status().message(), "invalid UTF-8 at byte 1");
}

TEST(ParseExampleLine, RejectsNonJsonAndNonObjects) {
  for (const char* line : {"not json at all", R"({"text": "x", )", "{'text': 'x'}"}) {
    auto ex = ParseExampleLine(line, Fields());
    ASSERT_FALSE(ex.ok()) << line;
    EXPECT_EQ(ex.status().message(), "not valid JSON") << line;
  }
  for (const char* line : {R"(["text", "label"])", R"("just a string")", "42", "null"}) {
    auto ex = ParseExampleLine(line, Fields());
    ASSERT_FALSE(ex.ok()) << line;
    EXPECT_EQ(ex.status().message(), "expected a JSON object") << line;
  }
}

TEST(ParseExampleLine, RejectsBadLanguageCodes) {
  for (const char* lang : {"", "en us", "de/at", "a-very-long-language-code", "ja\\u3000"}) {
    const std::string line = std::string(R"({"text": "x", "label": "a", "lang": ")") + lang + "\"}";
    auto ex = ParseExampleLine(line, Fields());
    ASSERT_FALSE(ex.ok()) << line;
    EXPECT_NE(ex.status().message().find("field \"lang\" is not a language code"), std::string::npos)
        << ex.status().message();
  }
  for (const char* lang : {"en", "pt_BR", "zh-Hant", "sr@latin", "yue"}) {
    const std::string line = std::string(R"({"text": "x", "label": "a", "lang": ")") + lang + "\"}";
    auto ex = ParseExampleLine(line, Fields());
    ASSERT_TRUE(ex.ok()) << line << ": " << ex.status().message();
    EXPECT_EQ(ex->lang, lang);
  }
}

TEST(ParseExampleLine, TextPairFieldWhenConfigured) {
  ExampleFields pairs;
  pairs.text_pair = "hypothesis";
  auto ex = ParseExampleLine(R"({"text": "Es regnet.", "hypothesis": "Die Straße ist nass.", "label": "entailment",
                                 "lang": "de"})",
                             pairs);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(ex->text, "Es regnet.");
  EXPECT_EQ(ex->text_pair, "Die Straße ist nass.");

  auto missing = ParseExampleLine(R"({"text": "x", "label": "a", "lang": "en"})", pairs);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "missing field \"hypothesis\"");
  auto blank = ParseExampleLine(R"({"text": "x", "hypothesis": " \t", "label": "a", "lang": "en"})", pairs);
  ASSERT_FALSE(blank.ok());
  EXPECT_EQ(blank.status().message(), "field \"hypothesis\" is empty");
  auto number = ParseExampleLine(R"({"text": "x", "hypothesis": 3, "label": "a", "lang": "en"})", pairs);
  ASSERT_FALSE(number.ok());
  EXPECT_EQ(number.status().message(), "field \"hypothesis\" must be a string");

  auto header = ParseTsvHeader("text\tlabel\tlang\thypothesis", pairs);
  ASSERT_TRUE(header.ok()) << header.status().message();
  auto row = ParseTsvLine("Il pleut.\tentailment\tfr\tLa rue est mouillée.", *header);
  ASSERT_TRUE(row.ok()) << row.status().message();
  EXPECT_EQ(row->text_pair, "La rue est mouillée.");
  auto no_column = ParseTsvHeader("text\tlabel\tlang", pairs);
  ASSERT_FALSE(no_column.ok());
  EXPECT_EQ(no_column.status().message(), "header has no column \"hypothesis\"");
}

TEST(ParseExampleLine, GroupFieldWhenConfigured) {
  ExampleFields with_group;
  with_group.group = "group";
  auto ex = ParseExampleLine(R"({"text": "x", "label": "a", "lang": "en", "group": "pkg-1"})", with_group);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ(ex->group, "pkg-1");

  auto int_group = ParseExampleLine(R"({"text": "x", "label": "a", "lang": "en", "group": 12})", with_group);
  ASSERT_TRUE(int_group.ok()) << int_group.status().message();
  EXPECT_EQ(int_group->group, "12");

  auto missing = ParseExampleLine(R"({"text": "x", "label": "a", "lang": "en"})", with_group);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "missing field \"group\"");

  // Without a configured group field, a "group" key is ignored.
  auto ignored = ParseExampleLine(R"({"text": "x", "label": "a", "lang": "en", "group": "pkg-1"})", Fields());
  ASSERT_TRUE(ignored.ok());
  EXPECT_EQ(ignored->group, "");
}

}  // namespace
}  // namespace polysweep
