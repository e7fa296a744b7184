// polysweep: the coordinator and its CLI.
//   polysweep sweep CONFIG        run a sweep in the foreground
//   polysweep pretrain CONFIG     pretrain a masked-language model: the encoder sweeps start from
//   polysweep validate CONFIG     check a config without running anything
//   polysweep preview CONFIG      the trials and rungs a config would run
//   polysweep shard CONFIG        tokenize the dataset into binary shards
//   polysweep data stats CONFIG   what the shards hold and how they are sampled
//   polysweep status|trials|best  watch a sweep (live, or from its journal)
//   polysweep describe|logs T     one trial in full; its ranks' log
//   polysweep top                 a live full-screen view of the sweep
//   polysweep dashboard|report    the web dashboard; the same as one HTML file
//   polysweep export              every trial as csv or jsonl
//   polysweep check               the journal checker: every broken promise of a sweep
//   polysweep stop|pause|resume T control a trial of the running sweep
//   polysweep export-model CONFIG a trial's best checkpoint as a model directory
//   polysweep predict MODEL       classify JSON lines with an exported model
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <tuple>

#include "common/checkpoint_manifest.h"
#include "common/config.h"
#include "common/files.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/wire.h"
#include "coordinator/check.h"
#include "coordinator/cli_watch.h"
#include "coordinator/coordinator.h"
#include "coordinator/dashboard.h"
#include "coordinator/data_stats.h"
#include "coordinator/export_model.h"
#include "coordinator/journal.h"
#include "coordinator/preview.h"
#include "coordinator/searcher.h"
#include "coordinator/sharder.h"
#include "coordinator/views.h"
#include "coordinator/submit.h"
#include "launcher/agent_pool.h"
#include "launcher/choose.h"
#include "launcher/command.h"
#include "launcher/launcher.h"

namespace fs = std::filesystem;
using namespace polysweep;

namespace {

// The only process-wide state: what the signal handlers may touch.
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }
std::atomic<bool> g_drain{false};
void OnDrain(int) { g_drain = true; }



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

int KeyGen(const std::string& prefix) {
  auto pair = GenerateKeyPair();
  if (!pair.ok()) return Fail(pair.status().message());
  Status s = WriteKeyPair(prefix, *pair);
  if (!s.ok()) return Fail(s.message());
  std::cout << "wrote " << prefix << ".key (secret, mode 600) and " << prefix << ".pub\n"
            << "public key: " << pair->public_key << "\n";
  return 0;
}


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

int Submit(const std::string& config_path, SubmitOptions options) {
  auto config = LoadSweepConfig(config_path);
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
  auto config = LoadSweepConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  Logger log("shard " + config->name);
  auto shards = ShardDataset(config->data, log, force);
  if (!shards.ok()) return Fail(shards.status().message());
  LogShards(*shards, log);
  return 0;
}

