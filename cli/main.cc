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
//   polysweep evaluate MODEL FILE the per-class report of a labelled file
//   polysweep serve MODEL         answer predictions over HTTP
// Each command is registered with its options and runs from its callback;
// the command implementations live in commands.cc, cli_watch.cc and
// sweep_command.cc.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <optional>
#include <tuple>

#include "cli/cli_watch.h"
#include "cli/commands.h"
#include "cli/dashboard.h"
#include "cli/sweep_command.h"

using namespace polysweep;

namespace {

// The only process-wide state: what the signal handlers may touch.
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }
std::atomic<bool> g_drain{false};
void OnDrain(int) { g_drain = true; }

// Ctrl-C and SIGTERM interrupt the sweep (trials stop, the journal keeps
// them to continue); Slurm's --signal=B:USR1 before the time limit drains
// it (every trial checkpoints, then the job requeues itself).
void InstallSweepSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction drain {};
  drain.sa_handler = OnDrain;
  sigaction(SIGUSR1, &drain, nullptr);
}

// Every command's options, and the exit code of the one that ran.
struct Options {
  int exit_code = 0;
  std::string config_path, worker, mpirun = "mpirun", hostfile, dir, output = "table";
  bool overwrite = false, no_dashboard = false, force = false, follow = false, top_once = false;
  bool check_no_processes = false;
  DashboardOptions dashboard;
  SubmitOptions submit;
  std::string key_prefix, export_dir, model_format = "polysweep", model_dir, report_out = "report.html", export_format = "csv", export_out;
  uint32_t control_trial = 0;
  uint64_t export_trial = 0, inspect_trial = 0;
  std::optional<int> log_rank;
  WatchOptions watch;
};

const char* const kDirHelp = "sweep directory (default: newest under ./runs)";
const char* const kOutputHelp = "table or json";

CLI::App* ConfigCommand(CLI::App& app, Options& o, const char* name, const char* help) {
  auto* cmd = app.add_subcommand(name, help);
  cmd->add_option("config", o.config_path, "sweep config (YAML)")->required();
  return cmd;
}

// sweep and pretrain: the coordinator in the foreground, with its dashboard.
void AddSweepCommands(CLI::App& app, Options& o) {
  auto* sweep = ConfigCommand(app, o, "sweep", "run a sweep in the foreground");
  auto* pretrain = ConfigCommand(app, o, "pretrain",
                                 "pretrain an encoder as a masked-language model on unlabelled text (model.task: "
                                 "masked_lm); its model directory is what model.init fine-tunes from");
  for (auto* cmd : {sweep, pretrain}) {
    cmd->add_flag("--overwrite", o.overwrite,
                  "start again if the output directory has a journal (default: continue its sweep)");
    cmd->add_option("--worker", o.worker, "path of polysweep-worker (default: next to polysweep)");
    cmd->add_option("--mpirun", o.mpirun, "mpirun to launch trials with");
    cmd->add_option("--hostfile", o.hostfile,
                    "an Open MPI host file (HOST slots=N per line) to pack trials onto (trial.hosts)");
    cmd->add_flag("--no-dashboard", o.no_dashboard, "serve no dashboard");
    cmd->add_option("--dashboard-port", o.dashboard.port, "the dashboard's port (default: any free one)")
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--dashboard-bind", o.dashboard.bind,
                    "the dashboard's IPv4 address (default 127.0.0.1; others get plain HTTP behind the token)");
    cmd->callback([&o, cmd] {
      SweepCommand command{o.config_path, o.overwrite, o.worker, o.mpirun,
                           o.no_dashboard ? std::nullopt : std::optional<DashboardOptions>(o.dashboard),
                           cmd->get_name() == "pretrain", &g_stop, &g_drain};
      command.on_ready = InstallSweepSignals;
      command.hostfile = o.hostfile;
      o.exit_code = RunSweepCommand(command);
    });
  }
}

// Commands on a config before or beside a sweep.
void AddConfigCommands(CLI::App& app, Options& o) {
  auto* shard = ConfigCommand(app, o, "shard", "tokenize the sweep's dataset into binary shards (no work when up to date)");
  shard->add_flag("--force", o.force, "rebuild even when the shards are up to date");
  shard->callback([&o] { o.exit_code = RunShard(o.config_path, o.force); });
  auto* data = app.add_subcommand("data", "inspect a sweep's data");
  data->require_subcommand(1);
  auto* stats = ConfigCommand(*data, o, "stats", "examples per language, token lengths, labels, sampling");
  stats->add_option("-o,--output", o.output, kOutputHelp)->check(CLI::IsMember({"table", "json"}));
  stats->callback([&o] { o.exit_code = DataStatsCommand(o.config_path, o.output == "json"); });
  ConfigCommand(app, o, "validate", "check a sweep config and exit")->callback([&o] {
    o.exit_code = ValidateCommand(o.config_path);
  });
  ConfigCommand(app, o, "preview", "print the trials and rungs a sweep config would run")->callback([&o] {
    o.exit_code = PreviewCommand(o.config_path);
  });
  auto* submit = ConfigCommand(app, o, "submit", "submit the sweep to Slurm (slurm/sweep.sbatch sized for it) and "
                                                 "print the job id");
  submit->add_option("--nodes", o.submit.nodes, "nodes of the allocation (default: as Slurm packs the tasks)")
      ->check(CLI::PositiveNumber);
  submit->add_option("--gpus-per-node", o.submit.gpus_per_node, "GPUs per node (trial.backend: nccl)")
      ->check(CLI::NonNegativeNumber);
  submit->add_option("--time", o.submit.time, "time limit, e.g. 2:00:00 (default: the partition's)");
  submit->add_option("--partition", o.submit.partition, "partition (default: the cluster's default)");
  submit->callback([&o] { o.exit_code = Submit(o.config_path, o.submit); });
  auto* keygen = app.add_subcommand("keygen", "write a CURVE key pair (PREFIX.key mode 600, PREFIX.pub)");
  keygen->add_option("prefix", o.key_prefix, "path prefix of the two files, e.g. ~/.polysweep/me")->required();
  keygen->callback([&o] { o.exit_code = KeyGen(o.key_prefix); });
}

