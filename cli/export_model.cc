#include "cli/export_model.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/checkpoint_manifest.h"
#include "common/files.h"
#include "common/hf_checkpoint.h"
#include "common/hparams.h"
#include "common/model_package.h"
#include "common/objective.h"
#include "cli/views.h"
#include "launcher/command.h"

namespace polysweep {

namespace fs = std::filesystem;

namespace {

// A model fine-tuned from the Hugging Face checkpoint in `dir`: its
// config.json decides the architecture and goes into the package.
Status DescribeHfBase(const std::string& dir, ModelPackage* p) {
  auto base = OpenHfCheckpoint(dir);
  if (!base.ok()) return base.status();
  p->vocab = base->config.vocab;
  p->hf_config_file = "hf_config.json";
  p->hf_pooler = base->layout.pooler;
  return Status::Ok();
}

}  // namespace

std::string SiblingBinary(const std::string& name) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? name : (self.parent_path() / name).string();
}

namespace {

// Runs polysweep-predict on `model_dir` with `args`; when it fails, its
// message (less its prefix) is the error.
StatusOr<CommandOutput> RunPredict(const std::string& model_dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {PredictBinary(), model_dir};
  argv.insert(argv.end(), args.begin(), args.end());
  auto ran = RunCommand(argv, 30 * 60 * 1000);
  if (!ran.ok()) return ran.status();
  if (ran->exit_code != 0) {
    std::string why = ran->err;
    const std::string prefix = "polysweep predict: ";
    if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return Status::Error(why.empty() ? PredictBinary() + " exited with " + std::to_string(ran->exit_code) : why);
  }
  return ran;
}

}  // namespace

Status WriteHfModel(const std::string& model_dir, const std::string& out_dir) {
  return RunPredict(model_dir, {"--to-hf", out_dir}).status();
}

std::optional<TestScore> LoadTestScore(const std::string& run_dir) {
  const std::string dir = run_dir + "/model";
  auto report = ReadFile(dir + "/test-report.json");
  auto package = LoadModelPackage(dir);
  if (!report.ok() || !package.ok()) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(*report, nullptr, false);
  if (!j.is_object() || !j.contains("accuracy") || !j.contains("macro") || !j.contains("support")) return std::nullopt;
  try {
    TestScore score;
    score.trial = package->trial;
    score.accuracy = j.at("accuracy").get<double>();
    score.macro_f1 = j.at("macro").at("f1").get<double>();
    score.examples = j.at("support").get<int64_t>();
    score.report = dir + "/test-report.json";
    if (j.contains("micro")) {
      (j.contains("entities") ? score.entity_f1 : score.micro_f1) = j.at("micro").at("f1").get<double>();
    }
    return score;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

StatusOr<std::string> ScoreTestSplit(const std::string& model_dir, const std::string& shard_dir) {
  auto ran = RunPredict(model_dir, {"--shards", shard_dir, "--split", "test", "--report-json",
                                    model_dir + "/test-report.json"});
  if (!ran.ok()) return ran.status();
  std::string line = ran->err;
  while (!line.empty() && line.back() == '\n') line.pop_back();
  return line.substr(line.rfind('\n') == std::string::npos ? 0 : line.rfind('\n') + 1);
}

StatusOr<ExportedModel> ExportModel(const SweepConfig& config, const Manifest& data, const wire::StatusReply& status,
                                    const std::string& run_dir, const std::string& out_dir, uint64_t trial) {
  std::optional<wire::TrialSummary> chosen;
  if (trial == 0) {
    chosen = BestTrial(status);
    if (!chosen) return Status::Error("no trial of sweep " + config.name + " has a result to export");
  } else {
    for (const auto& t : status.trials()) {
      if (t.id() == trial) chosen = t;
    }
    if (!chosen) return Status::Error("sweep " + config.name + " has no trial " + std::to_string(trial));
  }
  const std::string trial_dir = run_dir + "/checkpoints/trial-" + std::to_string(chosen->id());
  const std::string checkpoint = BestCheckpoint(trial_dir);
  if (checkpoint.empty()) {
    return Status::Error("trial " + std::to_string(chosen->id()) + " has no checkpoint in " + trial_dir +
                         " to export (trial.keep_best_checkpoints keeps its best one)");
  }
  auto manifest = VerifyCheckpoint(checkpoint);
  if (!manifest.ok()) return manifest.status();

  // The trial's hyperparameters: the config's, with its searched ones applied.
  TrainingParams training = config.training;
  ParamAssignment searched;
  for (const auto& [name, value] : chosen->hparams()) searched[name] = ParamValue::Parse(value);
  PS_RETURN_IF_ERROR(ApplyAssignment(&training, searched));
  ModelPackage p;
  if (training.lora) {
    p.lora_rank = training.lora_rank;
    p.lora_alpha = training.lora_alpha;
    p.lora_targets = training.lora_targets;
  }
  p.task = config.model.task;
  p.vocab = data.vocab_size;
  p.layers = config.model.layers;
  p.hidden = config.model.hidden;
  p.heads = config.model.heads;
  p.ffn = config.model.ffn;
  p.max_length = config.model.max_length;
  p.word_features = config.model.word_features;
  p.word_feature_width = kWordFeatures;
  p.labels = data.labels;
  p.languages = data.languages;
  p.text_pair_field = config.data.text_pair_field;
  p.tag_scheme = data.tag_scheme;
  p.threshold = training.threshold;
  p.tokenizer_hash = data.tokenizer_hash;
  p.tokenizer_ids = data.token_ids;
  p.tokenizer_file = data.tokenizer_file;
  if (!config.model.init.empty() && IsHfModelDir(config.model.init)) {
    // The architecture is the base checkpoint's: its config.json goes along.
    PS_RETURN_IF_ERROR(DescribeHfBase(config.model.init, &p));
  }
  p.sweep = config.name;
  p.trial = chosen->id();
  p.step = manifest->step;
  p.hparams = FormatHyperparameters(training);
  p.metric = MetricLabel(config.metric);
  p.metric_value = chosen->metric();

  const std::string tmp = out_dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status::Error(tmp + ": cannot create: " + ec.message());
  auto fail = [&](const std::string& why) {
    fs::remove_all(tmp, ec);
    return Status::Error(why);
  };
  const std::string tokenizer = config.data.shard_dir + "/" + data.tokenizer_file;
  std::vector<std::pair<std::string, std::string>> copies = {{checkpoint + "/model.pt", p.weights_file},
                                                             {tokenizer, p.tokenizer_file}};
  if (!p.hf_config_file.empty()) copies.emplace_back(config.model.init + "/config.json", p.hf_config_file);
  for (const auto& [from, to] : copies) {
    fs::copy_file(from, tmp + "/" + to, ec);
    if (ec) return fail("exporting the model: cannot copy " + from + ": " + ec.message());
  }
  if (Status s = WriteFileAtomic(tmp + "/model.json", ModelPackageToJson(p)); !s.ok()) return fail(s.message());
  fs::remove_all(out_dir, ec);
  fs::rename(tmp, out_dir, ec);
  if (ec) return fail("exporting the model: cannot rename " + tmp + " to " + out_dir + ": " + ec.message());
  return ExportedModel{out_dir, chosen->id(), checkpoint};
}

}  // namespace polysweep
