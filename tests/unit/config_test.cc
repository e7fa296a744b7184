// Tests of the sweep config parser (common/config.h): a full valid config,
// the defaults, and bad configs whose errors must name "FILE:LINE: key.path".
#include "cli/config_names.h"
#include "common/config.h"
#include "common/env.h"
#include "common/model_package.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace polysweep {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "config_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    data_ = dir_ + "/data.jsonl";
    std::ofstream(data_) << R"({"text": "hallo", "label": "games", "lang": "de"})" << "\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A minimal valid config; `extra` is appended from line 9 on.
  std::string Minimal(const std::string& extra = "") const {
    return "name: t\n"                                              // 1
           "data:\n"                                                // 2
           "  files: [" + data_ + "]\n"                             // 3
           "search:\n"                                              // 4
           "  space:\n"                                             // 5
           "    lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}\n"  // 6
           "budget:\n"                                              // 7
           "  max_steps: 10\n" +                                    // 8
           extra;
  }

  // Parses text, and checks what it names on disk, as LoadSweepConfig does.
  static StatusOr<SweepConfig> Load(const std::string& yaml) {
    auto c = ParseSweepConfig(yaml, "cfg.yaml", RegisteredConfigNames());
    if (!c.ok()) return c;
    Status files = CheckConfigFiles(&*c);
    if (!files.ok()) return files;
    return c;
  }

  // Text that must fail to load, and the message.
  std::string ErrorOf(const std::string& yaml) const {
    auto c = Load(yaml);
    EXPECT_FALSE(c.ok()) << "config unexpectedly parsed:\n" << yaml;
    return c.ok() ? "" : c.status().message();
  }

  std::string dir_;
  std::string data_;
};

