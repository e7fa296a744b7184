// Tests of the sweep objective (common/objective.h) and its config.
#include "cli/config_names.h"
#include "common/objective.h"

#include <gtest/gtest.h>

#include <cmath>

namespace polysweep {
namespace {

wire::Evaluation Eval() {
  wire::Evaluation e;
  e.set_accuracy(0.8);
  e.set_macro_f1(0.7);
  e.set_loss(0.5);
  auto add = [&](const std::string& lang, double f1, double acc, int count) {
    auto* l = e.add_languages();
    l->set_lang(lang);
    l->set_f1(f1);
    l->set_accuracy(acc);
    l->set_count(count);
  };
  add("de", 0.9, 0.95, 10);
  add("ja", 0.5, 0.6, 10);
  add("ko", 0.1, 0.1, 0);  // no examples: not a language of this evaluation
  add("uk", 0.7, 0.75, 10);
  return e;
}

MetricConfig Metric(const std::string& name, const std::string& over = "", double floor = 0) {
  MetricConfig m;
  m.name = name;
  m.over = over;
  m.min_language_f1 = floor;
  return m;
}

TEST(Objective, OverallMetrics) {
  EXPECT_DOUBLE_EQ(ComputeObjective(Metric("accuracy"), Eval()).value, 0.8);
  EXPECT_DOUBLE_EQ(ComputeObjective(Metric("macro_f1"), Eval()).value, 0.7);
  EXPECT_DOUBLE_EQ(ComputeObjective(Metric("valid_loss"), Eval()).value, 0.5);
}

TEST(Objective, PerLanguageOverOneMacroOrWorst) {
  EXPECT_DOUBLE_EQ(ComputeObjective(Metric("language_f1", "ja"), Eval()).value, 0.5);
  EXPECT_DOUBLE_EQ(ComputeObjective(Metric("language_accuracy", "de"), Eval()).value, 0.95);
  EXPECT_DOUBLE_EQ(ComputeObjective(Metric("language_f1", "macro"), Eval()).value, (0.9 + 0.5 + 0.7) / 3);
  EXPECT_DOUBLE_EQ(ComputeObjective(Metric("language_f1", "worst"), Eval()).value, 0.5);  // ko has no examples
  EXPECT_DOUBLE_EQ(ComputeObjective(Metric("language_accuracy", "worst"), Eval()).value, 0.6);
  // A language the evaluation did not see has no value.
  EXPECT_TRUE(std::isnan(ComputeObjective(Metric("language_f1", "ko"), Eval()).value));
  EXPECT_TRUE(std::isnan(ComputeObjective(Metric("language_f1", "worst"), wire::Evaluation()).value));
}

TEST(Objective, LanguageFloorMakesAnEvaluationInfeasible) {
  ObjectiveValue ok = ComputeObjective(Metric("macro_f1", "", 0.5), Eval());
  EXPECT_TRUE(ok.feasible);
  ObjectiveValue bad = ComputeObjective(Metric("macro_f1", "", 0.6), Eval());
  EXPECT_FALSE(bad.feasible);
  EXPECT_DOUBLE_EQ(bad.value, 0.7);  // the value stays what it is
  EXPECT_EQ(bad.violation, "ja f1 0.500 < 0.6");
  EXPECT_EQ(ComputeObjective(Metric("macro_f1", "", 0.8), Eval()).violation, "ja f1 0.500 < 0.8, uk f1 0.700 < 0.8");
}

TEST(Objective, LabelNamesTheAggregate) {
  EXPECT_EQ(MetricLabel(Metric("macro_f1")), "macro_f1");
  EXPECT_EQ(MetricLabel(Metric("language_f1", "worst")), "language_f1:worst");
}

StatusOr<SweepConfig> WithMetric(const std::string& metric) {
  return ParseSweepConfig("name: p\ndata: {files: [" POLYSWEEP_DEFAULT_DATA "]}\n"
                          "search: {space: {dropout: {type: uniform, low: 0, high: 0.5}}}\n"
                          "budget: {max_steps: 10}\nmetric: " + metric + "\n",
                          "p.yaml", RegisteredConfigNames());
}

TEST(ObjectiveConfig, PerLanguageMetricsNeedOverAndOthersRefuseIt) {
  auto c = WithMetric("{name: language_f1, over: worst, min_language_f1: 0.6}");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->metric.over, "worst");
  EXPECT_TRUE(c->metric.maximize);
  EXPECT_DOUBLE_EQ(c->metric.min_language_f1, 0.6);
  EXPECT_TRUE(WithMetric("{name: language_accuracy, over: pt_BR}").ok());
  auto bad = WithMetric("{name: language_f1}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("p.yaml:5: metric.over: required for language_f1"), std::string::npos)
      << bad.status().message();
  bad = WithMetric("{name: macro_f1, over: de}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("metric.over: only for language_f1 and language_accuracy"), std::string::npos)
      << bad.status().message();
  bad = WithMetric("{name: language_f1, over: klingon}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("metric.over: expected macro, worst or a language code, got \"klingon\""),
            std::string::npos)
      << bad.status().message();
  bad = WithMetric("{name: macro_f1, min_language_f1: 1.5}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("metric.min_language_f1"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace polysweep