int RunSweep(const std::string& config_path, bool overwrite, std::string worker, const std::string& mpirun,
             const std::optional<DashboardOptions>& dashboard_options, bool pretrain = false) {
  auto config = LoadSweepConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (pretrain && config->model.task != "masked_lm") {
    return Fail(config_path + ": model.task: polysweep pretrain trains a masked-language model on unlabelled text; "
                              "set model.task: masked_lm (configs/pretrain.yaml is one)");
  }
  if (config->trial.threads_per_rank == 0) {
    const int cpus = AvailableCpus();
    config->trial.threads_per_rank = ResolvedThreadsPerRank(*config, cpus);
    Logger("sweep " + config->name)
        .Info("trial.threads_per_rank auto: " + std::to_string(config->trial.threads_per_rank) + " (" +
              std::to_string(cpus) + " CPUs for " + std::to_string(config->max_concurrent) + " trials of " +
              std::to_string(config->trial.ranks) + " ranks)");
  }
  auto searcher = MakeSearcher(config->search, config->budget.max_trials);
  if (!searcher.ok()) return Fail(config_path + ": " + searcher.status().message());
  auto launcher = MakeTrialLauncher(config->trial, mpirun);
  if (!launcher.ok()) return Fail(config_path + ": " + launcher.status().message());
  const std::string out = config->output_dir;
  const std::string journal_path = out + "/journal.db";
  // An existing journal is continued (after a crash, kill or Ctrl-C of the
  // coordinator) unless --overwrite asks to start again.
  bool resume = false;
  if (fs::exists(journal_path)) {
    std::string endpoint;
    if (AskCoordinator(out, &endpoint)) return Fail("a coordinator is already running this sweep at " + endpoint);
    if (overwrite) {
      // Everything of the earlier sweep but its shards: a new trial 1 must
      // not resume from the old trial 1's checkpoints.
      for (const char* f : {"journal.db", "journal.db-wal", "journal.db-shm", "coordinator.endpoint"}) fs::remove(out + "/" + f);
      for (const char* d : {"checkpoints", "model", "model.tmp"}) fs::remove_all(out + "/" + d);
      for (const auto& e : fs::directory_iterator(out)) {
        if (e.path().filename().string().rfind("trial-", 0) == 0) fs::remove(e.path());
      }
    } else {
      resume = true;
    }
  } else if (fs::exists(out + "/checkpoints") && !fs::is_empty(out + "/checkpoints")) {
    return Fail(out + "/checkpoints holds checkpoints of an earlier sweep whose journal is gone; pass --overwrite to "
                "start again (they are removed), or set output_dir");
  }
  std::error_code ec;
  const bool created = !fs::exists(out);
  fs::create_directories(out, ec);
  if (ec) return Fail(out + ": cannot create output directory: " + ec.message());
  auto cleanup = [&] {
    if (created) fs::remove_all(out, ec);
  };

  std::unique_ptr<Journal> journal;
  std::string old_endpoint;
  if (resume) {
    auto opened = Journal::Open(journal_path);
    if (!opened.ok()) return Fail(opened.status().message());
    auto sweep = (*opened)->Sweep();
    if (!sweep.ok()) return Fail(sweep.status().message());
    if (sweep->state == "finished") {
      return Fail(journal_path + ": sweep " + sweep->name +
                  " has finished; pass --overwrite to run it again, or set output_dir");
    }
    if (sweep->config != config->source_text) {
      return Fail(config_path + " is not the config sweep " + sweep->name + " started with (kept in " +
                  journal_path + "); restore it to continue the sweep, or pass --overwrite to start again");
    }
    journal = std::move(*opened);
    old_endpoint = sweep->endpoint;
  }

  Logger log("coordinator sweep " + config->name);
  auto shards = ShardDataset(config->data, log);
  if (!shards.ok()) {
    cleanup();
    return Fail(shards.status().message());
  }
  LogShards(*shards, log);
  const Manifest& data = shards->manifest;
  const std::string& over = config->metric.over;
  if (!over.empty() && over != "macro" && over != "worst" &&
      std::find(data.languages.begin(), data.languages.end(), over) == data.languages.end()) {
    cleanup();
    std::string have;
    for (const auto& l : data.languages) have += (have.empty() ? "" : ", ") + l;
    return Fail(config_path + ": metric.over: language \"" + over + "\" is not in the data (" + have + ")");
  }

  if (!resume) {
    auto created_journal = Journal::Create(journal_path, *config);
    if (!created_journal.ok()) {
      cleanup();
      return Fail(created_journal.status().message());
    }
    journal = std::move(*created_journal);
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // Slurm's --signal=B:USR1 before the time limit: checkpoint every trial, then requeue.
  struct sigaction drain {};
  drain.sa_handler = OnDrain;
  sigaction(SIGUSR1, &drain, nullptr);
  CoordinatorOptions options;
  if (config->curve_enabled()) {
    auto security = LoadSweepSecurity(config->security.keys_dir);
    if (!security.ok()) {
      cleanup();
      return Fail(security.status().message());
    }
    options.security = *security;
  }
  options.worker_binary = worker.empty() ? DefaultWorkerBinary() : worker;
  // Pull mode: agents started elsewhere bring their own worker binary.
  if (ResolveLauncher(config->trial) == "agents") options.agents = static_cast<AgentPool*>(launcher->get());
  if (!options.agents && access(options.worker_binary.c_str(), X_OK) != 0) {
    cleanup();
    return Fail("worker binary " + options.worker_binary + " is not executable (build it, or pass --worker PATH)");
  }
  options.stop = &g_stop;
  options.drain = &g_drain;
  wire::StatusReply final_status;
  {
    Coordinator coordinator(*config, data, journal.get(), launcher->get(), searcher->get(), options);
    Status s = coordinator.Bind(old_endpoint);
    if (s.ok() && resume) s = coordinator.Resume();
    if (s.ok() && options.agents) {
      log.Info("pull mode: trials wait for agents; start them with `polysweep-worker --coordinator " +
               coordinator.endpoint() + "` under srun or mpirun (slurm/agents.sbatch)" +
               (IsLoopbackEndpoint(coordinator.endpoint()) ? "; this endpoint is loopback, so only agents on this host "
                                                             "reach it (set bind: tcp://*:PORT for others)" : ""));
    }
    std::unique_ptr<Dashboard> dashboard;
    if (s.ok() && dashboard_options) {
      auto started = Dashboard::Start(out, *dashboard_options, [out](std::string* source) {
        return LoadSweepStatus(out, source, /*quiet=*/true);
      });
      if (started.ok()) {
        dashboard = std::move(*started);
        log.Info("dashboard: " + dashboard->url() + "  (also in " + out + "/dashboard.url)");
        if (dashboard_options->bind != "127.0.0.1") {
          log.Warn("the dashboard listens on " + dashboard_options->bind +
                   " over plain HTTP: its token is the only protection (an SSH tunnel to 127.0.0.1 is safer)");
        }
      } else {
        log.Warn(started.status().message() + "; the sweep runs without it");
      }
    }
    if (s.ok()) s = coordinator.Run();
    if (!s.ok()) return Fail(s.message(), 1);
    auto snap = journal->Snapshot();
    if (!snap.ok()) return Fail(snap.status().message(), 1);
    final_status = *snap;
  }
  std::cout << "\n" << RenderTrials(final_status) << "\n" << RenderBest(final_status, BestTrialCheckpoint(final_status, out));
  std::cout << "\njournal: " << journal_path << "   (polysweep trials --dir " << out << ")\n";
  if (BestTrial(final_status) && !g_stop && !g_drain) {
    auto exported = ExportModel(*config, data, final_status, out, out + "/model");
    if (exported.ok() && config->model.task == "masked_lm") {
      std::cout << "model:   " << exported->dir << "   (trial " << exported->trial
                << "; fine-tune from it with model.init: " << exported->dir << ")\n";
    } else if (exported.ok()) {
      std::cout << "model:   " << exported->dir << "   (trial " << exported->trial
                << "; polysweep predict " << exported->dir << " < texts.jsonl)\n";
    } else {
      log.Warn("best model not exported: " + exported.status().message());
    }
  }
  if (g_stop) return 130;
  if (g_drain) return RequeueSlurmJob(log);
  return BestTrial(final_status) ? 0 : 1;
}

}  // namespace