// The best model: exported, and used.
void AddModelCommands(CLI::App& app, Options& o) {
  auto* export_model = ConfigCommand(app, o, "export-model",
                                     "export a trial's best checkpoint with its tokenizer and labels (a sweep exports "
                                     "its best trial to <output_dir>/model itself)");
  export_model->add_option("--trial", o.export_trial, "trial id (default: the best trial)");
  export_model->add_option("-o,--out", o.export_dir,
                           "model directory to write (default: <output_dir>/model, with --format hf model-hf)");
  export_model->add_option("--format", o.model_format, "polysweep (for polysweep predict) or hf (Hugging Face's "
                                                       "layout; a model fine-tuned from a Hugging Face checkpoint)")
      ->check(CLI::IsMember({"polysweep", "hf"}));
  export_model->callback(
      [&o] { o.exit_code = ExportModelCommand(o.config_path, o.export_trial, o.export_dir, o.model_format); });
  // The model directory is optional here so that `predict --help` reaches
  // the program's own help; without either, the program says what is missing.
  auto* predict = app.add_subcommand("predict", "classify JSON lines from stdin with an exported model "
                                                "(polysweep predict --help for its options)");
  predict->add_option("model", o.model_dir, "model directory (<output_dir>/model)");
  predict->allow_extras();
  predict->set_help_flag();
  predict->callback([&o, predict] { o.exit_code = RunSibling("polysweep-predict", o.model_dir, predict->remaining()); });
  auto* evaluate = app.add_subcommand("evaluate", "score an exported model on a labelled JSON-lines file: the "
                                                  "per-class report (precision, recall, F1, support), per language "
                                                  "too (--report-json FILE: all of it as JSON)");
  evaluate->add_option("model", o.model_dir, "model directory (<output_dir>/model)");
  evaluate->allow_extras();
  evaluate->set_help_flag();
  evaluate->callback([&o, evaluate] {
    std::vector<std::string> rest = evaluate->remaining();
    rest.push_back("--report");
    o.exit_code = RunSibling("polysweep-predict", o.model_dir, rest);
  });
  auto* serve = app.add_subcommand("serve", "answer predictions over HTTP with an exported model: POST "
                                            "/v1/predict, dynamic batching, /metrics (polysweep serve --help "
                                            "for its options)");
  serve->add_option("model", o.model_dir, "model directory (<output_dir>/model)");
  serve->allow_extras();
  serve->set_help_flag();
  serve->callback([&o, serve] { o.exit_code = RunSibling("polysweep-serve", o.model_dir, serve->remaining()); });
}

// stop, pause and resume: the owner's commands to the running coordinator.
void AddControlCommands(CLI::App& app, Options& o) {
  for (auto [name, command, help] :
       {std::tuple{"stop", wire::COMMAND_STOP, "stop a running or paused trial for good"},
        std::tuple{"pause", wire::COMMAND_PAUSE, "pause a running trial at a checkpoint"},
        std::tuple{"resume", wire::COMMAND_RESUME, "resume a paused trial from its checkpoint"}}) {
    auto* cmd = app.add_subcommand(name, std::string(help) + " (needs the owner's key on a secured sweep)");
    cmd->add_option("trial", o.control_trial, "trial id")->required();
    cmd->add_option("--dir", o.dir, kDirHelp);
    cmd->add_option("-o,--output", o.output, kOutputHelp)->check(CLI::IsMember({"table", "json"}));
    cmd->callback([&o, command = command] { o.exit_code = ControlTrial(o.dir, o.control_trial, command, o.output); });
  }
}

// A command that reads a sweep directory (with --dir, and -o table|json).
CLI::App* WatchCommand(CLI::App& app, Options& o, const char* name, const std::string& help, bool output = true) {
  auto* cmd = app.add_subcommand(name, help);
  cmd->add_option("--dir", o.watch.dir, kDirHelp);
  if (output) cmd->add_option("-o,--output", o.watch.output, kOutputHelp)->check(CLI::IsMember({"table", "json"}));
  return cmd;
}

