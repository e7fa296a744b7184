#include "cli/sweep_command.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/config_names.h"
#include "common/config.h"
#include "common/env.h"
#include "common/log.h"
#include "cli/cli_watch.h"
#include "coordinator/coordinator.h"
#include "cli/export_model.h"
#include "cli/ranking.h"
#include "common/files.h"
#include "common/hf_config.h"
#include "dataprep/sharder.h"
#include "cli/views.h"
#include "launcher/choose.h"
#include "launcher/command.h"

namespace polysweep {
namespace fs = std::filesystem;
namespace {

// After a drain inside a Slurm job: the job goes back to the queue and, when
// it runs again, `polysweep sweep` continues from the journal.
int RequeueSlurmJob(const Logger& log) {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (!job || !*job) {
    log.Warn("drained outside Slurm: run the same command again to continue the sweep");
    return 130;
  }
  auto r = RunCommand({"scontrol", "requeue", job});
  if (!r.ok() || r->exit_code != 0) {
    return Fail("scontrol requeue " + std::string(job) + " failed (" +
                (r.ok() ? r->err + r->out : r.status().message()) + "): resubmit the job to continue the sweep", 1);
  }
  log.Info("requeued Slurm job " + std::string(job) + ": the sweep continues when it runs again");
  return 0;
}

std::string DefaultWorkerBinary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "polysweep-worker" : (self.parent_path() / "polysweep-worker").string();
}

StatusOr<SweepConfig> LoadRunConfig(const SweepCommand& command) {
  auto config = LoadSweepConfig(command.config_path, RegisteredConfigNames());
  if (!config.ok()) return config.status();
  if (!command.hostfile.empty()) config->trial.hosts = command.hostfile;
  if (command.pretrain && config->model.task != "masked_lm") {
    return Status::Error(command.config_path + ": model.task: polysweep pretrain trains a masked-language model on "
                                               "unlabelled text; set model.task: masked_lm (configs/pretrain.yaml is one)");
  }
  if (config->trial.threads_per_rank == 0) {
    const int cpus = AvailableCpus();
    config->trial.threads_per_rank = ResolvedThreadsPerRank(*config, cpus);
    Logger("sweep " + config->name)
        .Info("trial.threads_per_rank auto: " + std::to_string(config->trial.threads_per_rank) + " (" +
              std::to_string(cpus) + " CPUs for " + std::to_string(config->max_concurrent) + " trials of " +
              std::to_string(config->trial.ranks) + " ranks)");
  }
  return config;
}

// The output directory, ready: whether an existing journal is continued,
// and whether the directory was made here (and so removed on bad input).
struct Output {
  bool resume = false;
  bool created = false;
  void Cleanup(const std::string& dir) const {
    std::error_code ec;
    if (created) fs::remove_all(dir, ec);
  }
};

StatusOr<Output> PrepareOutput(const SweepConfig& config, bool overwrite) {
  const std::string out = config.output_dir;
  Output o;
  // An existing journal is continued (after a crash, kill or Ctrl-C of the
  // coordinator) unless --overwrite asks to start again.
  if (fs::exists(out + "/journal.db")) {
    std::string endpoint;
    if (AskCoordinator(out, &endpoint)) return Status::Error("a coordinator is already running this sweep at " + endpoint);
    if (overwrite) {
      // Everything of the earlier sweep but its shards: a new trial 1 must
      // not resume from the old trial 1's checkpoints.
      for (const char* f : {"journal.db", "journal.db-wal", "journal.db-shm", "coordinator.endpoint"}) fs::remove(out + "/" + f);
      for (const char* d : {"checkpoints", "model", "model.tmp"}) fs::remove_all(out + "/" + d);
      for (const auto& e : fs::directory_iterator(out)) {
        if (e.path().filename().string().rfind("trial-", 0) == 0) fs::remove(e.path());
      }
    } else {
      o.resume = true;
    }
  } else if (fs::exists(out + "/checkpoints") && !fs::is_empty(out + "/checkpoints")) {
    return Status::Error(out + "/checkpoints holds checkpoints of an earlier sweep whose journal is gone; pass "
                               "--overwrite to start again (they are removed), or set output_dir");
  }
  std::error_code ec;
  o.created = !fs::exists(out);
  fs::create_directories(out, ec);
  if (ec) return Status::Error(out + ": cannot create output directory: " + ec.message());
  return o;
}

// The journal to continue (with the endpoint its coordinator had), after
// checking that it is this config's unfinished sweep.
StatusOr<std::unique_ptr<Journal>> OpenToContinue(const SweepCommand& command, const SweepConfig& config,
                                                  std::string* endpoint) {
  const std::string path = config.output_dir + "/journal.db";
  auto opened = Journal::Open(path);
  if (!opened.ok()) return opened.status();
  auto sweep = (*opened)->Sweep();
  if (!sweep.ok()) return sweep.status();
  if (sweep->state == SweepState::kFinished) {
    return Status::Error(path + ": sweep " + sweep->name + " has finished; pass --overwrite to run it again, or set output_dir");
  }
  if (sweep->config != config.source_text) {
    return Status::Error(command.config_path + " is not the config sweep " + sweep->name + " started with (kept in " +
                         path + "); restore it to continue the sweep, or pass --overwrite to start again");
  }
  *endpoint = sweep->endpoint;
  return std::move(*opened);
}


Status CheckMetricLanguage(const SweepCommand& command, const SweepConfig& config, const Manifest& data) {
  const std::string& over = config.metric.over;
  if (over.empty() || over == "macro" || over == "worst" ||
      std::find(data.languages.begin(), data.languages.end(), over) != data.languages.end()) {
    return Status::Ok();
  }
  std::string have;
  for (const auto& l : data.languages) have += (have.empty() ? "" : ", ") + l;
  return Status::Error(command.config_path + ": metric.over: language \"" + over + "\" is not in the data (" + have + ")");
}

StatusOr<CoordinatorOptions> MakeOptions(const SweepCommand& command, const SweepConfig& config, bool agents) {
  CoordinatorOptions options;
  if (config.curve_enabled()) {
    auto security = LoadSweepSecurity(config.security.keys_dir);
    if (!security.ok()) return security.status();
    options.security = *security;
  }
  options.worker_binary = command.worker.empty() ? DefaultWorkerBinary() : command.worker;
  // Pull mode: agents started elsewhere bring their own worker binary.
  if (!agents && access(options.worker_binary.c_str(), X_OK) != 0) {
    return Status::Error("worker binary " + options.worker_binary + " is not executable (build it, or pass --worker PATH)");
  }
  options.stop = command.stop;
  options.drain = command.drain;
  return options;
}

std::unique_ptr<Dashboard> StartDashboard(const std::string& out, const DashboardOptions& options, const Logger& log) {
  auto started = Dashboard::Start(out, options, [out](std::string* source) {
    return LoadSweepStatus(out, source, /*quiet=*/true);
  });
  if (!started.ok()) {
    log.Warn(started.status().message() + "; the sweep runs without it");
    return nullptr;
  }
  log.Info("dashboard: " + (*started)->url() + "  (also in " + out + "/dashboard.url)");
  if (options.bind != "127.0.0.1") {
    log.Warn("the dashboard listens on " + options.bind +
             " over plain HTTP: its token is the only protection (an SSH tunnel to 127.0.0.1 is safer)");
  }
  return std::move(*started);
}

// Runs the coordinator to the sweep's end; the journal's last status.
StatusOr<wire::StatusReply> Coordinate(const SweepCommand& command, const SweepConfig& config, const Manifest& data,
                                       Journal* journal, ChosenLauncher& launcher, Searcher* searcher,
                                       CoordinatorOptions options, bool resume, const std::string& endpoint,
                                       const Logger& log) {
  Coordinator coordinator(config, data, journal, launcher.launcher.get(), searcher, std::move(options), launcher.agents);
  Status s = coordinator.Bind(endpoint);
  if (s.ok() && resume) s = coordinator.Resume();
  if (s.ok() && launcher.agents) {
    log.Info("pull mode: trials wait for agents; start them with `polysweep-worker --coordinator " +
             coordinator.endpoint() + "` under srun or mpirun (slurm/agents.sbatch)" +
             (IsLoopbackEndpoint(coordinator.endpoint()) ? "; this endpoint is loopback, so only agents on this host "
                                                           "reach it (set bind: tcp://*:PORT for others)" : ""));
  }
  std::unique_ptr<Dashboard> dashboard;
  if (s.ok() && command.dashboard) dashboard = StartDashboard(config.output_dir, *command.dashboard, log);
  if (s.ok()) s = coordinator.Run();
  if (!s.ok()) return s;
  return journal->Snapshot();
}

// A model fine-tuned from a Hugging Face checkpoint goes back in that layout too.
void ExportHf(const std::string& model_dir, const std::string& out, const Logger& log) {
  Status written = WriteHfModel(model_dir, out);
  if (!written.ok()) return log.Warn("best model not written in Hugging Face's layout: " + written.message());
  std::cout << "hf:      " << out << "   (AutoModelForSequenceClassification.from_pretrained)\n";
}

// An exported model of `trial` scored on the held-out test split: one line
// here (naming the trial unless it is the best), the full report in the
// model directory, both journaled.
void ReportTestSplit(const std::string& model_dir, const std::string& shard_dir, uint64_t trial, bool best,
                     Journal* journal, const Logger& log) {
  auto scored = ScoreTestSplit(model_dir, shard_dir);
  if (!scored.ok()) return log.Warn("test split not scored: " + scored.status().message());
  std::cout << "test:    " << (best ? std::string() : "trial " + std::to_string(trial) + ": ") << *scored
            << "\n         full report: " << model_dir << "/test-report.json (polysweep evaluate " << model_dir
            << " --shards " << shard_dir << ")\n";
  auto report = ReadFile(model_dir + "/test-report.json");
  Status journaled = journal->RecordTestScore(trial, *scored, report.ok() ? *report : "");
  if (!journaled.ok()) log.Warn("test score not journaled: " + journaled.message());
}

// budget.test_top_k: the next best trials after the best, each exported to
// <output_dir>/models/trial-N and scored on the test split.
void ScoreRunnersUp(const SweepConfig& config, const Manifest& data, const wire::StatusReply& status,
                    Journal* journal, const Logger& log) {
  const auto ranked = RankTrials(status);
  for (size_t i = 1; i < ranked.size() && i < static_cast<size_t>(config.budget.test_top_k); ++i) {
    const uint64_t trial = ranked[i].id();
    const std::string dir = config.output_dir + "/models/trial-" + std::to_string(trial);
    auto exported = ExportModel(config, data, status, config.output_dir, dir, trial);
    if (!exported.ok()) {
      log.Warn("trial " + std::to_string(trial) + " not scored on the test split: " + exported.status().message());
      continue;
    }
    ReportTestSplit(dir, config.data.shard_dir, trial, /*best=*/false, journal, log);
  }
}

// The trials, the best, the exported model; the exit code.
int Conclude(const SweepCommand& command, const SweepConfig& config, const Manifest& data,
             const wire::StatusReply& status, Journal* journal, const Logger& log) {
  const std::string& out = config.output_dir;
  std::cout << "\n" << RenderTrials(status) << "\n" << RenderBest(status, BestTrialCheckpoint(status, out));
  std::cout << "\njournal: " << out << "/journal.db   (polysweep trials --dir " << out << ")\n";
  const bool stopped = command.stop && command.stop->load();
  const bool drained = command.drain && command.drain->load();
  if (BestTrial(status) && !stopped && !drained) {
    auto exported = ExportModel(config, data, status, out, out + "/model");
    if (exported.ok() && config.model.task == "masked_lm") {
      std::cout << "model:   " << exported->dir << "   (trial " << exported->trial
                << "; fine-tune from it with model.init: " << exported->dir << ")\n";
    } else if (exported.ok()) {
      std::cout << "model:   " << exported->dir << "   (trial " << exported->trial << "; polysweep predict "
                << exported->dir << " < texts.jsonl)\n";
      if (data.split_size(kTest) > 0 && config.budget.test_top_k > 0) {
        ReportTestSplit(exported->dir, config.data.shard_dir, exported->trial, /*best=*/true, journal, log);
        ScoreRunnersUp(config, data, status, journal, log);
      }
      if (IsHfModelDir(config.model.init)) ExportHf(exported->dir, out + "/model-hf", log);
    } else {
      log.Warn("best model not exported: " + exported.status().message());
    }
  }
  if (stopped) return 130;
  if (drained) return RequeueSlurmJob(log);
  return BestTrial(status) ? 0 : 1;
}

}  // namespace

