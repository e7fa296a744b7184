// Token classification's tags: schemes, and entity spans counted as the
// conlleval script counts them (and seqeval in its default mode), each
// edge case worked by hand with the counts conlleval prints.
#include "common/tagged.h"

#include <gtest/gtest.h>

#include "common/class_report.h"

namespace polysweep {
namespace {

// Spans of tags given as strings, over the label map `labels`.
std::vector<Span> SpansOf(const std::vector<std::string>& tags, const std::vector<std::string>& labels) {
  const SpanTags table = SpanTags::FromLabels(labels);
  std::vector<int> ids;
  for (const std::string& t : tags) ids.push_back(static_cast<int>(std::find(labels.begin(), labels.end(), t) - labels.begin()));
  return ExtractSpans(ids, table);
}

const std::vector<std::string> kBio = {"B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER", "O"};
const std::vector<std::string> kBioes = {"B-LOC", "B-ORG", "B-PER", "E-LOC", "E-ORG", "E-PER", "I-LOC",
                                         "I-ORG", "I-PER", "O",     "S-LOC", "S-ORG", "S-PER"};
// Types are sorted: LOC 0, ORG 1, PER 2.
constexpr int kLoc = 0, kOrg = 1, kPer = 2;

TEST(TagScheme, ParsesItsNamesAndRefusesOthers) {
  EXPECT_EQ(*ParseTagScheme("iob2"), TagScheme::kIob2);
  EXPECT_EQ(*ParseTagScheme("bio"), TagScheme::kIob2);
  EXPECT_EQ(*ParseTagScheme("iobes"), TagScheme::kBioes);
  EXPECT_EQ(*ParseTagScheme("none"), TagScheme::kPlain);
  auto bad = ParseTagScheme("bilou");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("auto, none, iob1, iob2, bioes"), std::string::npos);
}

TEST(TagScheme, ChecksTagsAgainstTheScheme) {
  EXPECT_TRUE(CheckTag("B-PER", TagScheme::kIob2).ok());
  EXPECT_TRUE(CheckTag("O", TagScheme::kIob1).ok());
  EXPECT_TRUE(CheckTag("S-LOC", TagScheme::kBioes).ok());
  Status e = CheckTag("E-PER", TagScheme::kIob2);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.message().find("tag \"E-PER\" is outside data.tag_scheme iob2 (O, B-TYPE or I-TYPE)"), std::string::npos);
  EXPECT_FALSE(CheckTag("PER", TagScheme::kIob2).ok());  // no prefix
  EXPECT_FALSE(CheckTag("B-", TagScheme::kIob2).ok());   // no type
  EXPECT_TRUE(CheckTag("NN", TagScheme::kPlain).ok());
  EXPECT_FALSE(CheckTag("", TagScheme::kPlain).ok());
}

TEST(TagScheme, DetectsEntityTagsOrPlainTags) {
  EXPECT_EQ(DetectTagScheme(kBio), TagScheme::kIob2);
  EXPECT_EQ(DetectTagScheme(kBioes), TagScheme::kBioes);
  EXPECT_EQ(DetectTagScheme({"NN", "VB", "DT"}), TagScheme::kPlain);
  EXPECT_EQ(DetectTagScheme({"B-PER", "O", "NN"}), TagScheme::kPlain);  // one plain tag: no spans
}

TEST(Spans, ReadBioSpans) {
  EXPECT_EQ(SpansOf({"B-PER", "I-PER", "O", "B-LOC"}, kBio), (std::vector<Span>{{kPer, 0, 2}, {kLoc, 3, 4}}));
  // Two spans of one type side by side.
  EXPECT_EQ(SpansOf({"B-PER", "B-PER", "I-PER"}, kBio), (std::vector<Span>{{kPer, 0, 1}, {kPer, 1, 3}}));
}

TEST(Spans, AnIAfterOOpensASpanAsConllevalReadsIt) {
  EXPECT_EQ(SpansOf({"O", "I-PER", "I-PER", "O"}, kBio), (std::vector<Span>{{kPer, 1, 3}}));
  EXPECT_EQ(SpansOf({"I-ORG"}, kBio), (std::vector<Span>{{kOrg, 0, 1}}));
}

