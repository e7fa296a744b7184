// Tests of common/progress.h with a fake clock and a captured stream.
#include "common/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace polysweep {
namespace {

struct Captured {
  double now = 100;
  std::vector<std::string> writes;
  ProgressOptions Options(bool terminal, const std::string& unit = "MB", double scale = 1e6) {
    ProgressOptions o;
    o.unit = unit;
    o.unit_scale = scale;
    o.terminal = terminal;
    o.write = [this](const std::string& s) { writes.push_back(s); };
    o.clock = [this] { return now; };
    return o;
  }
};

TEST(Progress, PlainOutputIsALinePerQuarterWithRateAndEtaThenTheTotal) {
  Captured c;
  {
    Progress p("reading 2 files", 100e6, c.Options(false));
    EXPECT_TRUE(c.writes.empty()) << "nothing before a quarter is done";
    c.now = 101;
    p.Set(10e6);
    EXPECT_TRUE(c.writes.empty());
    c.now = 102;
    p.Set(30e6);  // 30 MB in 2 s: 15 MB/s, 70 MB left: eta 4.7 s
    ASSERT_EQ(c.writes.size(), 1u);
    EXPECT_EQ(c.writes[0], "reading 2 files: 30%, 30.0 of 100 MB, 15.0 MB/s, eta 4.7s\n");
    c.now = 104;
    p.Set(80e6);  // jumps past two quarters: one line
    ASSERT_EQ(c.writes.size(), 2u);
    EXPECT_EQ(c.writes[1].rfind("reading 2 files: 80%, 80.0 of 100 MB", 0), 0u) << c.writes[1];
    c.now = 105;
    p.Set(100e6);
    EXPECT_EQ(c.writes.size(), 2u) << "the end is Finish's line";
    p.Finish();
    p.Finish();  // once only
  }
  ASSERT_EQ(c.writes.size(), 3u);
  EXPECT_EQ(c.writes[2], "reading 2 files: done, 100 MB in 5.0s (20.0 MB/s)\n");
}

TEST(Progress, OnATerminalTheLineIsRedrawnInPlaceAtMostTenTimesASecond) {
  Captured c;
  Progress p("tokenizing", 1000, c.Options(true, "texts", 1));
  ASSERT_EQ(c.writes.size(), 1u);  // drawn at once
  EXPECT_EQ(c.writes[0].rfind("\r\x1b[Ktokenizing  [--------------------]   0%", 0), 0u) << c.writes[0];
  p.Set(100);  // the same instant: not redrawn
  EXPECT_EQ(c.writes.size(), 1u);
  c.now = 100.5;
  p.Add(150);
  ASSERT_EQ(c.writes.size(), 2u);
  EXPECT_EQ(c.writes[1], "\r\x1b[Ktokenizing  [#####---------------]  25%  250 of 1000 texts, 500 texts/s, eta 1.5s");
  c.now = 101;
  p.Finish();
  EXPECT_EQ(c.writes.back(), "\r\x1b[Ktokenizing: done, 250 texts in 1.0s (250 texts/s)\n");
}

TEST(Progress, WorkWithoutATotalShowsItsElapsedTime) {
  Captured c;
  Progress p("training the tokenizer", 0, c.Options(true, "", 1));
  c.now = 163.2;
  EXPECT_EQ(p.Line(c.now), "training the tokenizer  1m03s");
  p.Finish();
  EXPECT_EQ(c.writes.back(), "\r\x1b[Ktraining the tokenizer: done in 1m03s\n");
  EXPECT_EQ(ShortDuration(3.24), "3.2s");
  EXPECT_EQ(ShortDuration(7322), "2h02m");
}

}  // namespace
}  // namespace polysweep
