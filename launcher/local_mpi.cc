#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <sstream>
#include <string>

#include "common/env.h"
#include "launcher/command.h"
#include "launcher/group_process.h"
#include "launcher/host_slots.h"
#include "launcher/launcher.h"

namespace polysweep {

std::string ExitInfo::Describe() const {
  if (!cause.empty()) return cause;
  if (adopted && signal == 0) return "ended (exit status unknown: launched by an earlier coordinator)";
  if (signal != 0) return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

std::vector<std::string> LocalMpiArgv(const std::string& mpirun, const LaunchSpec& spec, const std::string& placement,
                                      const std::string& subnet) {
  std::vector<std::string> argv = {mpirun, "-np", std::to_string(spec.ranks),
                                   // Ranks set their own threads; do not pin them to one core.
                                   "--bind-to", "none",
                                   // A rank that exits non-zero ends the trial.
                                   "--mca", "orte_abort_on_non_zero_status", "1"};
  if (placement.empty()) {
    argv.push_back("--oversubscribe");
  } else {
    argv.insert(argv.end(), {"--host", placement});
  }
  if (!subnet.empty()) {
    argv.insert(argv.end(), {"--mca", "oob_tcp_if_include", subnet, "--mca", "btl_tcp_if_include", subnet});
  }
  for (const auto& [key, value] : spec.env) {
    argv.push_back("-x");
    argv.push_back(key + "=" + value);
  }
  argv.insert(argv.end(), spec.worker_argv.begin(), spec.worker_argv.end());
  return argv;
}

namespace {

// Whether `host` answers Open MPI's remote shell (OMPI_MCA_plm_rsh_agent,
// else ssh) within 5 seconds: `AGENT HOST true`.
bool AnswersRemoteShell(const std::string& host) {
  const std::string agent = GetEnv("OMPI_MCA_plm_rsh_agent");
  std::vector<std::string> argv;
  if (agent.empty() || agent.rfind("ssh", 0) == 0) {
    argv = {"ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"};
  } else {
    std::istringstream words(agent.substr(0, agent.find(':')));  // "a : b": Open MPI's first choice
    for (std::string w; words >> w;) argv.push_back(w);
  }
  argv.insert(argv.end(), {host, "true"});
  auto ran = RunCommand(argv, 5000);
  return ran.ok() && ran->exit_code == 0;
}

// Asks every host at once whether it answers its remote shell: the wait is
// the slowest answer's (a few seconds at most), not their sum.
std::vector<bool> AskRemoteShells(const std::vector<std::string>& hosts) {
  std::vector<std::future<bool>> each;
  for (const std::string& host : hosts) each.push_back(std::async(std::launch::async, AnswersRemoteShell, host));
  std::vector<bool> answered;
  for (auto& a : each) answered.push_back(a.get());
  return answered;
}

// A trial on slots of the pool: they are released when it ends, is killed
// or is let go. Its handle carries the placement after a '|', so a later
// coordinator that adopts it takes the same slots. When its ranks fail or hang, each
// of its hosts is asked to answer its remote shell; one that does not is
// down (a node gone): the pool gives it no new trials, and the exit says so.
class PlacedProcess : public TrialProcess {
 public:
  PlacedProcess(std::unique_ptr<TrialProcess> inner, std::shared_ptr<SlotPool> pool, Placement placement)
      : inner_(std::move(inner)), pool_(std::move(pool)), placement_(std::move(placement)) {}
  ~PlacedProcess() override { Release(); }
  std::optional<ExitInfo> Poll() override {
    auto exit = inner_->Poll();
    if (!exit) return exit;
    if (!exit->ok() && pool_) NoteDeadHosts(&*exit);
    Release();
    return exit;
  }
  ExitInfo Kill(int grace_ms) override { return KillAndRelease(grace_ms, false); }
  // A hung trial's hosts are asked as a crashed one's are: a node cut off
  // from the network leaves its ranks silent, not dead.
  ExitInfo KillFailed(int grace_ms) override { return KillAndRelease(grace_ms, true); }
  int pid() const override { return inner_->pid(); }
  std::string handle() const override { return inner_->handle() + "|" + PlacementText(placement_); }

 private:
  void Release() {
    if (pool_) pool_->Release(placement_);
    pool_.reset();
  }
  ExitInfo KillAndRelease(int grace_ms, bool failed) {
    ExitInfo exit = inner_->Kill(grace_ms);
    if (failed && pool_) NoteDeadHosts(&exit);
    Release();
    return exit;
  }
  // Runs on the coordinator's loop (AskRemoteShells: a few seconds at most).
  void NoteDeadHosts(ExitInfo* exit) {
    std::vector<std::string> hosts;
    for (const HostSlots& h : placement_) hosts.push_back(h.host);
    const std::vector<bool> answered = AskRemoteShells(hosts);
    std::string dead;
    for (size_t i = 0; i < placement_.size(); ++i) {
      if (answered[i]) continue;
      pool_->MarkDown(placement_[i].host);
      dead += (dead.empty() ? "" : ", ") + placement_[i].host;
    }
    if (dead.empty()) return;
    exit->cause = exit->Describe() + "; NODE_FAIL: " + dead + " did not answer its remote shell and gets no new trials";
  }
  std::unique_ptr<TrialProcess> inner_;
  std::shared_ptr<SlotPool> pool_;
  Placement placement_;
};

// Asks each host of `pool` found down to answer its remote shell again (at
// once, as PlacedProcess does); those that do are given trials again.
// Returns how many came back.
int ProbeDownHosts(SlotPool& pool) {
  const std::vector<std::string> down = pool.down_hosts();
  const std::vector<bool> answered = AskRemoteShells(down);
  int back = 0;
  for (size_t i = 0; i < down.size(); ++i) back += answered[i] && pool.MarkUp(down[i]);
  return back;
}

// mpirun for `spec`, on free slots of the pool when there is one: nullptr
// when it has none free (asking the hosts found down first when `probe`).
StatusOr<std::unique_ptr<TrialProcess>> StartMpirun(const std::string& mpirun, const MpiHosts& hosts,
                                                    const LaunchSpec& spec, bool probe) {
  std::optional<Placement> placement;
  if (hosts.pool) {
    placement = hosts.pool->Reserve(spec.ranks);
    if (!placement && probe && ProbeDownHosts(*hosts.pool) > 0) placement = hosts.pool->Reserve(spec.ranks);
    if (!placement) return std::unique_ptr<TrialProcess>();
  }
  std::vector<std::string> env;
  if (::geteuid() == 0) env = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"};
  auto pid = SpawnGroupLeader(LocalMpiArgv(mpirun, spec, placement ? PlacementText(*placement) : "", hosts.subnet),
                              env, spec.log_path, "install openmpi-bin or put mpirun on PATH");
  if (!pid.ok()) {
    if (placement) hosts.pool->Release(*placement);
    return pid.status();
  }
  // "local:HOST:PGID": mpirun leads its own process group on HOST.
  std::unique_ptr<TrialProcess> group(new GroupProcess(*pid, "local:" + HostName() + ":" + std::to_string(*pid)));
  if (!placement) return group;
  return std::unique_ptr<TrialProcess>(new PlacedProcess(std::move(group), hosts.pool, std::move(*placement)));
}

// A trial that found no room because hosts are down waits for one to come
// back or for a running trial to end: started() false, so no start or hang
// timeout runs. Each Poll tries the pool again; every kProbeSeconds the
// hosts found down are asked to answer, off the coordinator's loop (a dead
// host's remote shell may take seconds to fail), and those that did are
// given trials again at the next Poll. Once it has room, it is that mpirun.
class WaitingProcess : public TrialProcess {
 public:
  static constexpr double kProbeSeconds = 2;
  using Start = std::function<StatusOr<std::unique_ptr<TrialProcess>>()>;
  WaitingProcess(std::shared_ptr<SlotPool> pool, Start start)
      : pool_(std::move(pool)), start_(std::move(start)), probed_(std::chrono::steady_clock::now()) {}
  std::optional<ExitInfo> Poll() override {
    if (inner_) return inner_->Poll();
    TakeAnswers();
    auto started = start_();
    if (!started.ok()) {
      ExitInfo failed = ExitInfo::Code(127, started.status().message());
      failed.not_started = true;
      return failed;
    }
    inner_ = std::move(*started);  // still null without room
    if (!inner_) AskDownHosts();
    return std::nullopt;
  }
  ExitInfo Kill(int grace_ms) override { return inner_ ? inner_->Kill(grace_ms) : NeverStarted(); }
  ExitInfo KillFailed(int grace_ms) override { return inner_ ? inner_->KillFailed(grace_ms) : NeverStarted(); }
  int pid() const override { return inner_ ? inner_->pid() : 0; }
  bool started() const override { return inner_ != nullptr; }
  // Nothing to adopt while it waits: a later coordinator launches it anew.
  std::string handle() const override { return inner_ ? inner_->handle() : "local:waiting"; }

 private:
  static ExitInfo NeverStarted() {
    ExitInfo e = ExitInfo::Code(0, "ended while waiting for free slots");
    e.not_started = true;
    return e;
  }
  void AskDownHosts() {
    const auto now = std::chrono::steady_clock::now();
    if (answers_.valid() || std::chrono::duration<double>(now - probed_).count() < kProbeSeconds) return;
    probed_ = now;
    asked_ = pool_->down_hosts();
    answers_ = std::async(std::launch::async, AskRemoteShells, asked_);
  }
  void TakeAnswers() {
    if (!answers_.valid() || answers_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    const std::vector<bool> answered = answers_.get();
    for (size_t i = 0; i < asked_.size() && i < answered.size(); ++i) {
      if (answered[i]) pool_->MarkUp(asked_[i]);
    }
  }
  std::shared_ptr<SlotPool> pool_;
  Start start_;
  std::chrono::steady_clock::time_point probed_;
  std::vector<std::string> asked_;
  std::future<std::vector<bool>> answers_;
  std::unique_ptr<TrialProcess> inner_;
};

class LocalMpiLauncher : public TrialLauncher {
 public:
  LocalMpiLauncher(std::string mpirun, MpiHosts hosts) : mpirun_(std::move(mpirun)), hosts_(std::move(hosts)) {}

  StatusOr<std::unique_ptr<TrialProcess>> Launch(const LaunchSpec& spec) override {
    auto started = StartMpirun(mpirun_, hosts_, spec, true);
    if (!started.ok() || *started) return started;
    const int down = hosts_.pool->down_slots();
    // The host file holds max_concurrent trials (checked before the sweep
    // starts): without room, hosts are down, and the trial waits for them.
    if (down > 0) {
      return std::unique_ptr<TrialProcess>(new WaitingProcess(
          hosts_.pool, [mpirun = mpirun_, hosts = hosts_, spec] { return StartMpirun(mpirun, hosts, spec, false); }));
    }
    return Status::Error("trial.hosts has no " + std::to_string(spec.ranks) + " free slots for trial " +
                         std::to_string(spec.trial) + " (" + std::to_string(hosts_.pool->total()) + " in all)");
  }

  std::unique_ptr<TrialProcess> Adopt(const std::string& handle, const std::vector<std::string>& args) override {
    const size_t bar = handle.find('|');
    auto group = AdoptGroup(handle.substr(0, bar), "local", args);
    if (!group || bar == std::string::npos || !hosts_.pool) return group;
    auto placement = ParsePlacement(handle.substr(bar + 1));
    if (!placement.ok() || !hosts_.pool->ReserveExactly(*placement)) return group;
    return std::make_unique<PlacedProcess>(std::move(group), hosts_.pool, std::move(*placement));
  }

  std::string name() const override { return hosts_.pool ? "mpirun-hosts" : "local-mpirun"; }

 private:
  std::string mpirun_;
  MpiHosts hosts_;
};

}  // namespace

std::unique_ptr<TrialLauncher> MakeLocalMpiLauncher(std::string mpirun, MpiHosts hosts) {
  return std::make_unique<LocalMpiLauncher>(std::move(mpirun), std::move(hosts));
}

}  // namespace polysweep
