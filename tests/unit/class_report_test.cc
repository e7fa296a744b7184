// The per-class report (common/class_report.h) on counts worked out by hand,
// as scikit-learn's classification_report gives them (zero_division=0).
#include "common/class_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace polysweep {
namespace {

// Gold a: 3 right, 1 taken for b; gold b: 2 right, 1 taken for a; gold c:
// 1, taken for a; d: never seen nor predicted.
Confusion Worked() {
  Confusion c(4);
  for (int i = 0; i < 3; ++i) c.Add(0, 0);
  c.Add(0, 1);
  for (int i = 0; i < 2; ++i) c.Add(1, 1);
  c.Add(1, 0);
  c.Add(2, 0);
  return c;
}

TEST(ClassReport, PrecisionRecallF1AndTheAveragesAsScikitLearnCountsThem) {
  const ClassReport r = MakeClassReport({"a", "b", "c", "d"}, Worked());
  EXPECT_EQ(r.total, 8);
  EXPECT_DOUBLE_EQ(r.accuracy, 5.0 / 8);
  EXPECT_DOUBLE_EQ(r.per_label[0].precision, 3.0 / 5);
  EXPECT_DOUBLE_EQ(r.per_label[0].recall, 3.0 / 4);
  EXPECT_NEAR(r.per_label[0].f1, 2.0 / 3, 1e-12);
  EXPECT_EQ(r.per_label[0].support, 4);
  EXPECT_NEAR(r.per_label[1].f1, 2.0 / 3, 1e-12);
  EXPECT_EQ(r.per_label[2].precision, 0);  // never predicted
  EXPECT_EQ(r.per_label[2].recall, 0);
  EXPECT_EQ(r.per_label[3].support, 0);
  // Macro over a, b and c (d is neither gold nor predicted); weighted by support 4, 3, 1.
  EXPECT_NEAR(r.macro.precision, (0.6 + 2.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(r.macro.recall, (0.75 + 2.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(r.macro.f1, (2.0 / 3 + 2.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(r.weighted.precision, (0.6 * 4 + 2.0 / 3 * 3) / 8, 1e-12);
  EXPECT_NEAR(r.weighted.recall, 5.0 / 8, 1e-12);
  EXPECT_NEAR(r.weighted.f1, (2.0 / 3 * 4 + 2.0 / 3 * 3) / 8, 1e-12);
}

TEST(ClassReport, RendersTheTableAndTheLanguagesAndJson) {
  const ClassReport r = MakeClassReport({"a", "b", "c", "d"}, Worked());
  const std::string text = RenderClassReport(r);
  EXPECT_NE(text.find("label                precision  recall  f1-score  support"), std::string::npos) << text;
  EXPECT_NE(text.find("a                       0.6000  0.7500    0.6667        4"), std::string::npos) << text;
  EXPECT_NE(text.find("accuracy                                  0.6250        8"), std::string::npos) << text;
  EXPECT_NE(text.find("macro avg               0.4222  0.4722    0.4444        8"), std::string::npos) << text;
  EXPECT_EQ(text.find("\nd "), std::string::npos) << "a label neither gold nor predicted is left out\n" << text;
  Confusion de(4);
  de.Add(1, 1);
  const std::map<std::string, ClassReport> langs = {{"de", MakeClassReport({"a", "b", "c", "d"}, de)}, {"fr", r}};
  const std::string summary = RenderLanguageSummary(langs);
  EXPECT_NE(summary.find("de            1.0000    1.0000       1.0000        1"), std::string::npos) << summary;
  const auto j = nlohmann::json::parse(ClassReportJson(r, langs));
  EXPECT_EQ(j["labels"]["a"]["support"], 4);
  EXPECT_DOUBLE_EQ(j["languages"]["fr"]["accuracy"].get<double>(), 0.625);
}

}  // namespace
}  // namespace polysweep
