// The srun-step backend: each trial is `srun --exact` inside the allocation
// the coordinator runs in, so concurrent trials pack into it. srun leads its
// own process group here; the ranks run under slurmstepd, so the step is
// found by its name and cancelled when srun is gone.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "launcher/command.h"
#include "launcher/group_process.h"
#include "launcher/launcher.h"
#include "launcher/slurm_output.h"

namespace polysweep {

std::vector<std::string> SrunArgv(const std::string& srun, const std::vector<std::string>& extra_args,
                                  const LaunchSpec& spec) {
  std::vector<std::string> argv = {srun,
                                   "--exact",                // only the CPUs asked for: trials pack
                                   "--kill-on-bad-exit=1",   // a rank that fails ends the step
                                   "--mpi=pmix",             // Debian's Open MPI speaks PMIx only
                                   "--ntasks=" + std::to_string(spec.ranks),
                                   "--cpus-per-task=" + std::to_string(spec.threads_per_rank),
                                   "--job-name=" + spec.name};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  argv.insert(argv.end(), spec.worker_argv.begin(), spec.worker_argv.end());
  return argv;
}

namespace {

using Clock = std::chrono::steady_clock;

// The ids ("JOB.STEP") of live steps named `name`.
std::vector<std::string> StepsNamed(const std::string& name) {
  std::vector<std::string> ids;
  auto out = RunCommand({"squeue", "--noheader", "--steps", "--format=%i %j"}, 10000);
  if (!out.ok() || out->exit_code != 0) return ids;
  std::istringstream lines(out->out);
  for (std::string id, step_name; lines >> id >> step_name;) {
    if (step_name == name) ids.push_back(id);
  }
  return ids;
}

// Cancels the steps named `name` and waits (bounded) until Slurm has none.
void CancelSteps(const std::string& name) {
  if (name.empty()) return;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  for (int round = 0; Clock::now() < deadline; ++round) {
    const std::vector<std::string> ids = StepsNamed(name);
    if (ids.empty()) return;
    std::vector<std::string> cancel = {"scancel", "--quiet"};
    if (round >= 10) cancel.push_back("--signal=KILL");
    cancel.insert(cancel.end(), ids.begin(), ids.end());
    (void)RunCommand(cancel, 10000);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

class SrunStep : public TrialProcess {
 public:
  SrunStep(std::unique_ptr<TrialProcess> srun, std::string name, std::string log_path, std::uintmax_t log_offset)
      : srun_(std::move(srun)), name_(std::move(name)), log_path_(std::move(log_path)), log_offset_(log_offset) {}
  ~SrunStep() override {
    if (!exit_) Kill(2000);
  }

  std::optional<ExitInfo> Poll() override {
    if (exit_) return exit_;
    if (auto exit = srun_->Poll()) Finish(*exit);
    return exit_;
  }

  ExitInfo Kill(int grace_ms) override {
    if (exit_) return *exit_;
    // TERM makes srun cancel its step and wait for it (up to KillWait).
    Finish(srun_->Kill(grace_ms));
    return *exit_;
  }

  int pid() const override { return srun_->pid(); }
  std::string handle() const override { return srun_->handle(); }

 private:
  void Finish(ExitInfo exit) {
    CancelSteps(name_);  // srun is gone: nothing of its step may outlive it
    if (!log_path_.empty()) {
      if (auto parsed = ParseSrunOutput(ReadLogFrom(log_path_, log_offset_))) exit = *parsed;
    }
    exit_ = exit;
  }

  std::unique_ptr<TrialProcess> srun_;
  std::string name_, log_path_;
  std::uintmax_t log_offset_;
  std::optional<ExitInfo> exit_;
};

class SrunStepLauncher : public TrialLauncher {
 public:
  SrunStepLauncher(std::vector<std::string> extra_args, std::string srun)
      : extra_args_(std::move(extra_args)), srun_(std::move(srun)) {}

  StatusOr<std::unique_ptr<TrialProcess>> Launch(const LaunchSpec& spec) override {
    const std::uintmax_t log_end = LogEnd(spec.log_path);  // this attempt's lines start there
    std::vector<std::string> env;
    for (const auto& [key, value] : spec.env) env.push_back(key + "=" + value);
    auto pid = SpawnGroupLeader(SrunArgv(srun_, extra_args_, spec), env, spec.log_path,
                                "install slurm-client or put srun on PATH");
    if (!pid.ok()) return pid.status();
    // "srun:HOST:PGID:NAME": srun leads its own process group on HOST.
    const std::string handle = "srun:" + HostName() + ":" + std::to_string(*pid) + ":" + spec.name;
    return std::unique_ptr<TrialProcess>(new SrunStep(std::make_unique<GroupProcess>(*pid, handle), spec.name,
                                                      spec.log_path, log_end));
  }

  std::unique_ptr<TrialProcess> Adopt(const std::string& handle, const std::vector<std::string>& args) override {
    std::string name;
    if (!GroupFromHandle(handle, "srun", &name)) return nullptr;
    auto group = AdoptGroup(handle, "srun", args);
    if (!group) {
      CancelSteps(name);  // srun is gone; a step it left is no one's
      return nullptr;
    }
    return std::make_unique<SrunStep>(std::move(group), name, "", 0);
  }

  std::string name() const override { return "slurm-srun-step"; }

 private:
  std::vector<std::string> extra_args_;
  std::string srun_;
};

}  // namespace

std::unique_ptr<TrialLauncher> MakeSrunStepLauncher(std::vector<std::string> extra_args, std::string srun) {
  return std::make_unique<SrunStepLauncher>(std::move(extra_args), std::move(srun));
}

}  // namespace polysweep