void AddWatchCommands(CLI::App& app, Options& o) {
  for (auto [name, help] : {std::pair{"status", "sweep progress, trials by state, best so far, ETA, resource use"},
                            std::pair{"trials", "one line per trial (--sort a column)"},
                            std::pair{"best", "the best trial with per-language scores (-k: the best K)"}}) {
    auto* cmd = WatchCommand(app, o, name, help);
    cmd->callback([&o, cmd] { o.exit_code = Watch(cmd->get_name(), o.watch); });
    if (std::string(name) == "trials") {
      cmd->add_option("--sort", o.watch.sort, "id, state, attempt, step, loss, metric (best first), "
                                              "samples_per_sec, or a hyperparameter");
      cmd->add_flag("--desc", o.watch.descending, "reverse the order");
    }
    if (std::string(name) == "best") cmd->add_option("-k", o.watch.k, "how many of the best trials")->check(CLI::PositiveNumber);
  }
  auto* describe = WatchCommand(app, o, "describe", "one trial: hyperparameters, outcome, checkpoints, evaluations, "
                                                    "per-language metrics, Slurm step, restarts and why");
  describe->add_option("trial", o.inspect_trial, "trial id")->required();
  describe->callback([&o] { o.exit_code = Describe(o.inspect_trial, o.watch); });
  auto* logs = app.add_subcommand("logs", "a trial's log: every rank's lines (--rank: one rank's)");
  logs->add_option("trial", o.inspect_trial, "trial id")->required();
  logs->add_option("--dir", o.watch.dir, kDirHelp);
  logs->add_flag("-f,--follow", o.follow, "keep printing what the trial writes until it stops running");
  logs->add_option("--rank", o.log_rank, "only this rank's lines")->check(CLI::NonNegativeNumber);
  logs->add_option("-o,--output", o.watch.output, "table (the lines as written) or json (one object per line)")
      ->check(CLI::IsMember({"table", "json"}));
  logs->callback([&o] { o.exit_code = Logs(o.inspect_trial, o.watch.dir, o.log_rank, o.follow, o.watch.output); });
  auto* top = WatchCommand(app, o, "top", "a live full-screen view, redrawn every second: trials with progress bars, "
                                          "loss, each rank's throughput, stalled ranks highlighted (q quits)", false);
  top->add_flag("--once", o.top_once, "print one frame and exit (also when stdout is not a terminal)");
  top->add_option("-o,--output", o.watch.output, "table (the screen) or json (the status it shows, once)")
      ->check(CLI::IsMember({"table", "json"}));
  top->callback([&o] { o.exit_code = Top(o.watch, o.top_once); });
}

// What a finished sweep is looked at with: the dashboard, a report, an
// export, the checker.
void AddReportCommands(CLI::App& app, Options& o) {
  auto* dashboard = WatchCommand(app, o, "dashboard", "serve the dashboard of a sweep (running or finished) until "
                                                      "Ctrl-C; `polysweep sweep` serves one itself", false);
  dashboard->add_option("--port", o.dashboard.port, "port (default: any free one)")->check(CLI::Range(0, 65535));
  dashboard->add_option("--bind", o.dashboard.bind, "IPv4 address (default 127.0.0.1)");
  dashboard->callback([&o] { o.exit_code = ServeDashboard(o.watch.dir, o.dashboard); });
  auto* report = WatchCommand(app, o, "report", "write a sweep's dashboard as one self-contained HTML file", false);
  report->add_option("-o,--out", o.report_out, "file to write (default: report.html)");
  report->callback([&o] { o.exit_code = WriteReport(o.watch.dir, o.report_out); });
  auto* export_trials = WatchCommand(app, o, "export", "every trial with its hyperparameters, metrics and "
                                                       "per-language scores, for a spreadsheet or a notebook", false);
  export_trials->add_option("--format", o.export_format, "csv or jsonl")->check(CLI::IsMember({"csv", "jsonl"}));
  export_trials->add_option("--out", o.export_out, "file to write (default: stdout)");
  export_trials->callback([&o] { o.exit_code = Export(o.watch.dir, o.export_format, o.export_out); });
  auto* check = WatchCommand(app, o, "check", "check a sweep's journal and checkpoints against every promise of "
                                              "docs/reliability.md (exit 1 on a violation)");
  check->add_flag("--no-processes", o.check_no_processes, "do not look for live processes of ended attempts");
  check->callback([&o] { o.exit_code = CheckCommand(o.watch.dir, !o.check_no_processes, o.watch.output); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"polysweep: multilingual fine-tuning sweeps on MPI clusters"};
  app.require_subcommand(1);
  Options o;
  AddSweepCommands(app, o);
  AddConfigCommands(app, o);
  AddModelCommands(app, o);
  AddControlCommands(app, o);
  AddWatchCommands(app, o);
  AddReportCommands(app, o);
  CLI11_PARSE(app, argc, argv);
  return o.exit_code;
}
