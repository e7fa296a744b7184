// The sbatch-job backend: each trial is its own batch job (for clusters that
// forbid long allocations). The job's script runs the ranks as one srun step;
// Slurm owns the job, so a restarted coordinator finds it by id, and its end
// (state and exit code) comes from scontrol.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "launcher/command.h"
#include "launcher/launcher.h"
#include "launcher/slurm_output.h"

namespace polysweep {

std::vector<std::string> SbatchArgv(const std::string& sbatch, const std::vector<std::string>& extra_args,
                                    const LaunchSpec& spec) {
  std::vector<std::string> argv = {sbatch, "--parsable", "--job-name=" + spec.name,
                                   "--ntasks=" + std::to_string(spec.ranks),
                                   "--cpus-per-task=" + std::to_string(spec.threads_per_rank),
                                   "--output=" + spec.log_path, "--open-mode=append"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::string script;
  for (const auto& [key, value] : spec.env) script += "export " + key + "=" + ShellQuote(value) + "; ";
  script += "exec srun --kill-on-bad-exit=1 --mpi=pmix";
  for (const auto& arg : spec.worker_argv) script += " " + ShellQuote(arg);
  argv.push_back("--wrap=" + script);
  return argv;
}

namespace {

using Clock = std::chrono::steady_clock;

struct JobState {
  bool known = false;  // Slurm still knows the job
  std::string state, name;
  int exit_code = 0, signal = 0;
  bool terminal() const {
    static const char* kEnded[] = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "PREEMPTED", "NODE_FAIL",
                                   "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"};
    for (const char* s : kEnded) {
      if (state == s) return true;
    }
    return false;
  }
};

JobState QueryJob(const std::string& id) {
  JobState job;
  auto out = RunCommand({"scontrol", "--oneliner", "show", "job", id}, 10000);
  if (!out.ok() || out->exit_code != 0) return job;
  std::smatch m;
  static const std::regex kState(R"(\bJobState=(\S+))"), kName(R"(\bJobName=(\S+))"),
      kExit(R"(\bExitCode=([0-9]+):([0-9]+))");
  if (!std::regex_search(out->out, m, kState)) return job;
  job.known = true;
  job.state = m[1].str();
  if (std::regex_search(out->out, m, kName)) job.name = m[1].str();
  if (std::regex_search(out->out, m, kExit)) {
    job.exit_code = std::stoi(m[1].str());
    job.signal = std::stoi(m[2].str());
  }
  return job;
}

class SbatchJob : public TrialProcess {
 public:
  SbatchJob(std::string id, std::string name, std::string log_path, std::uintmax_t log_offset)
      : id_(std::move(id)), name_(std::move(name)), log_path_(std::move(log_path)), log_offset_(log_offset) {}
  ~SbatchJob() override {
    if (!exit_) Kill(2000);
  }

  std::optional<ExitInfo> Poll() override {
    if (exit_) return exit_;
    // scontrol asks slurmctld: once a second is enough.
    if (Clock::now() - last_poll_ < std::chrono::seconds(1)) return std::nullopt;
    last_poll_ = Clock::now();
    const JobState job = QueryJob(id_);
    if (!job.known) {
      exit_ = ExitInfo::Adopted(0, "Slurm job " + id_ + " ended (Slurm no longer knows its state)");
    } else if (job.terminal()) {
      ExitInfo exit = job.signal ? ExitInfo::Signal(job.signal) : ExitInfo::Code(job.exit_code);
      if (job.state != "COMPLETED" || !exit.ok()) {
        std::string cause = "Slurm job " + id_ + " " + job.state;
        if (auto ranks = ParseSrunOutput(ReadLogFrom(log_path_, log_offset_))) cause = ranks->cause + "; " + cause;
        if (exit.ok()) exit.exit_code = 1;
        exit.cause = cause;
      }
      exit_ = exit;
    }
    return exit_;
  }

  ExitInfo Kill(int grace_ms) override {
    if (exit_) return *exit_;
    // scancel sends TERM, then KILL after the cluster's KillWait.
    (void)RunCommand({"scancel", "--quiet", id_}, 10000);
    const auto deadline = Clock::now() + std::chrono::milliseconds(grace_ms) + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      last_poll_ = {};
      if (Poll()) return *exit_;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    (void)RunCommand({"scancel", "--quiet", "--signal=KILL", "--full", id_}, 10000);
    exit_ = ExitInfo::Signal(SIGKILL, "Slurm job " + id_ + " killed");
    return *exit_;
  }

  int pid() const override { return 0; }
  std::string handle() const override { return "sbatch:" + id_ + ":" + name_; }

 private:
  std::string id_, name_, log_path_;
  std::uintmax_t log_offset_;
  Clock::time_point last_poll_{};
  std::optional<ExitInfo> exit_;
};

class SbatchJobLauncher : public TrialLauncher {
 public:
  SbatchJobLauncher(std::vector<std::string> extra_args, std::string sbatch)
      : extra_args_(std::move(extra_args)), sbatch_(std::move(sbatch)) {}

  StatusOr<std::unique_ptr<TrialProcess>> Launch(const LaunchSpec& spec) override {
    const std::uintmax_t log_end = LogEnd(spec.log_path);  // this attempt's lines start there
    auto out = RunCommand(SbatchArgv(sbatch_, extra_args_, spec), 60000);
    if (!out.ok()) return out.status().With("submitting " + spec.name + " (install slurm-client or put sbatch on PATH)");
    std::string id = out->out.substr(0, out->out.find_first_of(";\n"));
    if (out->exit_code != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
      return Status::Error("sbatch refused " + spec.name + ": " + (out->err.empty() ? out->out : out->err));
    }
    return std::unique_ptr<TrialProcess>(new SbatchJob(id, spec.name, spec.log_path, log_end));
  }

  std::unique_ptr<TrialProcess> Adopt(const std::string& handle, const std::vector<std::string>&) override {
    static const std::regex kHandle(R"(^sbatch:([0-9]+):(\S+)$)");
    std::smatch m;
    if (!std::regex_match(handle, m, kHandle)) return nullptr;
    const JobState job = QueryJob(m[1].str());
    // A job id is never reused while Slurm knows it; the name guards the rest.
    if (!job.known || job.terminal() || job.name != m[2].str()) return nullptr;
    return std::make_unique<SbatchJob>(m[1].str(), m[2].str(), "", 0);
  }

  std::string name() const override { return "slurm-sbatch-job"; }

 private:
  std::vector<std::string> extra_args_;
  std::string sbatch_;
};

}  // namespace

std::unique_ptr<TrialLauncher> MakeSbatchJobLauncher(std::vector<std::string> extra_args, std::string sbatch) {
  return std::make_unique<SbatchJobLauncher>(std::move(extra_args), std::move(sbatch));
}

}  // namespace polysweep
