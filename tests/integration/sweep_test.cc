// A real sweep end to end: 3 trials x 2 MPI ranks on a slice of the default
// multilingual dataset, through the coordinator, the local mpirun launcher,
// ZeroMQ and the SQLite journal; the CLI is checked live and from the journal.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "command.h"
#include "common/checkpoint_manifest.h"
#include "journal_reader.h"

extern char** environ;

namespace polysweep {
namespace {

using testing_util::JournalReader;
using testing_util::Quote;
using testing_util::RunCommand;

std::string WriteConfig(const std::string& dir) {
  const std::string path = dir + "/sweep.yaml";
  std::ofstream(path) << testing_util::TinySweepHead("e2e", dir + "/run", POLYSWEEP_DEFAULT_DATA)
                      << "trial: {ranks: 2, threads_per_rank: 1}\n"
                      << "max_concurrent: 1\n"
                      << "search:\n"
                      << "  algorithm: random\n"
                      << "  seed: 3\n"
                      << "  space:\n"
                      << "    lr: {type: loguniform, low: 2.0e-3, high: 6.0e-3}\n"
                      << "    batch_size: {type: choice, values: [8, 16]}\n"
                      << "    dropout: {type: uniform, low: 0.0, high: 0.1}\n"
                      << "training: {warmup_steps: 5}\n"
                      << "metric: {name: macro_f1}\n"
                      << "budget: {max_trials: 3, max_steps: 60, eval_every: 30, log_every: 5}\n"
                      << "security: {curve: on}\n";  // ranks and CLI authenticate with the sweep's keys
  return path;
}

TEST(Sweep, ThreeTrialsOfTwoRanksFinishWithMetricsInTheJournal) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("e2e");
  const std::string config = WriteConfig(dir), run = dir + "/run";

  // Start the sweep in the background so the CLI can talk to it live.
  const std::string log = dir + "/sweep.log";
  const pid_t pid = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, log);
  ASSERT_GT(pid, 0);

