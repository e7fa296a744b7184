#include "cli/commands.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/config_names.h"
#include "cli/check.h"
#include "cli/cli_watch.h"
#include "cli/export_model.h"
#include "cli/preview.h"
#include "cli/sweep_command.h"
#include "common/config.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/manifest.h"
#include "coordinator/journal.h"
#include "coordinator/searcher.h"
#include "dataprep/data_stats.h"
#include "dataprep/sharder.h"

namespace polysweep {
namespace fs = std::filesystem;

int KeyGen(const std::string& prefix) {
  auto pair = GenerateKeyPair();
  if (!pair.ok()) return Fail(pair.status().message());
  Status s = WriteKeyPair(prefix, *pair);
  if (!s.ok()) return Fail(s.message());
  std::cout << "wrote " << prefix << ".key (secret, mode 600) and " << prefix << ".pub\n"
            << "public key: " << pair->public_key << "\n";
  return 0;
}

int Submit(const std::string& config_path, SubmitOptions options) {
  auto config = LoadSweepConfig(config_path, RegisteredConfigNames());
  if (!config.ok()) return Fail(config.status().message());
  // `auto` asks Slurm for one CPU per rank; inside the allocation the sweep
  // then divides the CPUs it got among its ranks.
  if (config->trial.threads_per_rank == 0) config->trial.threads_per_rank = 1;
  auto searcher = MakeSearcher(config->search, config->budget.max_trials);
  if (!searcher.ok()) return Fail(config_path + ": " + searcher.status().message());
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  options.polysweep = ec ? "polysweep" : self.string();
  auto sub = SubmitSweep(config_path, *config, options);
  if (!sub.ok()) return Fail(sub.status().message());
  const std::string dir = fs::absolute(config->output_dir).lexically_normal().string();
  std::cout << "submitted sweep " << config->name << " as Slurm job " << sub->job_id << " (" << sub->tasks
            << " tasks)\n"
            << "  script  " << sub->script_path << "\n"
            << "  output  " << sub->output_path << "\n"
            << "  watch   polysweep status --dir " << dir << "\n";
  return 0;
}

// `polysweep check`: 0 when the sweep kept every promise, 1 when not, 2
// when the directory cannot be read as a sweep.
int CheckCommand(const std::string& given_dir, bool processes, const std::string& output) {
  auto dir = FindSweepDir(given_dir);
  if (!dir.ok()) return Fail(dir.status().message());
  auto report = CheckSweep(*dir, CheckOptions{processes});
  if (!report.ok()) return Fail(report.status().message());
  std::cout << (output == "json" ? CheckReportJson(*report) : FormatCheckReport(*report));
  return report->violations.empty() ? 0 : 1;
}

int RunShard(const std::string& config_path, bool force) {
  auto config = LoadSweepConfig(config_path, RegisteredConfigNames());
  if (!config.ok()) return Fail(config.status().message());
  Logger log("shard " + config->name);
  auto shards = ShardDataset(config->data, log, force);
  if (!shards.ok()) return Fail(shards.status().message());
  LogShards(*shards, log);
  return 0;
}

int RunSibling(const std::string& name, const std::string& model_dir, std::vector<std::string> rest) {
  const std::string binary = SiblingBinary(name);
  std::vector<std::string> args = {binary};
  if (!model_dir.empty()) args.push_back(model_dir);
  args.insert(args.end(), rest.begin(), rest.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  return Fail("cannot run " + binary + ": " + std::strerror(errno));
}

int ExportModelCommand(const std::string& config_path, uint64_t trial, std::string out, const std::string& format) {
  auto config = LoadSweepConfig(config_path, RegisteredConfigNames());
  if (!config.ok()) return Fail(config.status().message());
  auto data = LoadManifest(config->data.shard_dir + "/manifest.json");
  if (!data.ok()) return Fail(data.status().message());
  auto journal = Journal::OpenReadOnly(config->output_dir + "/journal.db");
  if (!journal.ok()) return Fail(journal.status().message());
  auto snap = (*journal)->Snapshot();
  if (!snap.ok()) return Fail(snap.status().message());
  if (out.empty()) out = config->output_dir + (format == "hf" ? "/model-hf" : "/model");
  // --format hf: polysweep's export first, beside the target, then rewritten.
  const std::string package = format == "hf" ? out + ".polysweep" : out;
  auto exported = ExportModel(*config, *data, *snap, config->output_dir, package, trial);
  if (!exported.ok()) return Fail(exported.status().message());
  if (format == "hf") {
    Status written = WriteHfModel(package, out);
    std::error_code ec;
    fs::remove_all(package, ec);
    if (!written.ok()) return Fail(written.message());
  }
  std::cout << "exported trial " << exported->trial << " (" << exported->checkpoint << ") to " << out
            << (format == "hf" ? " in Hugging Face's layout" : "") << "\n";
  return 0;
}

int DataStatsCommand(const std::string& config_path, bool json) {
  auto config = LoadSweepConfig(config_path, RegisteredConfigNames());
  if (!config.ok()) return Fail(config.status().message());
  auto report = DataStats(config->data, json);
  if (!report.ok()) return Fail(report.status().message());
  std::cout << *report;
  return 0;
}

int PreviewCommand(const std::string& config_path) {
  auto config = LoadSweepConfig(config_path, RegisteredConfigNames());
  if (!config.ok()) return Fail(config.status().message());
  auto text = RenderPreview(*config);
  if (!text.ok()) return Fail(config_path + ": " + text.status().message());
  std::cout << *text;
  return 0;
}

int ValidateCommand(const std::string& config_path) {
  auto config = LoadSweepConfig(config_path, RegisteredConfigNames());
  if (!config.ok()) return Fail(config.status().message());
  auto searcher = MakeSearcher(config->search, config->budget.max_trials);
  if (!searcher.ok()) return Fail(config_path + ": " + searcher.status().message());
  std::cout << config_path << ": ok (sweep " << config->name << ", " << config->search.space.params.size()
            << " searched parameters, up to " << config->budget.max_trials << " trials)\n";
  return 0;
}

}  // namespace polysweep