TEST_F(ConfigTest, FullConfigParsesIntoStruct) {
  const std::string yaml =
      "name: my-sweep_1.0\n"
      "output_dir: " + dir_ + "/out\n"
      "bind: tcp://127.0.0.1:5555\n"
      "max_concurrent: 3\n"
      "data:\n"
      "  files: [" + data_ + "]\n"
      "  text_field: body\n"
      "  label_field: topic\n"
      "  lang_field: language\n"
      "  group_field: package\n"
      "  languages: [de, ja]\n"
      "  max_per_language: 500\n"
      "  valid_fraction: 0.2\n"
      "  test_fraction: 0.05\n"
      "  vocab_size: 1000\n"
      "  max_bad_lines: 3\n"
      "  max_line_bytes: 4096\n"
      "  format: jsonl\n"
      "  labels: [games, net]\n"
      "  extra_languages: [xx]\n"
      "  tokenizer: " + data_ + "\n"
      "  tokenizer_type: bpe\n"
      "  max_tokens: 128\n"
      "  sampling_alpha: 0.3\n"
      "  shard_dir: " + dir_ + "/shards\n"
      "  threads: 2\n"
      "model: {layers: 3, hidden: 96, heads: 6, ffn: 384, max_length: 128}\n"
      "trial: {ranks: 4, threads_per_rank: 2, backend: nccl}\n"
      "training:\n"
      "  lr: 0.002\n"
      "  batch_size: 64\n"
      "  dropout: 0.25\n"
      "  seed: 9\n"
      "search:\n"
      "  algorithm: grid\n"
      "  seed: 42\n"
      "  space:\n"
      "    warmup_steps: {type: int, low: 0, high: 2}\n"
      "    lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2, points: 3}\n"
      "    batch_size: {type: choice, values: [16, 32]}\n"
      "    weight_decay: {type: uniform, low: 0, high: 0.1, points: 2}\n"
      "metric:\n"
      "  name: accuracy\n"
      "  mode: min\n"
      "budget:\n"
      "  max_trials: 12\n"
      "  epochs: 1.5\n"
      "  eval_every: 50\n"
      "  log_every: 5\n";
  auto parsed = ParseSweepConfig(yaml, "full.yaml", RegisteredConfigNames());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const SweepConfig& c = *parsed;
  EXPECT_EQ(c.source_path, "full.yaml");
  EXPECT_EQ(c.source_text, yaml);
  EXPECT_EQ(c.name, "my-sweep_1.0");
  EXPECT_EQ(c.output_dir, dir_ + "/out");
  EXPECT_EQ(c.bind, "tcp://127.0.0.1:5555");
  EXPECT_EQ(c.max_concurrent, 3);

  EXPECT_EQ(c.data.files, std::vector<std::string>{data_});
  EXPECT_EQ(c.data.text_field, "body");
  EXPECT_EQ(c.data.label_field, "topic");
  EXPECT_EQ(c.data.lang_field, "language");
  EXPECT_EQ(c.data.group_field, "package");
  EXPECT_EQ(c.data.languages, (std::vector<std::string>{"de", "ja"}));
  EXPECT_EQ(c.data.max_per_language, 500);
  EXPECT_DOUBLE_EQ(c.data.valid_fraction, 0.2);
  EXPECT_DOUBLE_EQ(c.data.test_fraction, 0.05);
  EXPECT_EQ(c.data.vocab_size, 1000);
  EXPECT_EQ(c.data.max_bad_lines, 3);
  EXPECT_EQ(c.data.max_line_bytes, 4096);
  EXPECT_EQ(c.data.format, "jsonl");
  EXPECT_EQ(c.data.labels, (std::vector<std::string>{"games", "net"}));
  EXPECT_EQ(c.data.extra_languages, std::vector<std::string>{"xx"});
  EXPECT_EQ(c.data.tokenizer, data_);
  EXPECT_EQ(c.data.tokenizer_type, "bpe");
  EXPECT_EQ(c.data.max_tokens, 128);
  EXPECT_DOUBLE_EQ(c.data.sampling_alpha, 0.3);
  EXPECT_EQ(c.data.shard_dir, dir_ + "/shards");
  EXPECT_EQ(c.data.threads, 2);

  EXPECT_EQ(c.model.layers, 3);
  EXPECT_EQ(c.model.hidden, 96);
  EXPECT_EQ(c.model.heads, 6);
  EXPECT_EQ(c.model.ffn, 384);
  EXPECT_EQ(c.model.max_length, 128);
  EXPECT_EQ(c.trial.ranks, 4);
  EXPECT_EQ(c.trial.threads_per_rank, 2);
  EXPECT_EQ(c.trial.backend, "nccl");

  EXPECT_DOUBLE_EQ(c.training.lr, 0.002);
  EXPECT_EQ(c.training.batch_size, 64);
  EXPECT_DOUBLE_EQ(c.training.dropout, 0.25);
  EXPECT_EQ(c.training.seed, 9);
  EXPECT_EQ(c.training.warmup_steps, TrainingParams().warmup_steps);  // untouched

  EXPECT_EQ(c.search.algorithm, SearchAlgorithm::kGrid);
  EXPECT_EQ(c.search.seed, 42u);
  // Parameters are sorted by name so sampling does not depend on YAML order.
  ASSERT_EQ(c.search.space.params.size(), 4u);
  const auto& p = c.search.space.params;
  EXPECT_EQ(p[0].name, "batch_size");
  EXPECT_EQ(p[0].kind, ParamKind::kChoice);
  EXPECT_EQ(p[0].choices, (std::vector<ParamValue>{ParamValue::Number(16), ParamValue::Number(32)}));
  EXPECT_EQ(p[1].name, "lr");
  EXPECT_EQ(p[1].kind, ParamKind::kLogUniform);
  EXPECT_DOUBLE_EQ(p[1].low, 1e-4);
  EXPECT_DOUBLE_EQ(p[1].high, 1e-2);
  EXPECT_EQ(p[1].grid_points, 3);
  EXPECT_EQ(p[2].name, "warmup_steps");
  EXPECT_EQ(p[2].kind, ParamKind::kInt);
  EXPECT_EQ(p[2].low, 0);
  EXPECT_EQ(p[2].high, 2);
  EXPECT_EQ(p[3].name, "weight_decay");
  EXPECT_EQ(p[3].kind, ParamKind::kUniform);
  EXPECT_EQ(p[3].grid_points, 2);

  EXPECT_EQ(c.metric.name, "accuracy");
  EXPECT_FALSE(c.metric.maximize);
  EXPECT_EQ(c.budget.max_trials, 12);
  EXPECT_EQ(c.budget.max_steps, 0);
  EXPECT_DOUBLE_EQ(c.budget.epochs, 1.5);
  EXPECT_EQ(c.budget.eval_every, 50);
  EXPECT_EQ(c.budget.log_every, 5);
}

TEST_F(ConfigTest, EpochsAsAHyperparameterWithRungsInEpochs) {
  const std::string yaml = "name: t\ndata:\n  files: [" + data_ + "]\nsearch:\n  space:\n"
                           "    epochs: {type: choice, values: [2, 3, 4]}\n"
                           "budget:\n  max_trials: 3\n"
                           "scheduler:\n  type: asha\n  unit: epochs\n  grace: 0.5\n  reduction_factor: 2\n";
  auto c = Load(yaml);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->budget.epochs, 0);
  EXPECT_EQ(c->budget.max_steps, 0);
  EXPECT_EQ(c->scheduler.unit, BudgetUnit::kEpochs);
  EXPECT_DOUBLE_EQ(c->scheduler.grace_epochs, 0.5);
  EXPECT_DOUBLE_EQ(MostEpochs(*c), 4);
  // The default grace in epochs is one epoch; a fixed epochs hyperparameter is a budget too.
  auto fixed = Load("name: t\ndata:\n  files: [" + data_ + "]\nsearch:\n  space:\n"
                    "    lr: {type: uniform, low: 0.1, high: 0.2}\nbudget:\n  max_trials: 3\n"
                    "training:\n  epochs: 3\nscheduler:\n  type: hyperband\n  unit: epochs\n");
  ASSERT_TRUE(fixed.ok()) << fixed.status().message();
  EXPECT_DOUBLE_EQ(fixed->scheduler.grace_epochs, 1);
  EXPECT_DOUBLE_EQ(fixed->training.epochs, 3);
  EXPECT_DOUBLE_EQ(MostEpochs(*fixed), 3);
}