void LogShards(const ShardOutcome& s, const Logger& log) {
  const Manifest& m = s.manifest;
  std::string counts;
  for (const auto& [lang, c] : m.counts) counts += " " + lang + ":" + std::to_string(c[kTrain]);
  char rate[64] = "";
  if (s.rebuilt && s.seconds > 0) {
    std::snprintf(rate, sizeof rate, " in %.1f s (%.1f MB/s)", s.seconds, static_cast<double>(m.input_bytes) / 1e6 / s.seconds);
  }
  log.Info(std::string(s.rebuilt ? "sharded" : "shards up to date") + rate + ": " + s.dir + ", " +
           std::to_string(m.split_size(kTrain)) + " train / " + std::to_string(m.split_size(kValid)) + " valid / " +
           std::to_string(m.split_size(kTest)) + " test examples, " + std::to_string(m.labels.size()) + " labels, " +
           std::to_string(m.languages.size()) + " languages (train:" + counts + ")" +
           (m.bad_lines ? ", " + std::to_string(m.bad_lines) + " bad lines skipped" : ""));
}

int RunSweepCommand(const SweepCommand& command) {
  auto config = LoadRunConfig(command);
  if (!config.ok()) return Fail(config.status().message());
  auto searcher = MakeSearcher(config->search, config->budget.max_trials);
  if (!searcher.ok()) return Fail(command.config_path + ": " + searcher.status().message());
  auto launcher = MakeTrialLauncher(config->trial, command.mpirun, config->max_concurrent, config->bind);
  if (!launcher.ok()) return Fail(command.config_path + ": " + launcher.status().message());
  auto output = PrepareOutput(*config, command.overwrite);
  if (!output.ok()) return Fail(output.status().message());
  const std::string out = config->output_dir;
  std::unique_ptr<Journal> journal;
  std::string endpoint;
  if (output->resume) {
    auto opened = OpenToContinue(command, *config, &endpoint);
    if (!opened.ok()) return Fail(opened.status().message());
    journal = std::move(*opened);
  }
  Logger log("coordinator sweep " + config->name);
  auto shards = ShardDataset(config->data, log);
  if (shards.ok()) LogShards(*shards, log);
  Status ready = shards.ok() ? CheckMetricLanguage(command, *config, shards->manifest) : shards.status();
  if (ready.ok() && !output->resume) {
    auto created = Journal::Create(out + "/journal.db", *config);
    ready = created.ok() ? Status::Ok() : created.status();
    if (created.ok()) journal = std::move(*created);
  }
  auto options = ready.ok() ? MakeOptions(command, *config, launcher->agents != nullptr) : StatusOr<CoordinatorOptions>(ready);
  if (!options.ok()) {
    output->Cleanup(out);
    return Fail(options.status().message());
  }
  if (command.on_ready) command.on_ready();
  const Manifest& data = shards->manifest;
  auto status = Coordinate(command, *config, data, journal.get(), *launcher, searcher->get(), std::move(*options),
                           output->resume, endpoint, log);
  if (!status.ok()) return Fail(status.status().message(), 1);
  return Conclude(command, *config, data, *status, journal.get(), log);
}

}  // namespace polysweep