  // Live: once the coordinator has written its endpoint, `status` asks it.
  bool asked_live = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (!asked_live && std::filesystem::exists(run + "/coordinator.endpoint")) {
      auto live = RunCommand(std::string(POLYSWEEP_BIN) + " status -o json --dir " + Quote(run));
      ASSERT_EQ(live.exit_code, 0) << live.err;
      auto j = nlohmann::json::parse(live.out);
      if (j["source"].get<std::string>().find("live coordinator") != std::string::npos) {
        asked_live = true;
        EXPECT_EQ(j["sweep"], "e2e");
        EXPECT_EQ(j["state"], "running");
        EXPECT_EQ(j["secured"], true);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!WIFEXITED(status)) {
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    FAIL() << "sweep did not finish in time";
  }
  std::stringstream output;
  output << std::ifstream(log).rdbuf();
  ASSERT_EQ(WEXITSTATUS(status), 0) << output.str();
  EXPECT_TRUE(asked_live) << "never reached the live coordinator";
  EXPECT_FALSE(std::filesystem::exists(run + "/coordinator.endpoint")) << "endpoint file left behind";
  EXPECT_NE(output.str().find("best trial"), std::string::npos);
  EXPECT_NE(output.str().find("LANG"), std::string::npos) << "no per-language table";

  JournalReader j(run + "/journal.db");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j.Scalar("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(j.Scalar("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(j.Scalar("SELECT state FROM sweeps"), "finished");
  auto trials = j.Query("SELECT id, state, outcome FROM trials ORDER BY id");
  ASSERT_EQ(trials.size(), 3u);
  for (const auto& t : trials) {
    EXPECT_EQ(t[1], "completed") << "trial " << t[0];
    const std::string where = " WHERE trial_id=" + t[0];
    EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations" + where), "2") << "trial " << t[0];
    EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations" + where + " AND final=1"), "1");
    EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM progress" + where), "12");
    EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress" + where), "60");
    EXPECT_GE(std::stoi(j.Scalar("SELECT COUNT(DISTINCT lang) FROM language_scores" + where)), 8);
    const double first = std::stod(j.Scalar("SELECT loss FROM progress" + where + " ORDER BY step LIMIT 1"));
    const double last = std::stod(j.Scalar("SELECT loss FROM progress" + where + " ORDER BY step DESC LIMIT 1"));
    EXPECT_LT(last, first) << "loss did not fall in trial " << t[0];
    EXPECT_GE(std::stoi(j.Scalar("SELECT COUNT(*) FROM transitions" + where)), 2);
  }

  // From the journal (no coordinator now): best agrees with the journal's numbers.
  auto best = RunCommand(std::string(POLYSWEEP_BIN) + " best -o json --dir " + Quote(run));
  ASSERT_EQ(best.exit_code, 0) << best.err;
  auto bj = nlohmann::json::parse(best.out);
  const std::string best_id = j.Scalar(
      "SELECT trial_id FROM evaluations WHERE final=1 ORDER BY objective DESC, trial_id LIMIT 1");
  EXPECT_EQ(std::to_string(bj["best"]["id"].get<int>()), best_id);
  EXPECT_GE(bj["best"]["languages"].size(), 8u);
  EXPECT_GT(bj["best"]["metric"].get<double>(), 0.0);
  // Its best model: the checkpoint of its best-scoring evaluation, kept by
  // trial.keep_best_checkpoints (default 1) and named by `best`.
  const std::string best_step = j.Scalar("SELECT step FROM evaluations WHERE trial_id=" + best_id +
                                         " ORDER BY objective DESC, step DESC LIMIT 1");
  ASSERT_TRUE(bj["checkpoint"].is_string()) << best.out;
  EXPECT_EQ(bj["checkpoint"].get<std::string>(),
            std::filesystem::absolute(run).string() + "/checkpoints/trial-" + best_id + "/step-" + best_step);
  auto best_manifest = VerifyCheckpoint(bj["checkpoint"].get<std::string>());
  ASSERT_TRUE(best_manifest.ok()) << best_manifest.status().message();
  ASSERT_TRUE(best_manifest->score.has_value());
  EXPECT_NEAR(*best_manifest->score,
              std::stod(j.Scalar("SELECT MAX(objective) FROM evaluations WHERE trial_id=" + best_id)), 1e-9);

  auto trials_json = RunCommand(std::string(POLYSWEEP_BIN) + " trials -o json --dir " + Quote(run));
  ASSERT_EQ(trials_json.exit_code, 0) << trials_json.err;
  EXPECT_EQ(nlohmann::json::parse(trials_json.out)["trials"].size(), 3u);

  // The sweep exported that model with its tokenizer and labels, and
  // `polysweep predict` classifies text with it.
  EXPECT_NE(output.str().find("model:   " + run + "/model"), std::string::npos) << output.str();
  std::stringstream package_text;
  package_text << std::ifstream(run + "/model/model.json").rdbuf();
  auto package = nlohmann::json::parse(package_text.str());
  EXPECT_EQ(package["source"]["trial"].get<int>(), std::stoi(best_id));
  EXPECT_EQ(std::to_string(package["source"]["step"].get<int64_t>()), best_step);
  EXPECT_EQ(package["labels"].size(), 15u);
  EXPECT_EQ(package["model"]["hidden"].get<int>(), 32);
  const std::string texts = dir + "/texts.jsonl";
  {
    std::ifstream data(POLYSWEEP_DEFAULT_DATA);
    std::ofstream out(texts);
    std::string line;
    for (int i = 0; i < 300 && std::getline(data, line); ++i) out << line << "\n";
  }
  // From stdin (RunCommand gives the command /dev/null: the subshell's redirection wins).
  auto predicted = RunCommand("(" + std::string(POLYSWEEP_BIN) + " predict " + Quote(run + "/model") + " --probs < " +
                              Quote(texts) + ")");
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  std::istringstream lines(predicted.out);
  std::string line;
  int n = 0;
  std::set<std::string> labels;
  for (const auto& l : package["labels"]) labels.insert(l.get<std::string>());
  while (std::getline(lines, line)) {
    auto row = nlohmann::json::parse(line);
    ASSERT_TRUE(row.contains("text") && row.contains("label") && row.contains("lang")) << line;  // input kept
    EXPECT_EQ(labels.count(row["predicted"].get<std::string>()), 1u) << line;
    const double p = row["probability"].get<double>();
    EXPECT_GT(p, 0.0);
    EXPECT_LE(p, 1.0);
    double sum = 0;
    for (auto& [label, q] : row["probs"].items()) sum += q.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-4);
    ++n;
  }
  EXPECT_EQ(n, 300);
  EXPECT_NE(predicted.err.find("classified 300 texts"), std::string::npos) << predicted.err;
  EXPECT_NE(predicted.err.find("accuracy "), std::string::npos) << predicted.err;
  // The sweep scored that model on the held-out test split: a line in its
  // summary, the per-class report (overall and per language) beside it.
  EXPECT_NE(output.str().find("test:    scored the test split of "), std::string::npos) << output.str();
  std::stringstream test_text;
  test_text << std::ifstream(run + "/model/test-report.json").rdbuf();
  auto test_report = nlohmann::json::parse(test_text.str(), nullptr, false);
  ASSERT_TRUE(test_report.is_object()) << "no test report in " << run << "/model";
  std::stringstream manifest_text;
  manifest_text << std::ifstream(run + "/data/manifest.json").rdbuf();
  int64_t test_examples = 0;
  const auto manifest = nlohmann::json::parse(manifest_text.str());
  for (const auto& [lang, c] : manifest["counts"].items()) test_examples += c["test"].get<int64_t>();
  EXPECT_EQ(test_report["support"].get<int64_t>(), test_examples);
  EXPECT_GE(test_report["languages"].size(), 8u);
  // `best` shows that score with the best trial (from the journal and the
  // model directory), and the dashboard's data carries it.
  auto best_again = RunCommand(std::string(POLYSWEEP_BIN) + " best --dir " + Quote(run));
  EXPECT_NE(best_again.out.find("  test split       accuracy "), std::string::npos) << best_again.out;
  auto best_test = nlohmann::json::parse(RunCommand(std::string(POLYSWEEP_BIN) + " best -o json --dir " + Quote(run)).out);
  EXPECT_EQ(best_test["test"]["examples"].get<int64_t>(), test_examples) << best_test.dump();
  EXPECT_NEAR(best_test["test"]["macro_f1"].get<double>(), test_report["macro"]["f1"].get<double>(), 1e-12);
  auto report_page = RunCommand(std::string(POLYSWEEP_BIN) + " report --dir " + Quote(run) + " -o " +
                                Quote(dir + "/report.html"));
  ASSERT_EQ(report_page.exit_code, 0) << report_page.err;
  std::stringstream page;
  page << std::ifstream(dir + "/report.html").rdbuf();
  EXPECT_NE(page.str().find("\"test\":{\"accuracy\":"), std::string::npos) << "no test score in the report's data";
  // Scored the same way, the valid split gives the accuracy the best checkpoint's evaluation journaled.
  auto valid = RunCommand(std::string(POLYSWEEP_BIN) + " evaluate " + Quote(run + "/model") + " --shards " +
                          Quote(run + "/data") + " --split valid --report-json " + Quote(dir + "/valid.json"));
  ASSERT_EQ(valid.exit_code, 0) << valid.err;
  EXPECT_NE(valid.out.find("weighted avg"), std::string::npos) << valid.out;
  std::stringstream valid_text;
  valid_text << std::ifstream(dir + "/valid.json").rdbuf();
  EXPECT_NEAR(nlohmann::json::parse(valid_text.str())["accuracy"].get<double>(),
              std::stod(j.Scalar("SELECT accuracy FROM evaluations WHERE trial_id=" + best_id + " AND step=" + best_step)),
              0.005);
  auto other = RunCommand(std::string(POLYSWEEP_BIN) + " evaluate " + Quote(run + "/model") + " --shards " +
                          Quote(run + "/data") + " --split tests");
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("--split: unknown split \"tests\" (train, valid, validation, dev or test)"), std::string::npos)
      << other.err;
  // `polysweep evaluate` scores the same lines: the per-class report, whose
  // accuracy is the one predict gave, per language too, and as JSON.
  auto evaluated = RunCommand(std::string(POLYSWEEP_BIN) + " evaluate " + Quote(run + "/model") + " " +
                              Quote(texts) + " --report-json " + Quote(dir + "/report.json"));
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  EXPECT_NE(evaluated.out.find("label                precision  recall  f1-score  support"), std::string::npos)
      << evaluated.out;
  EXPECT_NE(evaluated.out.find("macro avg"), std::string::npos) << evaluated.out;
  EXPECT_NE(evaluated.out.find("language    accuracy"), std::string::npos) << evaluated.out;
  std::stringstream report_text;
  report_text << std::ifstream(dir + "/report.json").rdbuf();
  auto report = nlohmann::json::parse(report_text.str());
  EXPECT_EQ(report["support"], 300);
  char accuracy[64];
  std::snprintf(accuracy, sizeof accuracy, "accuracy %.4f on 300 labelled lines", report["accuracy"].get<double>());
  EXPECT_NE(predicted.err.find(accuracy), std::string::npos) << predicted.err << "\nvs " << accuracy;
  int64_t per_language = 0;
  for (auto& [lang, r] : report["languages"].items()) per_language += r["support"].get<int64_t>();
  EXPECT_EQ(per_language, 300);
  auto unlabelled = RunCommand("(" + std::string(POLYSWEEP_BIN) + " evaluate " + Quote(run + "/model") +
                               " --label-field topic < " + Quote(texts) + ")");
  EXPECT_EQ(unlabelled.exit_code, 1);
  EXPECT_NE(unlabelled.err.find("stdin: no line carries a label the model knows"), std::string::npos)
      << unlabelled.err;
  // A bad line is named by its number.
  std::ofstream(dir + "/bad.jsonl") << "{\"text\": \"Ein Spiel\"}\nnot json\n";
  auto bad = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(run + "/model") + " " + Quote(dir + "/bad.jsonl"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(dir + "/bad.jsonl:2: not a JSON object"), std::string::npos) << bad.err;
  std::ofstream(dir + "/notext.jsonl") << "{\"body\": \"Ein Spiel\"}\n";
  auto notext = RunCommand("(" + std::string(POLYSWEEP_BIN) + " predict " + Quote(run + "/model") + " < " +
                           Quote(dir + "/notext.jsonl") + ")");
  EXPECT_EQ(notext.exit_code, 1);
  EXPECT_NE(notext.err.find("stdin:1: no string field \"text\""), std::string::npos) << notext.err;