// Runs polysweep-predict (next to this binary: it links LibTorch, the CLI
// does not) with the model and the remaining arguments.
int Predict(const std::string& model_dir, std::vector<std::string> rest) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const std::string binary = ec ? "polysweep-predict" : (self.parent_path() / "polysweep-predict").string();
  std::vector<std::string> args = {binary, model_dir};
  args.insert(args.end(), rest.begin(), rest.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  return Fail("cannot run " + binary + ": " + std::strerror(errno));
}

int ExportModelCommand(const std::string& config_path, uint64_t trial, std::string out) {
  auto config = LoadSweepConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  auto data = LoadManifest(config->data.shard_dir + "/manifest.json");
  if (!data.ok()) return Fail(data.status().message());
  auto journal = Journal::OpenReadOnly(config->output_dir + "/journal.db");
  if (!journal.ok()) return Fail(journal.status().message());
  auto snap = (*journal)->Snapshot();
  if (!snap.ok()) return Fail(snap.status().message());
  if (out.empty()) out = config->output_dir + "/model";
  auto exported = ExportModel(*config, *data, *snap, config->output_dir, out, trial);
  if (!exported.ok()) return Fail(exported.status().message());
  std::cout << "exported trial " << exported->trial << " (" << exported->checkpoint << ") to " << exported->dir << "\n";
  return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"polysweep: multilingual fine-tuning sweeps on MPI clusters"};
  app.require_subcommand(1);

  std::string config_path, worker, mpirun = "mpirun", dir, output = "table";
  bool overwrite = false;
  auto* sweep = app.add_subcommand("sweep", "run a sweep in the foreground");
  sweep->add_option("config", config_path, "sweep config (YAML)")->required();
  sweep->add_flag("--overwrite", overwrite,
                  "start again if the output directory has a journal (default: continue its sweep)");
  sweep->add_option("--worker", worker, "path of polysweep-worker (default: next to polysweep)");
  sweep->add_option("--mpirun", mpirun, "mpirun to launch trials with");

  auto* pretrain = app.add_subcommand("pretrain", "pretrain an encoder as a masked-language model on unlabelled text "
                                                 "(model.task: masked_lm); its model directory is what model.init "
                                                 "fine-tunes from");
  pretrain->add_option("config", config_path, "pretraining config (YAML)")->required();
  pretrain->add_flag("--overwrite", overwrite, "start again if the output directory has a journal");
  pretrain->add_option("--worker", worker, "path of polysweep-worker (default: next to polysweep)");
  pretrain->add_option("--mpirun", mpirun, "mpirun to launch trials with");
  DashboardOptions dashboard_options;
  bool no_dashboard = false;
  for (auto* cmd : {sweep, pretrain}) {
    cmd->add_flag("--no-dashboard", no_dashboard, "serve no dashboard");
    cmd->add_option("--dashboard-port", dashboard_options.port, "the dashboard's port (default: any free one)")
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--dashboard-bind", dashboard_options.bind,
                    "the dashboard's IPv4 address (default 127.0.0.1; others get plain HTTP behind the token)");
  }

  bool force = false;
  auto* shard = app.add_subcommand("shard", "tokenize the sweep's dataset into binary shards (no work when up to date)");
  shard->add_option("config", config_path, "sweep config (YAML)")->required();
  shard->add_flag("--force", force, "rebuild even when the shards are up to date");

  auto* data_cmd = app.add_subcommand("data", "inspect a sweep's data");
  auto* stats = data_cmd->add_subcommand("stats", "examples per language, token lengths, labels, sampling");
  stats->add_option("config", config_path, "sweep config (YAML)")->required();
  stats->add_option("-o,--output", output, "table or json")->check(CLI::IsMember({"table", "json"}));
  data_cmd->require_subcommand(1);

  auto* validate = app.add_subcommand("validate", "check a sweep config and exit");
  validate->add_option("config", config_path, "sweep config (YAML)")->required();
  auto* preview = app.add_subcommand("preview", "print the trials and rungs a sweep config would run");
  preview->add_option("config", config_path, "sweep config (YAML)")->required();

  SubmitOptions submit_options;
  auto* submit = app.add_subcommand("submit", "submit the sweep to Slurm (slurm/sweep.sbatch sized for it) and print the job id");
  submit->add_option("config", config_path, "sweep config (YAML)")->required();
  submit->add_option("--nodes", submit_options.nodes, "nodes of the allocation (default: as Slurm packs the tasks)")
      ->check(CLI::PositiveNumber);
  submit->add_option("--gpus-per-node", submit_options.gpus_per_node, "GPUs per node (trial.backend: nccl)")
      ->check(CLI::NonNegativeNumber);
  submit->add_option("--time", submit_options.time, "time limit, e.g. 2:00:00 (default: the partition's)");
  submit->add_option("--partition", submit_options.partition, "partition (default: the cluster's default)");

  std::string key_prefix;
  auto* keygen = app.add_subcommand("keygen", "write a CURVE key pair (PREFIX.key mode 600, PREFIX.pub)");
  keygen->add_option("prefix", key_prefix, "path prefix of the two files, e.g. ~/.polysweep/me")->required();

  uint32_t control_trial = 0;
  std::vector<std::pair<CLI::App*, wire::Command>> controls;
  for (auto [name, command, help] :
       {std::tuple{"stop", wire::COMMAND_STOP, "stop a running or paused trial for good"},
        std::tuple{"pause", wire::COMMAND_PAUSE, "pause a running trial at a checkpoint"},
        std::tuple{"resume", wire::COMMAND_RESUME, "resume a paused trial from its checkpoint"}}) {
    auto* cmd = app.add_subcommand(name, std::string(help) + " (needs the owner's key on a secured sweep)");
    cmd->add_option("trial", control_trial, "trial id")->required();
    cmd->add_option("--dir", dir, "sweep directory (default: newest under ./runs)");
    cmd->add_option("-o,--output", output, "table or json")->check(CLI::IsMember({"table", "json"}));
    controls.push_back({cmd, command});
  }

  uint64_t export_trial = 0;
  std::string export_dir;
  auto* export_model = app.add_subcommand("export-model", "export a trial's best checkpoint with its tokenizer and labels "
                                                          "(a sweep exports its best trial to <output_dir>/model itself)");
  export_model->add_option("config", config_path, "sweep config (YAML)")->required();
  export_model->add_option("--trial", export_trial, "trial id (default: the best trial)");
  export_model->add_option("-o,--out", export_dir, "model directory to write (default: <output_dir>/model)");

  std::string model_dir;
  auto* predict = app.add_subcommand("predict", "classify JSON lines from stdin with an exported model "
                                                "(polysweep predict MODEL --help for its options)");
  predict->add_option("model", model_dir, "model directory (<output_dir>/model)")->required();
  predict->allow_extras();
  predict->set_help_flag();

  WatchOptions watch;
  std::vector<CLI::App*> watchers;
  for (auto [name, help] : {std::pair{"status", "sweep progress, trials by state, best so far, ETA, resource use"},
                            std::pair{"trials", "one line per trial (--sort a column)"},
                            std::pair{"best", "the best trial with per-language scores (-k: the best K)"}}) {
    auto* cmd = app.add_subcommand(name, help);
    cmd->add_option("--dir", watch.dir, "sweep directory (default: newest under ./runs)");
    cmd->add_option("-o,--output", watch.output, "table or json")->check(CLI::IsMember({"table", "json"}));
    watchers.push_back(cmd);
  }
  watchers[1]->add_option("--sort", watch.sort, "id, state, attempt, step, loss, metric (best first), "
                                                "samples_per_sec, or a hyperparameter");
  watchers[1]->add_flag("--desc", watch.descending, "reverse the order");
  watchers[2]->add_option("-k", watch.k, "how many of the best trials")->check(CLI::PositiveNumber);

  uint64_t inspect_trial = 0;
  auto* describe = app.add_subcommand("describe", "one trial: hyperparameters, outcome, checkpoints, evaluations, "
                                                  "per-language metrics, Slurm step, restarts and why");
  describe->add_option("trial", inspect_trial, "trial id")->required();
  describe->add_option("--dir", watch.dir, "sweep directory (default: newest under ./runs)");
  describe->add_option("-o,--output", watch.output, "table or json")->check(CLI::IsMember({"table", "json"}));

  bool follow = false;
  std::optional<int> log_rank;
  auto* logs = app.add_subcommand("logs", "a trial's log: every rank's lines (--rank: one rank's)");
  logs->add_option("trial", inspect_trial, "trial id")->required();
  logs->add_option("--dir", watch.dir, "sweep directory (default: newest under ./runs)");
  logs->add_flag("-f,--follow", follow, "keep printing what the trial writes until it stops running");
  logs->add_option("--rank", log_rank, "only this rank's lines")->check(CLI::NonNegativeNumber);
  logs->add_option("-o,--output", watch.output, "table (the lines as written) or json (one object per line)")
      ->check(CLI::IsMember({"table", "json"}));

  bool top_once = false;
  auto* top = app.add_subcommand("top", "a live full-screen view, redrawn every second: trials with progress bars, "
                                        "loss, each rank's throughput, stalled ranks highlighted (q quits)");
  top->add_option("--dir", watch.dir, "sweep directory (default: newest under ./runs)");
  top->add_flag("--once", top_once, "print one frame and exit (also when stdout is not a terminal)");
  top->add_option("-o,--output", watch.output, "table (the screen) or json (the status it shows, once)")
      ->check(CLI::IsMember({"table", "json"}));

  auto* dashboard_cmd = app.add_subcommand("dashboard", "serve the dashboard of a sweep (running or finished) "
                                                       "until Ctrl-C; `polysweep sweep` serves one itself");
  dashboard_cmd->add_option("--dir", watch.dir, "sweep directory (default: newest under ./runs)");
  dashboard_cmd->add_option("--port", dashboard_options.port, "port (default: any free one)")->check(CLI::Range(0, 65535));
  dashboard_cmd->add_option("--bind", dashboard_options.bind, "IPv4 address (default 127.0.0.1)");
  std::string report_out = "report.html";
  auto* report = app.add_subcommand("report", "write a sweep's dashboard as one self-contained HTML file");
  report->add_option("--dir", watch.dir, "sweep directory (default: newest under ./runs)");
  report->add_option("-o,--out", report_out, "file to write (default: report.html)");

  std::string export_format = "csv", export_out;
  auto* export_trials = app.add_subcommand("export", "every trial with its hyperparameters, metrics and per-language "
                                                     "scores, for a spreadsheet or a notebook");
  export_trials->add_option("--dir", watch.dir, "sweep directory (default: newest under ./runs)");
  export_trials->add_option("--format", export_format, "csv or jsonl")->check(CLI::IsMember({"csv", "jsonl"}));
  export_trials->add_option("--out", export_out, "file to write (default: stdout)");
  bool check_no_processes = false;
  auto* check = app.add_subcommand("check", "check a sweep's journal and checkpoints against every promise of "
                                            "docs/reliability.md (exit 1 on a violation)");
  check->add_option("--dir", watch.dir, "sweep directory (default: newest under ./runs)");
  check->add_flag("--no-processes", check_no_processes, "do not look for live processes of ended attempts");
  check->add_option("-o,--output", watch.output, "table or json")->check(CLI::IsMember({"table", "json"}));
  CLI11_PARSE(app, argc, argv);

  const std::optional<DashboardOptions> dashboard_on =
      no_dashboard ? std::nullopt : std::optional<DashboardOptions>(dashboard_options);
  if (sweep->parsed()) return RunSweep(config_path, overwrite, worker, mpirun, dashboard_on);
  if (pretrain->parsed()) return RunSweep(config_path, overwrite, worker, mpirun, dashboard_on, /*pretrain=*/true);
  if (dashboard_cmd->parsed()) return ServeDashboard(watch.dir, dashboard_options);
  if (report->parsed()) return WriteReport(watch.dir, report_out);
  if (predict->parsed()) return Predict(model_dir, predict->remaining());
  if (export_model->parsed()) return ExportModelCommand(config_path, export_trial, export_dir);
  if (shard->parsed()) return RunShard(config_path, force);
  if (submit->parsed()) return Submit(config_path, submit_options);
  if (keygen->parsed()) return KeyGen(key_prefix);
  for (auto [cmd, command] : controls) {
    if (cmd->parsed()) return ControlTrial(dir, control_trial, command, output);
  }
  if (stats->parsed()) {
    auto config = LoadSweepConfig(config_path);
    if (!config.ok()) return Fail(config.status().message());
    auto report = DataStats(config->data, output == "json");
    if (!report.ok()) return Fail(report.status().message());
    std::cout << *report;
    return 0;
  }
  if (preview->parsed()) {
    auto config = LoadSweepConfig(config_path);
    if (!config.ok()) return Fail(config.status().message());
    auto text = RenderPreview(*config);
    if (!text.ok()) return Fail(config_path + ": " + text.status().message());
    std::cout << *text;
    return 0;
  }
  if (validate->parsed()) {
    auto config = LoadSweepConfig(config_path);
    if (!config.ok()) return Fail(config.status().message());
    auto searcher = MakeSearcher(config->search, config->budget.max_trials);
    if (!searcher.ok()) return Fail(config_path + ": " + searcher.status().message());
    std::cout << config_path << ": ok (sweep " << config->name << ", " << config->search.space.params.size()
              << " searched parameters, up to " << config->budget.max_trials << " trials)\n";
    return 0;
  }
  for (auto* cmd : watchers) {
    if (cmd->parsed()) return Watch(cmd->get_name(), watch);
  }
  if (describe->parsed()) return Describe(inspect_trial, watch);
  if (top->parsed()) return Top(watch, top_once);
  if (logs->parsed()) return Logs(inspect_trial, watch.dir, log_rank, follow, watch.output);
  if (export_trials->parsed()) return Export(watch.dir, export_format, export_out);
  if (check->parsed()) return CheckCommand(watch.dir, !check_no_processes, watch.output);
  return 0;
}
