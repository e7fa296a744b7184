// The config of multi-label classification (model.task
// multi_label_classification).
#include <gtest/gtest.h>

#include "cli/config_names.h"
#include "common/config.h"

namespace polysweep {
namespace {

// Multi-label classification: the label field defaults to "labels", the
// metric to micro_f1; a separator only for it; the threshold a hyperparameter.
TEST(MultiLabelConfig, ReadsLabelsAndMicroF1ByDefault) {
  const std::string space = "search: {space: {lr: {type: choice, values: [1.0e-3]}}}\nbudget: {max_steps: 10}\n";
  const std::string base =
      "name: t\ndata: {files: [d.jsonl]}\nmodel: {task: multi_label_classification}\n" + space;
  auto c = ParseSweepConfig(base, "c.yaml", RegisteredConfigNames());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->data.multi_label);
  EXPECT_EQ(c->data.label_field, "labels");
  EXPECT_EQ(c->metric.name, "micro_f1");
  EXPECT_TRUE(c->metric.maximize);
  auto named = ParseSweepConfig("name: t\ndata: {files: [d.tsv], label_field: topics, label_separator: '|'}\n"
                                "model: {task: multi_label_classification}\nmetric: {name: macro_f1}\n"
                                "training: {threshold: 0.3}\n" + space,
                                "c.yaml", RegisteredConfigNames());
  ASSERT_TRUE(named.ok()) << named.status().message();
  EXPECT_EQ(named->data.label_field, "topics");
  EXPECT_EQ(named->data.label_separator, "|");
  EXPECT_DOUBLE_EQ(named->training.threshold, 0.3);
  auto separator = ParseSweepConfig("name: t\ndata: {files: [d.tsv], label_separator: '|'}\n" + space, "c.yaml",
                                    RegisteredConfigNames());
  ASSERT_FALSE(separator.ok());
  EXPECT_NE(separator.status().message().find("c.yaml:2: data.label_separator: only for model.task "
                                              "multi_label_classification"),
            std::string::npos)
      << separator.status().message();
  auto entity = ParseSweepConfig(base + "metric: {name: f1}\n", "c.yaml", RegisteredConfigNames());
  ASSERT_FALSE(entity.ok());
  EXPECT_NE(entity.status().message().find("f1 is not defined for model.task multi_label_classification"),
            std::string::npos)
      << entity.status().message();
  auto threshold = ParseSweepConfig(base + "training: {threshold: 1}\n", "c.yaml", RegisteredConfigNames());
  ASSERT_FALSE(threshold.ok());
  EXPECT_NE(threshold.status().message().find("threshold"), std::string::npos);
}

}  // namespace
}  // namespace polysweep