  // The shards the sweep made are up to date for `polysweep shard`, and
  // `data stats` describes them.
  auto shard = RunCommand(std::string(POLYSWEEP_BIN) + " shard " + Quote(config));
  ASSERT_EQ(shard.exit_code, 0) << shard.err;
  EXPECT_NE(shard.err.find("shards up to date"), std::string::npos) << shard.err;
  auto stats = RunCommand(std::string(POLYSWEEP_BIN) + " data stats -o json " + Quote(config));
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  auto sj = nlohmann::json::parse(stats.out);
  EXPECT_EQ(sj["languages"].size(), 14u);
  int64_t train = 0;
  for (auto& [lang, v] : sj["languages"].items()) {
    train += v["train"].get<int64_t>();
    EXPECT_LE(v["train"].get<int64_t>() + v["valid"].get<int64_t>() + v["test"].get<int64_t>(), 120) << lang;
    EXPECT_GT(v["tokens"]["p50"].get<int64_t>(), 0);
  }
  EXPECT_GT(train, 1000);
  EXPECT_EQ(sj["labels"].size(), 15u);

  auto status_text = RunCommand(std::string(POLYSWEEP_BIN) + " status --dir " + Quote(run));
  ASSERT_EQ(status_text.exit_code, 0) << status_text.err;
  EXPECT_NE(status_text.out.find("no coordinator running"), std::string::npos) << status_text.out;
  EXPECT_NE(status_text.out.find("3 completed"), std::string::npos) << status_text.out;

