// Tests of the hyperparameter table (common/hparams.h) and of ParamValue's
// decimal form (common/search_space.h).
#include "common/hparams.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace polysweep {
namespace {

Status Apply(TrainingParams* p, const std::string& name, double v) {
  return ApplyHyperparameter(p, name, ParamValue::Number(v));
}

TEST(ApplyHyperparameter, AcceptsInRangeValues) {
  TrainingParams p;
  ASSERT_TRUE(Apply(&p, "lr", 0.003).ok());
  ASSERT_TRUE(Apply(&p, "batch_size", 64).ok());
  ASSERT_TRUE(Apply(&p, "warmup_steps", 0).ok());
  ASSERT_TRUE(Apply(&p, "weight_decay", 0.05).ok());
  ASSERT_TRUE(Apply(&p, "dropout", 0).ok());
  ASSERT_TRUE(Apply(&p, "grad_clip", 0).ok());
  ASSERT_TRUE(Apply(&p, "seed", 2147483647).ok());
  EXPECT_DOUBLE_EQ(p.lr, 0.003);
  EXPECT_EQ(p.batch_size, 64);
  EXPECT_EQ(p.warmup_steps, 0);
  EXPECT_DOUBLE_EQ(p.weight_decay, 0.05);
  EXPECT_DOUBLE_EQ(p.dropout, 0);
  EXPECT_DOUBLE_EQ(p.grad_clip, 0);
  EXPECT_EQ(p.seed, 2147483647);
}

TEST(ApplyHyperparameter, AcceptsInclusiveBounds) {
  TrainingParams p;
  EXPECT_TRUE(Apply(&p, "lr", 1e-8).ok());
  EXPECT_TRUE(Apply(&p, "lr", 10).ok());
  EXPECT_TRUE(Apply(&p, "batch_size", 1).ok());
  EXPECT_TRUE(Apply(&p, "batch_size", 65536).ok());
  EXPECT_TRUE(Apply(&p, "dropout", 0.999).ok());
  EXPECT_DOUBLE_EQ(p.dropout, 0.999);
}

TEST(ApplyHyperparameter, RejectsOutOfRangeAndKeepsOldValue) {
  TrainingParams p;
  const TrainingParams defaults;
  struct Case {
    const char* name;
    double value;
    const char* range;
  } cases[] = {
      {"dropout", 1.0, "[0, 1)"},  // open at the top: dropout 1 drops everything
      {"dropout", -0.1, "[0, 1)"},
      {"lr", 0, "[1e-08, 10]"},
      {"lr", 11, "[1e-08, 10]"},
      {"batch_size", 0, "[1, 65536]"},
      {"batch_size", 65537, "[1, 65536]"},
      {"warmup_steps", -1, "[0, 1000000000]"},
      {"weight_decay", -0.01, "[0, 10]"},
      {"seed", -1, "[0, 2147483647]"},
      {"seed", 2147483648.0, "[0, 2147483647]"},
  };
  for (const Case& c : cases) {
    Status s = Apply(&p, c.name, c.value);
    ASSERT_FALSE(s.ok()) << c.name << "=" << c.value;
    EXPECT_NE(s.message().find(std::string("hyperparameter ") + c.name), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("out of range " + std::string(c.range)), std::string::npos) << s.message();
  }
  EXPECT_DOUBLE_EQ(p.dropout, defaults.dropout);
  EXPECT_DOUBLE_EQ(p.lr, defaults.lr);
  EXPECT_EQ(p.batch_size, defaults.batch_size);
  EXPECT_EQ(p.seed, defaults.seed);
}

TEST(ApplyHyperparameter, RejectsNonIntegerForIntegerParams) {
  TrainingParams p;
  Status s = Apply(&p, "batch_size", 32.5);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "hyperparameter batch_size must be an integer, got 32.5");
  EXPECT_EQ(p.batch_size, 32);
  EXPECT_FALSE(Apply(&p, "warmup_steps", 0.1).ok());
  EXPECT_FALSE(Apply(&p, "seed", 1e-9).ok());
}

TEST(ApplyHyperparameter, RejectsTextAndNonFinite) {
  TrainingParams p;
  Status text = ApplyHyperparameter(&p, "lr", ParamValue::Text("fast"));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.message(), "hyperparameter lr must be a number, got \"fast\"");
  Status nan = Apply(&p, "lr", std::nan(""));
  ASSERT_FALSE(nan.ok());
  EXPECT_NE(nan.message().find("finite"), std::string::npos);
  EXPECT_FALSE(Apply(&p, "grad_clip", std::numeric_limits<double>::infinity()).ok());
}