TEST(Spans, ATypeChangeInsideASpanEndsItAndOpensAnother) {
  EXPECT_EQ(SpansOf({"B-PER", "I-LOC", "I-LOC"}, kBio), (std::vector<Span>{{kPer, 0, 1}, {kLoc, 1, 3}}));
  EXPECT_EQ(SpansOf({"B-PER", "I-PER", "I-ORG", "O"}, kBio), (std::vector<Span>{{kPer, 0, 2}, {kOrg, 2, 3}}));
}

TEST(Spans, ASpanAtTheSentenceEndIsClosed) {
  EXPECT_EQ(SpansOf({"O", "B-ORG", "I-ORG"}, kBio), (std::vector<Span>{{kOrg, 1, 3}}));
}

TEST(Spans, ReadIob1WhereBSeparatesSpansOfOneType) {
  EXPECT_EQ(SpansOf({"I-PER", "I-PER", "B-PER", "O", "I-LOC"}, kBio),
            (std::vector<Span>{{kPer, 0, 2}, {kPer, 2, 3}, {kLoc, 4, 5}}));
}

TEST(Spans, ReadBioesSingletonsAndEnds) {
  EXPECT_EQ(SpansOf({"S-LOC", "B-PER", "E-PER", "O", "B-ORG", "I-ORG", "E-ORG"}, kBioes),
            (std::vector<Span>{{kLoc, 0, 1}, {kPer, 1, 3}, {kOrg, 4, 7}}));
  // After E- or S- a span always ends: E E is two spans, S I opens one.
  EXPECT_EQ(SpansOf({"B-PER", "E-PER", "E-PER"}, kBioes), (std::vector<Span>{{kPer, 0, 2}, {kPer, 2, 3}}));
  EXPECT_EQ(SpansOf({"S-PER", "I-PER", "E-PER"}, kBioes), (std::vector<Span>{{kPer, 0, 1}, {kPer, 1, 3}}));
}

TEST(Spans, NegativeIdsReadAsO) {
  const SpanTags table = SpanTags::FromLabels(kBio);
  EXPECT_EQ(ExtractSpans({2, -100, 2}, table), (std::vector<Span>{{kPer, 0, 1}, {kPer, 2, 3}}));
}

// conlleval on
//   gold B-PER I-PER O B-LOC O     B-ORG
//   pred B-PER I-PER O I-LOC I-LOC O
// prints "processed 6 tokens with 3 phrases; found: 2 phrases; correct: 1"
// and "accuracy: 50.00%; precision: 50.00%; recall: 33.33%; FB1: 40.00",
// with LOC 0/0/0 (1 found), ORG 0/0/0 (0 found), PER 100/100/100.
TEST(Spans, CountAsConllevalDoes) {
  const std::vector<std::string> gold = {"B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"};
  const std::vector<std::string> pred = {"B-PER", "I-PER", "O", "I-LOC", "I-LOC", "O"};
  SpanCounts c(3);
  c.Add(SpansOf(gold, kBio), SpansOf(pred, kBio));
  EXPECT_EQ(c.gold, (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(c.found, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(c.correct, (std::vector<int64_t>{0, 0, 1}));
  const ClassReport r = MakeSpanReport({"LOC", "ORG", "PER"}, c, 3, 6);
  ASSERT_TRUE(r.micro.has_value());
  EXPECT_DOUBLE_EQ(r.micro->precision, 0.5);
  EXPECT_DOUBLE_EQ(r.micro->recall, 1.0 / 3);
  EXPECT_NEAR(r.micro->f1, 0.4, 1e-12);
  EXPECT_EQ(r.micro->support, 3);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(r.per_label[2].f1, 1.0);
  EXPECT_DOUBLE_EQ(r.per_label[0].precision, 0.0);
  EXPECT_EQ(r.per_label[0].predicted, 1);
  EXPECT_NEAR(r.macro.f1, 1.0 / 3, 1e-12);  // over the three types, as seqeval's macro avg
  const std::string text = RenderClassReport(r);
  EXPECT_NE(text.find("micro avg"), std::string::npos) << text;
  EXPECT_NE(text.find("word accuracy"), std::string::npos) << text;
}

}  // namespace
}  // namespace polysweep
