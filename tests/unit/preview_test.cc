// Tests of `polysweep preview` (cli/preview.h).
#include "cli/config_names.h"
#include "cli/preview.h"

#include <gtest/gtest.h>

namespace polysweep {
namespace {

SweepConfig Parse(const std::string& extra) {
  auto c = ParseSweepConfig("name: p\n"
                            "data: {files: [" POLYSWEEP_DEFAULT_DATA "]}\n"
                            "search:\n"
                            "  algorithm: random\n"
                            "  seed: 4\n"
                            "  space:\n"
                            "    lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}\n"
                            "    batch_size: {type: choice, values: [16, 32]}\n" +
                                extra,
                            "p.yaml", RegisteredConfigNames());
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : SweepConfig();
}

TEST(Preview, ListsTheTrialsTheSearcherIssues) {
  SweepConfig c = Parse("budget: {max_trials: 3, max_steps: 100}\n");
  auto text = RenderPreview(c);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_NE(text->find("sweep p: 3 trials (random search, seed 4)"), std::string::npos) << *text;
  EXPECT_NE(text->find("TRIAL  batch_size  lr"), std::string::npos) << *text;
  EXPECT_NE(text->find("every trial trains 100 steps"), std::string::npos) << *text;
}

TEST(Preview, AshaRungsHoldAThirdOfTheRungBelow) {
  SweepConfig c = Parse("scheduler: {type: asha, grace: 100, reduction_factor: 3}\n"
                        "budget: {max_trials: 27, max_steps: 1200}\n");
  auto text = RenderPreview(c);
  ASSERT_TRUE(text.ok()) << text.status().message();
  // Rungs 100, 300, 900, 1200 with 27, 9, 3, 1 trials: 2700 + 1800 + 1800 + 300 steps.
  EXPECT_NE(text->find("0   100              27   2700"), std::string::npos) << *text;
  EXPECT_NE(text->find("1   300               9   1800"), std::string::npos) << *text;
  EXPECT_NE(text->find("2   900               3   1800"), std::string::npos) << *text;
  EXPECT_NE(text->find("3  1200               1    300"), std::string::npos) << *text;
  EXPECT_NE(text->find("6600 steps in all, 20.4% of training every trial fully (32400)"), std::string::npos)
      << *text;
}

TEST(Preview, RungsInEpochsAndEpochsAsAHyperparameter) {
  SweepConfig c = Parse("    epochs: {type: choice, values: [2, 4]}\n"
                        "scheduler: {type: asha, unit: epochs, grace: 0.5, reduction_factor: 2}\n"
                        "budget: {max_trials: 4}\n");
  auto text = RenderPreview(c);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_NE(text->find("each trial trains the epochs it draws (search.space.epochs)"), std::string::npos) << *text;
  EXPECT_NE(text->find("rungs at epochs 0.5, 1, 2, then each trial's last"), std::string::npos) << *text;
  SweepConfig steps = Parse("scheduler: {type: asha, grace: 20}\nbudget: {max_trials: 4, epochs: 2}\n");
  text = RenderPreview(steps);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_NE(text->find("each trial trains 2 epochs"), std::string::npos) << *text;
  EXPECT_NE(text->find("scheduler.unit: epochs counts rungs in epochs"), std::string::npos) << *text;
}

TEST(Preview, HyperbandShowsEachBracket) {
  SweepConfig c = Parse("scheduler: {type: hyperband, grace: 10, reduction_factor: 2, brackets: 2}\n"
                        "budget: {max_trials: 5, max_steps: 40}\n");
  auto text = RenderPreview(c);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_NE(text->find("bracket 0: trials 1, 3, ... (3)"), std::string::npos) << *text;
  EXPECT_NE(text->find("bracket 1: trials 2, 4, ... (2)"), std::string::npos) << *text;
}

// The message a config of three fixed lines plus `tail` (its line 4 on) is
// refused with; a failure when it is accepted.
std::string RefusalOf(const std::string& tail) {
  auto c = ParseSweepConfig("name: p\ndata: {files: [" POLYSWEEP_DEFAULT_DATA "]}\n"
                            "search: {space: {dropout: {type: uniform, low: 0, high: 0.5}}}\n" + tail,
                            "p.yaml", RegisteredConfigNames());
  if (c.ok()) ADD_FAILURE() << "accepted:\n" << tail;
  return c.ok() ? "" : c.status().message();
}

TEST(SchedulerConfig, BadValuesNameTheKey) {
  const std::pair<const char*, const char*> refused[] = {
      {"scheduler: {type: asha}\nbudget: {max_steps: 10}\n", "p.yaml:4: scheduler.grace: required"},
      {"scheduler: {type: bohb, grace: 5}\nbudget: {max_steps: 10}\n",
       "scheduler.type: expected fifo, asha, hyperband or median"},
      {"scheduler: {type: asha, grace: 5, reduction_factor: 1}\nbudget: {max_steps: 10}\n", "scheduler.reduction_factor"},
      // A first decision at or past the end of training decides nothing.
      {"scheduler: {type: asha, grace: 10}\nbudget: {max_steps: 10}\n",
       "p.yaml:4: scheduler.grace: 10 is not below budget.max_steps (10)"},
      {"scheduler: {type: median}\nbudget: {max_steps: 10, eval_every: 20}\n",
       "scheduler.grace: 20 (budget.eval_every, its default) is not below"},
  };
  for (const auto& [tail, expected] : refused) {
    const std::string message = RefusalOf(tail);
    EXPECT_NE(message.find(expected), std::string::npos) << tail << "gave: " << message;
  }
  auto good = ParseSweepConfig("name: p\ndata: {files: [" POLYSWEEP_DEFAULT_DATA "]}\n"
                               "search: {space: {dropout: {type: uniform, low: 0, high: 0.5}}}\n"
                               "scheduler: {type: median}\nbudget: {max_steps: 10, eval_every: 5}\n",
                               "p.yaml", RegisteredConfigNames());
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->scheduler.grace, 5);  // defaults to eval_every
  EXPECT_EQ(good->scheduler.kind, SchedulerKind::kMedian);
}

}  // namespace
}  // namespace polysweep