  // No rank of any trial is left running.
  auto ps = RunCommand("pgrep -f " + Quote("[p]olysweep-worker --coordinator .* --sweep e2e"));
  EXPECT_NE(ps.exit_code, 0) << "leftover worker processes: " << ps.out;
  std::filesystem::remove_all(dir);
}

// A trial that cannot run here (the NCCL backend on a machine without a GPU)
// fails at once with a typed reason and the worker's message, is not
// restarted (it would only fail again), and the sweep says no trial completed.
TEST(Sweep, ATrialThatCannotRunFailsWithItsReasonAndIsNotRestarted) {
  const std::string dir = testing_util::FreshDir("nccl");
  const std::string config = dir + "/nccl.yaml";
  std::ofstream(config) << "name: nccl\noutput_dir: " << dir << "/run\n"
                        << "data: {files: [" << POLYSWEEP_DEFAULT_DATA << "], group_field: group, "
                        << "max_per_language: 60, vocab_size: 2000}\n"
                        << "model: {layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32}\n"
                        << "trial: {ranks: 2, backend: nccl, max_restarts: 3}\n"
                        << "search: {space: {lr: {type: choice, values: [0.003]}}}\n"
                        << "budget: {max_trials: 1, max_steps: 20}\n";
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(config));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  JournalReader j(dir + "/run/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "failed");
  EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=1"), "1") << "a bad config must not be retried";
  const std::string reason = j.Scalar("SELECT reason FROM trials WHERE id=1");
  const std::string error = j.Scalar("SELECT error FROM trials WHERE id=1");
  // Built with NCCL: it needs a GPU; built without: the backend is missing.
  EXPECT_EQ(reason, "bad config") << error;
  EXPECT_TRUE(error.find("needs a GPU") != std::string::npos || error.find("not built") != std::string::npos) << error;
  EXPECT_NE(r.out.find("trial 1 failed (bad config)"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}

// trial.checkpoint_every_seconds: rank 0's clock decides, every rank saves at
// the same step (the RNG states are gathered from both ranks, which would hang
// otherwise), and each checkpoint holds both ranks' RNG states.
TEST(Sweep, TimedCheckpointsAreTakenAtOneStepByEveryRank) {
  const std::string dir = testing_util::FreshDir("timed");
  const std::string config = dir + "/timed.yaml";
  std::ofstream(config) << "name: timed\noutput_dir: " << dir << "/run\n"
                        << "data: {files: [" << POLYSWEEP_DEFAULT_DATA << "], group_field: group, "
                        << "max_per_language: 60, vocab_size: 2000}\n"
                        << "model: {layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32}\n"
                        << "trial: {ranks: 2, checkpoint_every: 0, checkpoint_every_seconds: 0.5, keep_checkpoints: 1000, "
                        << "keep_best_checkpoints: 0}\n"
                        << "search: {space: {lr: {type: choice, values: [0.003]}}}\n"
                        << "budget: {max_trials: 1, max_steps: 1000, log_every: 10}\n";
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(config));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto checkpoints = ListCheckpoints(dir + "/run/checkpoints/trial-1");
  // One every 0.5 s of training: at least two, none sooner than 0.5 s after
  // the previous one (a manifest's time is when rank 0 took the state; the
  // timer restarts after that) and none much later. The writes run behind
  // the steps, so a slow write must not shorten a gap: the time is not when
  // the writer got to it. The exact due time is the policy's, tested on
  // given time points in tests/worker/checkpoint_policy_test.cc.
  ASSERT_GE(checkpoints.size(), 2u) << "expected a checkpoint every 0.5 s";
  double newer = 0;
  for (const std::string& c : checkpoints) {  // newest first
    auto m = VerifyCheckpoint(c);
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(m->world_size, 2);
    bool rng = false;
    for (const auto& f : m->files) rng |= f.name == "rng.bin" && f.bytes > 0 && f.bytes % 2 == 0;
    EXPECT_TRUE(rng) << c << " has no RNG states of both ranks";
    if (newer > 0) {
      EXPECT_GE(newer - m->wall_time, 0.45) << c << " came too soon after the previous one";
      EXPECT_LT(newer - m->wall_time, 5.0) << c << ": the next checkpoint came long after 0.5 s";
    }
    newer = m->wall_time;
  }
  std::filesystem::remove_all(dir);
}


// The fine-tuning controls and engine settings of the config reach every
// rank: micro-batches accumulate (samples per step double), the cosine
// schedule follows its warmup ratio, the embeddings and the bottom layer are
// frozen, gradients go in the configured buckets, threads are chosen
// automatically, and a trial whose score stops improving ends early as
// completed, with the decision journaled.
TEST(Sweep, FineTuningControlsReachTheRanksAndEarlyStoppingEndsATrial) {
  const std::string dir = testing_util::FreshDir("controls");
  const std::string config = dir + "/controls.yaml", run = dir + "/run";
  std::ofstream(config) << "name: controls\noutput_dir: " << run << "\n"
                        << "data: {files: [" << POLYSWEEP_DEFAULT_DATA << "], group_field: group, "
                        << "max_per_language: 60, vocab_size: 2000}\n"
                        << "model: {layers: 2, hidden: 32, heads: 2, ffn: 64, max_length: 32}\n"
                        << "trial: {ranks: 2, threads_per_rank: auto, bucket_mb: 0.02, first_bucket_mb: 0.005, "
                        << "overlap: true, collective_timeout_seconds: 60}\n"
                        << "training: {batch_size: 8, grad_accumulation: 2, lr_schedule: cosine, warmup_ratio: 0.1, "
                        << "freeze_embeddings: true, freeze_layers: 1, early_stopping_patience: 1}\n"
                        // A learning rate this small leaves the predictions as they are:
                        // the second evaluation is no better than the first.
                        << "search: {space: {lr: {type: choice, values: [1.0e-8]}}}\n"
                        << "budget: {max_trials: 1, max_steps: 60, eval_every: 10, log_every: 5}\n";
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(config));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("trial.threads_per_rank auto: "), std::string::npos) << r.out << r.err;
  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  // Early stop at the second evaluation (step 20), not at max_steps.
  EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1"), "20");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations WHERE trial_id=1"), "2");
  EXPECT_EQ(j.Scalar("SELECT kind || ' ' || step FROM decisions WHERE trial_id=1"), "early stop 20");
  EXPECT_NE(j.Scalar("SELECT detail FROM decisions WHERE trial_id=1").find("no better macro_f1 in 1 evaluations"),
            std::string::npos);
  // 8 examples x 2 micro-batches x 2 ranks per step.
  EXPECT_EQ(j.Scalar("SELECT samples FROM progress WHERE trial_id=1 AND step=10"), "320");
  // Cosine after 6 warmup steps (0.1 x 60): at step 10, 4 of 54 decay steps done.
  const double lr = std::stod(j.Scalar("SELECT lr FROM progress WHERE trial_id=1 AND step=10"));
  EXPECT_NEAR(lr, 1e-8 * 0.5 * (1 + std::cos(M_PI * 4.0 / 54.0)), 1e-14);
  // --overwrite starts afresh: trial 1 trains again instead of resuming
  // from the earlier trial 1's checkpoints.
  auto again = RunCommand(std::string(POLYSWEEP_BIN) + " sweep --overwrite " + Quote(config));
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  JournalReader j2(run + "/journal.db");
  EXPECT_EQ(j2.Scalar("SELECT MIN(step) || '-' || MAX(step) FROM progress WHERE trial_id=1"), "5-20");
  EXPECT_EQ(j2.Scalar("SELECT COUNT(*) FROM evaluations WHERE trial_id=1"), "2");
  std::stringstream trial_log;
  trial_log << std::ifstream(run + "/trial-1.log").rdbuf();
  EXPECT_NE(trial_log.str().find(" frozen)"), std::string::npos) << trial_log.str();
  EXPECT_NE(trial_log.str().find("(2 micro-batches per step)"), std::string::npos) << trial_log.str();
  EXPECT_NE(trial_log.str().find("early stop at step 20"), std::string::npos) << trial_log.str();

  // Fine-tuning that model further with LoRA adapters (model.init): its
  // encoder and tokenizer carry over, only adapters and the head train, and
  // the export carries the adapters to `predict`.
  ASSERT_TRUE(std::filesystem::exists(run + "/model/model.json")) << r.out;
  const std::string lora_config = dir + "/lora.yaml", lora_run = dir + "/lora-run";
  std::ofstream(lora_config) << "name: lora\noutput_dir: " << lora_run << "\n"
                             << "data: {files: [" << POLYSWEEP_DEFAULT_DATA << "], group_field: group, "
                             << "max_per_language: 60}\n"
                             << "model: {layers: 2, hidden: 32, heads: 2, ffn: 64, max_length: 32, init: " << run
                             << "/model}\n"
                             << "trial: {ranks: 2}\n"
                             << "training: {batch_size: 8, lora: true, lora_targets: all}\n"
                             << "search: {space: {lora_rank: {type: choice, values: [4]}, lr: {type: choice, values: [3.0e-3]}}}\n"
                             << "budget: {max_trials: 1, max_steps: 20, eval_every: 10, log_every: 5}\n";
  auto lora = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(lora_config));
  ASSERT_EQ(lora.exit_code, 0) << lora.out << lora.err;
  std::stringstream lora_log;
  lora_log << std::ifstream(lora_run + "/trial-1.log").rdbuf();
  EXPECT_NE(lora_log.str().find("encoder initialised with 28 tensors from model directory " + run + "/model"),
            std::string::npos)
      << lora_log.str();
  EXPECT_NE(lora_log.str().find(" frozen)"), std::string::npos) << lora_log.str();
  auto read_json = [](const std::string& path) {
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    return nlohmann::json::parse(text.str());
  };
  // The data was encoded with the first sweep's tokenizer.
  EXPECT_EQ(read_json(lora_run + "/data/manifest.json")["tokenizer"]["hash"], read_json(run + "/model/model.json")["tokenizer_hash"]);
  auto lora_package = read_json(lora_run + "/model/model.json");
  EXPECT_EQ(lora_package["model"]["lora"]["rank"].get<int>(), 4);
  EXPECT_EQ(lora_package["model"]["lora"]["targets"].get<std::string>(), "all");
  std::ofstream(dir + "/one.jsonl") << "{\"text\": \"Ein Spiel für zwei Spieler\"}\n";
  auto predicted = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(lora_run + "/model") + " " +
                              Quote(dir + "/one.jsonl"));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  EXPECT_NE(predicted.out.find("\"predicted\":"), std::string::npos) << predicted.out;
  std::filesystem::remove_all(dir);
}