TEST(ApplyHyperparameter, UnknownNameListsKnownNames) {
  TrainingParams p;
  Status s = Apply(&p, "momentum", 0.9);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown hyperparameter \"momentum\""), std::string::npos) << s.message();
  for (const std::string& name : KnownHyperparameters()) {
    EXPECT_NE(s.message().find(name), std::string::npos) << name << " missing from: " << s.message();
  }
  EXPECT_EQ(KnownHyperparameters().size(), 22u);  // word_dropout the newest
}

TEST(ApplyHyperparameter, WordsAndBooleans) {
  TrainingParams p;
  ASSERT_TRUE(ApplyHyperparameter(&p, "lr_schedule", ParamValue::Text("cosine")).ok());
  EXPECT_EQ(p.lr_schedule, "cosine");
  Status bad = ApplyHyperparameter(&p, "lr_schedule", ParamValue::Text("exponential"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "hyperparameter lr_schedule must be one of linear, cosine, constant, got \"exponential\"");
  EXPECT_FALSE(ApplyHyperparameter(&p, "lr_schedule", ParamValue::Number(1)).ok());
  EXPECT_EQ(p.lr_schedule, "cosine");

  ASSERT_TRUE(ApplyHyperparameter(&p, "freeze_embeddings", ParamValue::Text("true")).ok());
  EXPECT_TRUE(p.freeze_embeddings);
  ASSERT_TRUE(ApplyHyperparameter(&p, "freeze_embeddings", ParamValue::Number(0)).ok());
  EXPECT_FALSE(p.freeze_embeddings);
  Status yes = ApplyHyperparameter(&p, "freeze_embeddings", ParamValue::Text("yes"));
  ASSERT_FALSE(yes.ok());
  EXPECT_EQ(yes.message(), "hyperparameter freeze_embeddings must be true or false, got \"yes\"");
  EXPECT_FALSE(ApplyHyperparameter(&p, "freeze_embeddings", ParamValue::Number(2)).ok());

  EXPECT_TRUE(Apply(&p, "grad_accumulation", 4).ok());
  EXPECT_EQ(p.grad_accumulation, 4);
  EXPECT_FALSE(Apply(&p, "grad_accumulation", 0).ok());
  EXPECT_FALSE(Apply(&p, "warmup_ratio", 1).ok());  // [0, 1): all warmup would never train at the peak
  EXPECT_TRUE(Apply(&p, "early_stopping_patience", 3).ok());
  EXPECT_FALSE(Apply(&p, "freeze_layers", -1).ok());
}

TEST(FormatHyperparameters, EveryNameRoundTrips) {
  TrainingParams p;
  p.lr = 0.0003;
  p.lr_schedule = "cosine";
  p.freeze_embeddings = true;
  p.freeze_layers = 2;
  p.warmup_ratio = 0.06;
  p.grad_accumulation = 3;
  p.early_stopping_patience = 4;
  const auto text = FormatHyperparameters(p);
  ASSERT_EQ(text.size(), KnownHyperparameters().size());
  EXPECT_EQ(text.at("freeze_embeddings"), "true");
  EXPECT_EQ(text.at("lr_schedule"), "cosine");
  TrainingParams back;
  for (const auto& [name, value] : text) {
    ASSERT_TRUE(ApplyHyperparameter(&back, name, ParamValue::Parse(value)).ok()) << name << "=" << value;
  }
  EXPECT_EQ(FormatHyperparameters(back), text);
  EXPECT_EQ(back.lr_schedule, "cosine");
  EXPECT_TRUE(back.freeze_embeddings);
  EXPECT_EQ(back.grad_accumulation, 3);
}

TEST(ScheduledLr, LinearCosineAndConstantAfterWarmup) {
  const double peak = 1.0;
  // Warmup: 1/10, 2/10, ... up to the peak at step 10, whatever the schedule.
  for (const char* schedule : {"linear", "cosine", "constant"}) {
    EXPECT_DOUBLE_EQ(ScheduledLr(schedule, peak, 1, 10, 110), 0.1) << schedule;
    EXPECT_DOUBLE_EQ(ScheduledLr(schedule, peak, 10, 10, 110), 1.0) << schedule;
  }
  // Halfway through the decay (step 60 of 110 after 10 of warmup).
  EXPECT_DOUBLE_EQ(ScheduledLr("linear", peak, 60, 10, 110), 0.5);
  EXPECT_NEAR(ScheduledLr("cosine", peak, 60, 10, 110), 0.5, 1e-12);
  EXPECT_NEAR(ScheduledLr("cosine", peak, 35, 10, 110), 0.5 * (1 + std::cos(M_PI / 4)), 1e-12);
  EXPECT_DOUBLE_EQ(ScheduledLr("constant", peak, 60, 10, 110), 1.0);
  // The last step reaches 0 (linear, cosine).
  EXPECT_DOUBLE_EQ(ScheduledLr("linear", peak, 110, 10, 110), 0.0);
  EXPECT_NEAR(ScheduledLr("cosine", peak, 110, 10, 110), 0.0, 1e-15);
  // No warmup: the first step already decays.
  EXPECT_LT(ScheduledLr("linear", peak, 1, 0, 100), 1.0);
}

TEST(TrainingParams, WarmupRatioOverridesWarmupSteps) {
  TrainingParams p;
  p.warmup_steps = 30;
  EXPECT_EQ(p.WarmupSteps(1000), 30);
  p.warmup_ratio = 0.06;
  EXPECT_EQ(p.WarmupSteps(1000), 60);
  EXPECT_EQ(p.WarmupSteps(10), 1);  // rounded
}

TEST(ApplyAssignment, AppliesAllOrStopsAtFirstError) {
  TrainingParams p;
  ParamAssignment good = {{"lr", ParamValue::Number(0.01)}, {"batch_size", ParamValue::Number(8)}};
  ASSERT_TRUE(ApplyAssignment(&p, good).ok());
  EXPECT_DOUBLE_EQ(p.lr, 0.01);
  EXPECT_EQ(p.batch_size, 8);

  ParamAssignment bad = {{"dropout", ParamValue::Number(2)}, {"lr", ParamValue::Number(0.02)}};
  Status s = ApplyAssignment(&p, bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("dropout"), std::string::npos);
}

TEST(ParamValue, ToStringIsShortestRoundTrip) {
  EXPECT_EQ(ParamValue::Number(0.001).ToString(), "0.001");
  EXPECT_EQ(ParamValue::Number(32).ToString(), "32");
  EXPECT_EQ(ParamValue::Number(-3).ToString(), "-3");
  EXPECT_EQ(ParamValue::Number(1e-05).ToString(), "1e-05");
  EXPECT_EQ(ParamValue::Number(0.1).ToString(), "0.1");
  EXPECT_EQ(ParamValue::Number(0.0003).ToString(), "0.0003");
  EXPECT_EQ(ParamValue::Number(0.1 + 0.2).ToString(), "0.30000000000000004");
  EXPECT_EQ(ParamValue::Text("adamw").ToString(), "adamw");
}

TEST(ParamValue, ParseInvertsToString) {
  for (double v : {0.001, 32.0, 1e-05, 0.1 + 0.2, 3e-4, 1.0 / 3.0, -2.5, 1e20, 123456789.0, 0.0}) {
    const ParamValue value = ParamValue::Number(v);
    const ParamValue back = ParamValue::Parse(value.ToString());
    EXPECT_FALSE(back.is_text) << value.ToString();
    EXPECT_EQ(back.number, v) << value.ToString();
    EXPECT_EQ(back, value);
  }
  for (const char* text : {"adamw", "1e-3x", "0x", "inf", "nan", ""}) {
    const ParamValue value = ParamValue::Parse(text);
    EXPECT_TRUE(value.is_text) << text;
    EXPECT_EQ(value.text, text);
    EXPECT_EQ(ParamValue::Parse(value.ToString()), value);
  }
  EXPECT_EQ(ParamValue::Parse("1e-3").number, 0.001);
  EXPECT_EQ(ParamValue::Parse("32").number, 32);
}

TEST(ParamValue, EqualityDistinguishesTextFromNumber) {
  EXPECT_EQ(ParamValue::Number(1), ParamValue::Number(1.0));
  EXPECT_FALSE(ParamValue::Number(1) == ParamValue::Text("1"));
  EXPECT_FALSE(ParamValue::Text("a") == ParamValue::Text("b"));
}

TEST(FormatAssignment, JoinsInNameOrder) {
  ParamAssignment a = {{"lr", ParamValue::Number(0.001)}, {"batch_size", ParamValue::Number(32)}};
  EXPECT_EQ(FormatAssignment(a), "batch_size=32 lr=0.001");
  EXPECT_EQ(FormatAssignment({}), "");
}

}  // namespace
}  // namespace polysweep