TEST_F(ConfigTest, FineTuningControlsAndEngineKeys) {
  std::string yaml = Minimal("trial:\n"
                                    "  threads_per_rank: auto\n"
                                    "  bucket_mb: 4\n"
                                    "  first_bucket_mb: 0.25\n"
                                    "  overlap: false\n"
                                    "  collective_timeout_seconds: 30\n"
                                    "training:\n"
                                    "  lr_schedule: cosine\n"
                                    "  warmup_ratio: 0.1\n"
                                    "  grad_accumulation: 4\n"
                                    "  freeze_embeddings: true\n"
                                    "  freeze_layers: 1\n"
                                    "  early_stopping_patience: 2\n");
  yaml.replace(yaml.find("  max_steps: 10\n"), 0, "  eval_every: 5\n");
  auto c = ParseSweepConfig(yaml, "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->trial.threads_per_rank, 0);
  EXPECT_DOUBLE_EQ(c->trial.bucket_mb, 4);
  EXPECT_DOUBLE_EQ(c->trial.first_bucket_mb, 0.25);
  EXPECT_FALSE(c->trial.overlap);
  EXPECT_DOUBLE_EQ(c->trial.collective_timeout_seconds, 30);
  EXPECT_EQ(c->training.lr_schedule, "cosine");
  EXPECT_DOUBLE_EQ(c->training.warmup_ratio, 0.1);
  EXPECT_EQ(c->training.grad_accumulation, 4);
  EXPECT_TRUE(c->training.freeze_embeddings);
  EXPECT_EQ(c->training.freeze_layers, 1);
  EXPECT_EQ(c->training.early_stopping_patience, 2);
  // auto: the CPUs divided among max_concurrent trials of `ranks` ranks.
  c->trial.ranks = 2;
  c->max_concurrent = 3;
  EXPECT_EQ(ResolvedThreadsPerRank(*c, 24), 4);
  EXPECT_EQ(ResolvedThreadsPerRank(*c, 2), 1);
  c->trial.threads_per_rank = 5;
  EXPECT_EQ(ResolvedThreadsPerRank(*c, 2), 5);
  EXPECT_GE(AvailableCpus(), 1);

  // Searched: words and booleans as choices, conditional on each other.
  auto searched = ParseSweepConfig(
      "name: t\ndata:\n  files: [" + data_ + "]\nsearch:\n  space:\n"
      "    lr_schedule: {type: choice, values: [linear, cosine]}\n"
      "    freeze_embeddings: {type: choice, values: [true, false]}\n"
      "    freeze_layers: {type: int, low: 0, high: 2, when: {freeze_embeddings: true}}\n"
      "budget:\n  max_steps: 10\n",
      "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(searched.ok()) << searched.status().message();
  EXPECT_EQ(searched->search.space.params.size(), 3u);
}

// model.init naming a model directory: the architecture must match, and
// its tokenizer becomes the data's.
TEST_F(ConfigTest, ModelInitChecksTheArchitectureAndTakesTheTokenizer) {
  const std::string pkg = dir_ + "/pkg";
  fs::create_directories(pkg);
  std::ofstream(pkg + "/model.pt") << "x";
  std::ofstream(pkg + "/tokenizer.model") << "x";
  ModelPackage p;
  p.vocab = 100;
  p.layers = 2;
  p.hidden = 128;
  p.heads = 4;
  p.ffn = 256;
  p.max_length = 128;
  p.labels = {"a", "b"};
  std::ofstream(pkg + "/model.json") << ModelPackageToJson(p);
  auto c = Load(Minimal("model: {init: " + pkg + "}\n"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model.init, pkg);
  EXPECT_EQ(c->data.tokenizer, pkg + "/tokenizer.model");
  const std::string wider = ErrorOf(Minimal("model: {init: " + pkg + ", hidden: 256}\n"));
  EXPECT_NE(wider.find("cfg.yaml:9: model.init: " + pkg + " has hidden 128, model.hidden is 256"), std::string::npos)
      << wider;
  const std::string longer = ErrorOf(Minimal("model: {init: " + pkg + ", max_length: 512}\n"));
  EXPECT_NE(longer.find("has max_length 128, less than model.max_length 512"), std::string::npos) << longer;
  fs::remove(pkg + "/tokenizer.model");
  const std::string broken = ErrorOf(Minimal("model: {init: " + pkg + "}\n"));
  EXPECT_NE(broken.find("names tokenizer.model, which is missing"), std::string::npos) << broken;
}

TEST_F(ConfigTest, DefaultsApplied) {
  auto parsed = ParseSweepConfig(Minimal(), "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const SweepConfig& c = *parsed;
  EXPECT_EQ(c.output_dir, "runs/t");
  EXPECT_EQ(c.bind, "tcp://127.0.0.1:*");
  EXPECT_EQ(c.max_concurrent, 1);
  EXPECT_EQ(c.data.text_field, "text");
  EXPECT_EQ(c.data.label_field, "label");
  EXPECT_EQ(c.data.lang_field, "lang");
  EXPECT_EQ(c.data.group_field, "");
  EXPECT_DOUBLE_EQ(c.data.valid_fraction, 0.1);
  EXPECT_EQ(c.data.vocab_size, 8000);
  EXPECT_EQ(c.data.format, "auto");
  EXPECT_EQ(c.data.tokenizer, "");
  EXPECT_EQ(c.data.tokenizer_type, "unigram");
  EXPECT_EQ(c.data.max_tokens, 256);
  EXPECT_DOUBLE_EQ(c.data.sampling_alpha, 1.0);
  EXPECT_EQ(c.data.shard_dir, "runs/t/data");  // under output_dir
  EXPECT_EQ(c.data.threads, 0);
  EXPECT_EQ(c.model.layers, 2);
  EXPECT_EQ(c.model.hidden, 128);
  EXPECT_EQ(c.trial.ranks, 2);
  EXPECT_EQ(c.trial.backend, "mpi");
  EXPECT_EQ(c.search.algorithm, SearchAlgorithm::kRandom);
  EXPECT_EQ(c.search.seed, 0u);
  EXPECT_EQ(c.metric.name, "macro_f1");
  EXPECT_TRUE(c.metric.maximize);
  EXPECT_EQ(c.budget.max_trials, 4);
  EXPECT_EQ(c.budget.max_steps, 10);
  EXPECT_EQ(c.budget.log_every, 10);
  EXPECT_TRUE(c.scheduler.promote_in_place);
}

TEST_F(ConfigTest, ShardDirDefaultsUnderOutputDir) {
  auto c = ParseSweepConfig(Minimal("output_dir: /srv/sweeps/t\n"), "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->output_dir, "/srv/sweeps/t");
  EXPECT_EQ(c->data.shard_dir, "/srv/sweeps/t/data");
}

TEST_F(ConfigTest, MetricModeDefaultsFromName) {
  struct Case {
    std::string metric_block;
    std::string name;
    bool maximize;
  } cases[] = {
      {"metric: {name: valid_loss}\n", "valid_loss", false},
      {"metric: {name: valid_loss, mode: max}\n", "valid_loss", true},
      {"metric: {name: accuracy}\n", "accuracy", true},
      {"metric: {name: macro_f1}\n", "macro_f1", true},
      {"metric: {mode: min}\n", "macro_f1", false},
  };
  for (const Case& k : cases) {
    auto c = ParseSweepConfig(Minimal(k.metric_block), "cfg.yaml", RegisteredConfigNames());
    ASSERT_TRUE(c.ok()) << k.metric_block << c.status().message();
    EXPECT_EQ(c->metric.name, k.name) << k.metric_block;
    EXPECT_EQ(c->metric.maximize, k.maximize) << k.metric_block;
  }
}

// model.task masked_lm (polysweep pretrain): the data's labels are not
// read, and the metric defaults to the masked tokens' accuracy.
TEST_F(ConfigTest, MaskedLmReadsNoLabelsAndScoresMaskedAccuracy) {
  auto c = ParseSweepConfig(Minimal("model: {task: masked_lm}\ntraining: {mask_prob: 0.2}\n"), "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model.task, "masked_lm");
  EXPECT_EQ(c->data.label_field, "");
  EXPECT_EQ(c->metric.name, "accuracy");
  EXPECT_TRUE(c->metric.maximize);
  EXPECT_DOUBLE_EQ(c->training.mask_prob, 0.2);
  auto loss = ParseSweepConfig(Minimal("model: {task: masked_lm}\nmetric: {name: valid_loss}\n"), "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(loss.ok()) << loss.status().message();
  EXPECT_FALSE(loss->metric.maximize);
  auto classifier = ParseSweepConfig(Minimal(), "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(classifier.ok());
  EXPECT_EQ(classifier->model.task, "sequence_classification");
  EXPECT_EQ(classifier->data.label_field, "label");
  std::string with_labels = Minimal("model: {task: masked_lm}\n");
  with_labels.replace(with_labels.find("data:\n"), 6, "data:\n  labels: [a, b]\n");
  const std::string labels = ErrorOf(with_labels);
  EXPECT_NE(labels.find("cfg.yaml:3: data.labels: model.task masked_lm reads no labels"), std::string::npos) << labels;
}

// model.task regression: RMSE by default, minimized; correlations maximized.
TEST_F(ConfigTest, RegressionMinimizesErrorsAndMaximizesCorrelations) {
  auto c = ParseSweepConfig(Minimal("model: {task: regression}\n"), "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->data.real_labels);
  EXPECT_EQ(c->metric.name, "rmse");
  EXPECT_FALSE(c->metric.maximize);
  auto pearson = ParseSweepConfig(Minimal("model: {task: regression}\nmetric: {name: spearman}\n"), "cfg.yaml",
                                  RegisteredConfigNames());
  ASSERT_TRUE(pearson.ok()) << pearson.status().message();
  EXPECT_TRUE(pearson->metric.maximize);
  EXPECT_NE(ErrorOf(Minimal("model: {task: regression}\nmetric: {name: macro_f1}\n"))
                .find("macro_f1 is not defined for model.task regression (rmse, mae, pearson, spearman, valid_loss)"),
            std::string::npos);
  std::string labels = Minimal("model: {task: regression}\n");
  labels.replace(labels.find("data:\n"), 6, "data:\n  labels: [a, b]\n");
  EXPECT_NE(ErrorOf(labels).find("data.labels: model.task regression reads a number per text"), std::string::npos);
}

// model.task token_classification: entity F1 by default, word accuracy for
// plain tags (data.tag_scheme none); the tagged-data keys are read.
TEST_F(ConfigTest, TokenClassificationScoresEntitiesOrWords) {
  const std::string data = "  format: conll\n  lang: de\n  token_column: 1\n  tag_column: 3\n  label_all_pieces: true\n";
  auto c = ParseSweepConfig(Minimal("model: {task: token_classification}\n").replace(Minimal().find("search:"), 0, data),
                            "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->data.tagged);
  EXPECT_EQ(c->metric.name, "f1");
  EXPECT_TRUE(c->data.needs_spans);
  EXPECT_EQ(c->data.lang, "de");
  EXPECT_EQ(c->data.token_column, 1);
  EXPECT_EQ(c->data.tag_column, 3);
  EXPECT_TRUE(c->data.label_all_pieces);
  auto pos = ParseSweepConfig(
      Minimal("model: {task: token_classification}\n").replace(Minimal().find("search:"), 0, "  tag_scheme: none\n"),
      "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(pos.ok()) << pos.status().message();
  EXPECT_EQ(pos->metric.name, "accuracy");
  EXPECT_FALSE(pos->data.needs_spans);
  EXPECT_EQ(pos->data.tag_scheme, TagScheme::kPlain);
}

// The parser lists no launcher, backend, searcher or scheduler of its own: it
// accepts exactly the names it is handed, which the modules register.
TEST_F(ConfigTest, NamesOfOtherModulesAreTheOnesTheyRegister) {
  const std::string yaml = Minimal("trial: {launcher: agents, backend: nccl}\nscheduler: {type: median, grace: 5}\n");
  auto parsed = ParseSweepConfig(yaml, "cfg.yaml", RegisteredConfigNames());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->trial.launcher, "agents");
  EXPECT_EQ(parsed->scheduler.kind, SchedulerKind::kMedian);
  for (const auto& n : SearchAlgorithms()) EXPECT_STREQ(SearchAlgorithmName(n.kind), n.name);
  for (const auto& n : SchedulerKinds()) EXPECT_STREQ(SchedulerKindName(n.kind), n.name);

  // A build whose modules register fewer (or other) names gets a parser that
  // accepts only those, and its errors list them.
  ConfigNames fewer = RegisteredConfigNames();
  fewer.launchers = {"mpirun"};
  fewer.schedulers = {{"fifo", SchedulerKind::kFifo}, {"halving", SchedulerKind::kAsha}};
  auto refused = ParseSweepConfig(yaml, "cfg.yaml", fewer);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("cfg.yaml:9: trial.launcher"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("expected mpirun"), std::string::npos) << refused.status().message();
  fewer.backends = {"mpi"};
  auto gloo = ParseSweepConfig(Minimal("trial: {backend: nccl}\n"), "cfg.yaml", fewer);
  ASSERT_FALSE(gloo.ok());
  EXPECT_NE(gloo.status().message().find("cfg.yaml:9: trial.backend: expected mpi, got \"nccl\""), std::string::npos)
      << gloo.status().message();
  auto halving = ParseSweepConfig(Minimal("scheduler: {type: halving, grace: 5}\n"), "cfg.yaml", fewer);
  ASSERT_TRUE(halving.ok()) << halving.status().message();
  EXPECT_EQ(halving->scheduler.kind, SchedulerKind::kAsha);
  auto median = ParseSweepConfig(Minimal("scheduler: {type: median, grace: 5}\n"), "cfg.yaml", fewer);
  ASSERT_FALSE(median.ok());
  EXPECT_NE(median.status().message().find("fifo or halving"), std::string::npos) << median.status().message();
}

TEST_F(ConfigTest, LoadSweepConfigReadsFile) {
  const std::string path = dir_ + "/sweep.yaml";
  std::ofstream(path) << Minimal();
  auto c = LoadSweepConfig(path, RegisteredConfigNames());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->source_path, path);
  EXPECT_EQ(c->source_text, Minimal());

  std::ofstream(path) << Minimal("bogus: 1\n");
  auto bad = LoadSweepConfig(path, RegisteredConfigNames());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path + ":9: bogus"), std::string::npos) << bad.status().message();

  auto missing = LoadSweepConfig(dir_ + "/nope.yaml", RegisteredConfigNames());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(dir_ + "/nope.yaml"), std::string::npos);
}

// Each bad config: the YAML, "LINE: key.path" expected after "cfg.yaml:", and
// a word of the explanation.
struct BadCase {
  const char* what;
  std::string yaml;
  std::string where;  // "LINE: key.path"
  std::string why;
};

TEST_F(ConfigTest, BadConfigsNameFileLineAndKey) {
  const std::string space_head =
      "name: t\ndata:\n  files: [" + data_ + "]\nsearch:\n  space:\n";  // space entries on line 6
  const std::string budget = "budget:\n  max_steps: 10\n";
  const BadCase cases[] = {
      {"unknown top-level key", Minimal("colour: red\n"), "9: colour", "unknown key"},
      {"unknown nested key", Minimal("model:\n  layerz: 2\n"), "10: model.layerz", "unknown key"},
      {"wrong type", Minimal("model:\n  layers: abc\n"), "10: model.layers", "expected a number"},
      {"out of range", Minimal("trial:\n  ranks: 0\n"), "10: trial.ranks", "out of range"},
      {"non-integer", Minimal("trial:\n  ranks: 1.5\n"), "10: trial.ranks", "integer"},
      {"overlap not a boolean", Minimal("trial:\n  overlap: sometimes\n"), "10: trial.overlap",
       "expected true or false, got \"sometimes\""},
      {"promote_in_place not a boolean", Minimal("scheduler:\n  type: asha\n  promote_in_place: 1\n"),
       "11: scheduler.promote_in_place", "expected true or false, got \"1\""},
      {"bucket too small", Minimal("trial:\n  bucket_mb: 0\n"), "10: trial.bucket_mb", "out of range"},
      {"threads_per_rank word", Minimal("trial:\n  threads_per_rank: many\n"), "10: trial.threads_per_rank",
       "expected a number"},
      {"freeze more layers than the model has", Minimal("model: {layers: 2}\ntraining:\n  freeze_layers: 3\n"),
       "11: training.freeze_layers", "3 is more than model.layers (2)"},
      {"searched freeze_layers beyond the model",
       space_head + "    freeze_layers: {type: int, low: 0, high: 4}\n" + budget + "model: {layers: 2}\n",
       "6: search.space.freeze_layers.high", "4 is more than model.layers (2)"},
      {"early stopping without evaluations", Minimal("training:\n  early_stopping_patience: 2\n"),
       "10: training.early_stopping_patience", "needs budget.eval_every > 0"},
      {"unknown task", Minimal("model:\n  task: multi_label\n"), "10: model.task",
       "unknown task \"multi_label\" (sequence_classification, token_classification, masked_lm, regression, "
       "multi_label_classification)"},
      {"conll files for a text classifier",
       Minimal().replace(Minimal().find("search:"), 0, "  format: conll\n"), "4: data.format",
       "conll files tag words: they need model.task token_classification"},
      {"tsv files for token classification",
       Minimal("model: {task: token_classification}\n").replace(Minimal().find("search:"), 0, "  format: tsv\n"),
       "4: data.format", "token_classification reads CoNLL column files (conll) or JSONL"},
      {"an entity metric for plain tags",
       Minimal("model: {task: token_classification}\nmetric:\n  name: f1\n")
           .replace(Minimal().find("search:"), 0, "  tag_scheme: none\n"),
       "12: metric.name", "f1 counts entity spans, which data.tag_scheme none has not"},
      {"macro_f1 for token classification",
       Minimal("model: {task: token_classification}\nmetric:\n  name: macro_f1\n"), "11: metric.name",
       "macro_f1 is not defined for model.task token_classification (f1, precision, recall, accuracy"},
      {"an entity metric for a text classifier", Minimal("metric:\n  name: precision\n"), "10: metric.name",
       "precision is not defined for model.task sequence_classification"},
      {"an unknown tag scheme",
       Minimal("model: {task: token_classification}\n").replace(Minimal().find("search:"), 0, "  tag_scheme: bilou\n"),
       "4: data.tag_scheme", "expected auto, none, iob1, iob2, bio, bioes or iobes, got \"bilou\""},
      {"an F1 metric for masked_lm", Minimal("model: {task: masked_lm}\nmetric:\n  name: macro_f1\n"),
       "11: metric.name", "macro_f1 is not defined for model.task masked_lm"},
      {"text pairs for masked_lm",
       Minimal("model: {task: masked_lm}\n").replace(Minimal().find("search:"), 0, "  text_pair_field: second\n"),
       "4: data.text_pair_field", "model.task masked_lm reads single texts"},
      {"mask_prob out of range", Minimal("model: {task: masked_lm}\ntraining:\n  mask_prob: 1.0\n"),
       "11: training.mask_prob", "mask_prob"},
      {"model.init that does not exist", Minimal("model:\n  init: /nonexistent/model\n"), "10: model.init",
       "no such file or directory: /nonexistent/model"},
      {"unknown lr schedule", Minimal("training:\n  lr_schedule: exponential\n"), "10: training.lr_schedule",
       "must be one of linear, cosine, constant"},
      {"searched schedule value", space_head + "    lr_schedule: {type: choice, values: [linear, step]}\n" + budget,
       "6: search.space.lr_schedule.values[1]", "must be one of linear, cosine, constant"},
      {"empty search space",
       "name: t\ndata:\n  files: [" + data_ + "]\nsearch:\n  space: {}\n" + budget, "5: search.space",
       "empty search space"},
      {"missing search", "name: t\ndata:\n  files: [" + data_ + "]\n" + budget, "1: search",
       "required key is missing"},
      {"unknown parameter name", space_head + "    learning_rate: {type: uniform, low: 0, high: 1}\n" + budget,
       "6: search.space.learning_rate", "unknown key"},
      {"unknown parameter type", space_head + "    lr: {type: gaussian, low: 0.1, high: 1}\n" + budget,
       "6: search.space.lr.type", "unknown parameter type"},
      {"loguniform low <= 0", space_head + "    lr: {type: loguniform, low: 0, high: 0.1}\n" + budget,
       "6: search.space.lr.low", "low > 0"},
      {"low >= high", space_head + "    dropout: {type: uniform, low: 0.5, high: 0.5}\n" + budget,
       "6: search.space.dropout.high", "greater than low"},
      {"choice with empty values", space_head + "    batch_size: {type: choice, values: []}\n" + budget,
       "6: search.space.batch_size.values", "non-empty"},
      {"choice value out of range", space_head + "    batch_size: {type: choice, values: [16, 0.5]}\n" + budget,
       "6: search.space.batch_size.values[1]", "integer"},
      {"grid with continuous param without points",
       "name: t\ndata:\n  files: [" + data_ + "]\nsearch:\n  algorithm: grid\n  space:\n"
       "    lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}\n" + budget,
       "7: search.space.lr", "points"},
      {"bad search algorithm", Minimal().replace(Minimal().find("  space:"), 0, "  algorithm: bayes\n"),
       "5: search.algorithm", "grid, random, quasirandom or tpe"},
      {"qloguniform without q", space_head + "    batch_size: {type: qloguniform, low: 8, high: 64}\n" + budget,
       "6: search.space.batch_size.q", "required for qloguniform"},
      {"qloguniform with no multiple in range",
       space_head + "    batch_size: {type: qloguniform, low: 9, high: 15, q: 8}\n" + budget,
       "6: search.space.batch_size.q", "no multiple of q"},
      {"condition on an unknown parameter",
       space_head + "    dropout: {type: uniform, low: 0, high: 0.3, when: {lora: true}}\n" + budget,
       "6: search.space.dropout.when", "\"lora\" is not a searched choice parameter"},
      {"condition on a value the parent never takes",
       space_head + "    batch_size: {type: choice, values: [16, 32]}\n"
                    "    dropout: {type: uniform, low: 0, high: 0.3, when: {batch_size: 64}}\n" + budget,
       "7: search.space.dropout.when", "\"64\" is not one of batch_size's values"},
      {"conditions in a cycle",
       space_head + "    batch_size: {type: choice, values: [16, 32], when: {seed: 1}}\n"
                    "    seed: {type: choice, values: [1, 2], when: {batch_size: 16}}\n" + budget,
       "6: search.space.batch_size.when", "conditions form a cycle"},
      {"grid with a conditional parameter",
       "name: t\ndata:\n  files: [" + data_ + "]\nsearch:\n  algorithm: grid\n  space:\n"
       "    batch_size: {type: choice, values: [16, 32]}\n"
       "    seed: {type: choice, values: [1, 2], when: {batch_size: 16}}\n" + budget,
       "8: search.space.seed.when", "grid search has no conditional parameters"},
      {"duplicate top-level key", Minimal("name: u\n"), "9: name", "duplicate key"},
      {"duplicate nested key", Minimal("model:\n  layers: 2\n  layers: 3\n"), "11: model.layers",
       "duplicate key"},
      {"both max_steps and epochs", Minimal("").replace(Minimal().find("  max_steps"), 0, "  epochs: 1\n"),
       "8: budget", "set one of max_steps and epochs, not both"},
      {"neither max_steps nor epochs",
       Minimal().replace(Minimal().find("  max_steps: 10"), 15, "  log_every: 5"), "8: budget",
       "set one of max_steps and epochs (or make epochs a hyperparameter"},
      {"searched epochs with a step budget", space_head + "    epochs: {type: int, low: 2, high: 4}\n" + budget,
       "6: search.space.epochs", "remove budget.max_steps"},
      {"searched epochs and budget.epochs",
       space_head + "    epochs: {type: int, low: 2, high: 4}\nbudget:\n  epochs: 3\n", "6: search.space.epochs",
       "budget.epochs also sets every trial's epochs: keep one of them"},
      {"searched epochs from 0",
       space_head + "    epochs: {type: uniform, low: 0, high: 3}\nbudget:\n  max_trials: 2\n",
       "6: search.space.epochs", "every value must be > 0"},
      {"fixed epochs of 0",
       space_head + "    lr: {type: uniform, low: 0.1, high: 0.2}\nbudget:\n  max_trials: 2\ntraining:\n  epochs: 0\n",
       "10: training.epochs", "must be > 0"},
      {"rungs in epochs on a step budget", Minimal("scheduler:\n  type: asha\n  unit: epochs\n"),
       "11: scheduler.unit", "budget.max_steps counts steps"},
      {"epoch grace not below the longest trial",
       space_head + "    epochs: {type: int, low: 2, high: 4}\nbudget:\n  max_trials: 2\n"
                    "scheduler:\n  type: asha\n  unit: epochs\n  grace: 4\n",
       "12: scheduler.grace", "not below the longest trial's 4 epochs"},
      {"unknown scheduler unit", Minimal("scheduler:\n  unit: minutes\n"), "10: scheduler.unit", "steps or epochs"},
      {"grace of part of a step", Minimal("scheduler:\n  type: asha\n  grace: 2.5\n"), "11: scheduler.grace",
       "integer"},
      {"missing data file", Minimal().replace(Minimal().find(data_), data_.size(), dir_ + "/absent.jsonl"),
       "3: data.files[0]", "no such file: " + dir_ + "/absent.jsonl"},
      {"unknown metric name", Minimal("metric:\n  name: f2\n"), "10: metric.name", "unknown metric"},
      {"bad metric mode", Minimal("metric:\n  mode: up\n"), "10: metric.mode", "max or min"},
      {"hidden not divisible by heads", Minimal("model:\n  hidden: 100\n  heads: 3\n"), "11: model.heads",
       "divisible"},
      {"bad name characters", Minimal().replace(0, 7, "name: my sweep"), "1: name", "letters, digits"},
      {"training value out of range", Minimal("training:\n  dropout: 1.0\n"), "10: training.dropout",
       "out of range"},
      {"unknown training key", Minimal("training:\n  momentum: 0.9\n"), "10: training.momentum",
       "unknown key"},
      {"bad backend", Minimal("trial:\n  backend: gloo\n"), "10: trial.backend", "mpi or nccl"},
      {"data.files not a list", Minimal().replace(Minimal().find("[" + data_ + "]"), data_.size() + 2, "{a: 1}"),
       "3: data.files", "list of strings"},
      {"bad data format", Minimal().replace(Minimal().find("search:"), 0, "  format: csv\n"), "4: data.format",
       "auto, jsonl, tsv or conll"},
      {"missing tokenizer file",
       Minimal().replace(Minimal().find("search:"), 0, "  tokenizer: " + dir_ + "/absent.model\n"),
       "4: data.tokenizer", "no such file: " + dir_ + "/absent.model"},
      {"bad tokenizer type", Minimal().replace(Minimal().find("search:"), 0, "  tokenizer_type: wordpiece\n"),
       "4: data.tokenizer_type", "unigram or bpe"},
      {"sampling alpha out of range", Minimal().replace(Minimal().find("search:"), 0, "  sampling_alpha: 1.5\n"),
       "4: data.sampling_alpha", "out of range"},
      {"fraction out of range", Minimal().replace(Minimal().find("search:"), 0, "  valid_fraction: 0.9\n"),
       "4: data.valid_fraction", "out of range"},
      {"negative budget", Minimal().replace(Minimal().find("10\n"), 2, "-5"), "8: budget.max_steps",
       "out of range"},
      {"huge value", Minimal("trial:\n  ranks: 99999999999999999999999\n"), "10: trial.ranks", "out of range"},
      {"overflowing number", Minimal().replace(Minimal().find("  max_steps: 10"), 14, "  max_steps: 1e400"),
       "8: budget.max_steps", "number"},
      {"invalid UTF-8 in a value", Minimal("metric:\n  name: f\xC3\x28\n"), "10: ", "invalid UTF-8"},
      {"invalid UTF-8 in a key", Minimal("mod\xFF" "el: {}\n"), "9: ", "invalid UTF-8"},
      {"security mode", Minimal("security:\n  curve: maybe\n"), "10: security.curve", "auto, on or off"},
  };
  ASSERT_GE(std::size(cases), 30u);
  for (const BadCase& k : cases) {
    SCOPED_TRACE(k.what);
    const std::string msg = ErrorOf(k.yaml);
    EXPECT_NE(msg.find("cfg.yaml:" + k.where), std::string::npos)
        << "message: " << msg << "\nexpected: cfg.yaml:" << k.where << "\nyaml:\n" << k.yaml;
    EXPECT_NE(msg.find(k.why), std::string::npos) << "message: " << msg << "\nexpected: " << k.why;
  }
}

TEST_F(ConfigTest, InvalidYamlNamesLine) {
  const std::string msg = ErrorOf("name: t\ndata:\n  files: [a, b\nsearch: {}\n");
  EXPECT_NE(msg.find("cfg.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid YAML"), std::string::npos) << msg;
  // The parser notices the unclosed list at line 3 or where it gives up (4).
  EXPECT_TRUE(msg.find("cfg.yaml:3:") != std::string::npos || msg.find("cfg.yaml:4:") != std::string::npos)
      << msg;

  const std::string tab = ErrorOf("name: t\nmodel:\n  layers: 2\n layers: [\n");
  EXPECT_NE(tab.find("invalid YAML"), std::string::npos) << tab;
}

TEST_F(ConfigTest, TopLevelMustBeMapping) {
  const std::string msg = ErrorOf("- just\n- a list\n");
  EXPECT_NE(msg.find("cfg.yaml:1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a mapping"), std::string::npos) << msg;
}

}  // namespace
}  // namespace polysweep