// Pretrain once, fine-tune many times: `polysweep pretrain` trains a
// masked-language model on unlabelled text (no label field at all) over 2
// MPI ranks, exports it, and a classification sweep starts from its encoder
// (model.init) with its tokenizer.
TEST(Sweep, PretrainAMaskedLmOnUnlabelledTextThenFineTuneFromIt) {
  const std::string dir = testing_util::FreshDir("pretrain");
  const std::string text = dir + "/unlabelled.jsonl", run = dir + "/pretrain";
  {
    std::ifstream in(POLYSWEEP_DEFAULT_DATA);
    std::ofstream out(text);
    std::string line;
    std::map<std::string, int> per_lang;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      if (per_lang[j["lang"]]++ >= 80) continue;
      out << nlohmann::json{{"text", j["text"]}, {"lang", j["lang"]}, {"group", j["group"]}}.dump() << "\n";
    }
  }
  const std::string model = "model: {layers: 2, hidden: 32, heads: 2, ffn: 64, max_length: 32";
  const std::string config = dir + "/pretrain.yaml";
  std::ofstream(config) << "name: pretrain\noutput_dir: " << run << "\n"
                        << "data: {files: [" << text << "], group_field: group, vocab_size: 2000}\n"
                        << model << ", task: masked_lm}\n"
                        << "trial: {ranks: 2}\n"
                        << "training: {batch_size: 16, mask_prob: 0.15, warmup_steps: 5}\n"
                        << "search: {space: {lr: {type: choice, values: [3.0e-3]}}}\n"
                        << "budget: {max_trials: 1, max_steps: 60, eval_every: 20, log_every: 10}\n";
  // A classification config is refused by pretrain, naming the key.
  const std::string classify = dir + "/classify.yaml";
  std::ofstream(classify) << "name: classify\noutput_dir: " << dir << "/classify\n"
                          << "data: {files: [" << POLYSWEEP_DEFAULT_DATA << "], group_field: group, "
                          << "max_per_language: 60}\n"
                          << model << ", init: " << run << "/model}\n"
                          << "trial: {ranks: 2}\n"
                          << "training: {batch_size: 8}\n"
                          << "search: {space: {lr: {type: choice, values: [3.0e-3]}}}\n"
                          << "budget: {max_trials: 1, max_steps: 20, eval_every: 10, log_every: 5}\n";
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " pretrain " + Quote(config));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("fine-tune from it with model.init: " + run + "/model"), std::string::npos) << r.out;
  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations WHERE trial_id=1"), "3");
  // Masked-token accuracy rises from the first evaluation to the last, and
  // is reported per language.
  const double first = std::stod(j.Scalar("SELECT accuracy FROM evaluations WHERE trial_id=1 AND step=20"));
  const double last = std::stod(j.Scalar("SELECT accuracy FROM evaluations WHERE trial_id=1 AND step=60"));
  EXPECT_GT(last, first);
  EXPECT_GT(last, 0.02);
  EXPECT_GT(std::stoi(j.Scalar("SELECT COUNT(DISTINCT lang) FROM language_scores WHERE trial_id=1 AND accuracy > 0")), 5);
  std::stringstream manifest_text, package_text;
  manifest_text << std::ifstream(run + "/data/manifest.json").rdbuf();
  package_text << std::ifstream(run + "/model/model.json").rdbuf();
  auto manifest = nlohmann::json::parse(manifest_text.str());
  auto package = nlohmann::json::parse(package_text.str());
  EXPECT_TRUE(manifest["labels"].empty());
  EXPECT_EQ(package["model"]["task"], "masked_lm");
  EXPECT_TRUE(package["labels"].empty());
  // predict needs a classifier.
  std::ofstream(dir + "/one.jsonl") << "{\"text\": \"Ein Spiel\"}\n";
  auto predicted = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(run + "/model") + " " +
                              Quote(dir + "/one.jsonl"));
  EXPECT_NE(predicted.exit_code, 0);
  EXPECT_NE(predicted.err.find("a masked_lm model, which does not classify texts"), std::string::npos) << predicted.err;

  auto refused = RunCommand(std::string(POLYSWEEP_BIN) + " pretrain " + Quote(classify));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("model.task: polysweep pretrain trains a masked-language model"), std::string::npos)
      << refused.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/classify")) << "a refused config leaves nothing behind";

  // Fine-tuning from it: every encoder tensor comes from the pretrained model.
  auto tuned = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(classify));
  ASSERT_EQ(tuned.exit_code, 0) << tuned.out << tuned.err;
  std::stringstream trial_log;
  trial_log << std::ifstream(dir + "/classify/trial-1.log").rdbuf();
  EXPECT_NE(trial_log.str().find("encoder initialised with 28 tensors from model directory " + run +
                                 "/model (sweep pretrain trial 1)"),
            std::string::npos)
      << trial_log.str();
  std::stringstream tuned_manifest;
  tuned_manifest << std::ifstream(dir + "/classify/data/manifest.json").rdbuf();
  EXPECT_EQ(nlohmann::json::parse(tuned_manifest.str())["tokenizer"]["hash"], package["tokenizer_hash"]);
  JournalReader tuned_journal(dir + "/classify/journal.db");
  EXPECT_EQ(tuned_journal.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
