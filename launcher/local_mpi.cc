#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <chrono>
#include <cstring>
#include <thread>

#include "launcher/launcher.h"
#include "launcher/process_group.h"

extern char** environ;

namespace polysweep {

std::string ExitInfo::Describe() const {
  if (adopted && signal == 0) return "ended (exit status unknown: launched by an earlier coordinator)";
  if (signal != 0) return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

std::vector<std::string> LocalMpiArgv(const std::string& mpirun, const LaunchSpec& spec) {
  std::vector<std::string> argv = {mpirun, "-np", std::to_string(spec.ranks),
                                   // Ranks set their own threads; do not pin them to one core.
                                   "--bind-to", "none", "--oversubscribe",
                                   // A rank that exits non-zero ends the trial.
                                   "--mca", "orte_abort_on_non_zero_status", "1"};
  for (const auto& [key, value] : spec.env) {
    argv.push_back("-x");
    argv.push_back(key + "=" + value);
  }
  argv.insert(argv.end(), spec.worker_argv.begin(), spec.worker_argv.end());
  return argv;
}

namespace {

std::string HostName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// "local:HOST:PGID": mpirun leads its own process group on HOST.
std::string LocalHandle(pid_t pgid) { return "local:" + HostName() + ":" + std::to_string(pgid); }

ExitInfo FromWaitStatus(int status) {
  ExitInfo info;
  if (WIFSIGNALED(status)) info.signal = WTERMSIG(status);
  else if (WIFEXITED(status)) info.exit_code = WEXITSTATUS(status);
  return info;
}

class LocalProcess : public TrialProcess {
 public:
  explicit LocalProcess(pid_t pid) : pid_(pid) {}
  ~LocalProcess() override {
    if (!exit_) Kill(2000);
  }

  std::optional<ExitInfo> Poll() override {
    if (exit_) return exit_;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_ = FromWaitStatus(status);
      // mpirun is gone; make sure no rank of its group outlives it, and wait
      // (bounded) until the group is empty before anyone starts a new attempt.
      SignalGroupAndWait(pid_, SIGKILL, 5000);
    }
    return exit_;
  }

  ExitInfo Kill(int grace_ms) override {
    if (exit_) return *exit_;
    ::kill(-pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Poll()) return *exit_;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(-pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    exit_ = FromWaitStatus(status);
    return *exit_;
  }

  int pid() const override { return pid_; }
  std::string handle() const override { return LocalHandle(pid_); }

 private:
  pid_t pid_;
  std::optional<ExitInfo> exit_;
};

// A trial an earlier coordinator launched on this host: watched and ended
// through its process group, since only its (dead) launcher could wait for it.
class AdoptedProcess : public TrialProcess {
 public:
  explicit AdoptedProcess(pid_t pgid) : pgid_(pgid) {}
  ~AdoptedProcess() override {
    if (!exit_) Kill(2000);
  }

  std::optional<ExitInfo> Poll() override {
    if (exit_) return exit_;
    const std::vector<pid_t> live = LiveGroupMembers(pgid_);
    if (live.empty()) {
      exit_ = ExitInfo{0, 0, true};
    } else if (std::find(live.begin(), live.end(), pgid_) == live.end()) {
      // mpirun is gone: no rank may outlive it.
      SignalGroupAndWait(pgid_, SIGKILL, 5000);
      exit_ = ExitInfo{0, 0, true};
    }
    return exit_;
  }

  ExitInfo Kill(int grace_ms) override {
    if (exit_) return *exit_;
    int sig = SIGTERM;
    if (!SignalGroupAndWait(pgid_, SIGTERM, grace_ms)) {
      sig = SIGKILL;
      SignalGroupAndWait(pgid_, SIGKILL, 5000);
    }
    exit_ = ExitInfo{0, sig, true};
    return *exit_;
  }

  int pid() const override { return pgid_; }
  std::string handle() const override { return LocalHandle(pgid_); }

 private:
  pid_t pgid_;
  std::optional<ExitInfo> exit_;
};

class LocalMpiLauncher : public TrialLauncher {
 public:
  explicit LocalMpiLauncher(std::string mpirun) : mpirun_(std::move(mpirun)) {}

  StatusOr<std::unique_ptr<TrialProcess>> Launch(const LaunchSpec& spec) override {
    std::vector<std::string> args = LocalMpiArgv(mpirun_, spec);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // The child's environment is built here: after fork only async-signal-safe
    // calls are allowed, and setenv is not one.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    if (::geteuid() == 0) {
      env_strings.emplace_back("OMPI_ALLOW_RUN_AS_ROOT=1");
      env_strings.emplace_back("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1");
    }
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    int log_fd = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return Status::Error(spec.log_path + ": cannot open trial log: " + std::strerror(errno));
    // A pipe that closes on exec tells the parent whether exec worked.
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
      ::close(log_fd);
      return Status::Error(std::string("pipe: ") + std::strerror(errno));
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(log_fd);
      ::close(report[0]);
      ::close(report[1]);
      return Status::Error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      ::setpgid(0, 0);  // own process group: Kill() reaches every rank
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
      ::execvpe(argv[0], argv.data(), envp.data());
      int err = errno;
      ssize_t ignored = ::write(report[1], &err, sizeof err);
      (void)ignored;
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    ::close(log_fd);
    ::close(report[1]);
    int err = 0;
    ssize_t n;
    while ((n = ::read(report[0], &err, sizeof err)) < 0 && errno == EINTR) {
    }
    ::close(report[0]);
    if (n == static_cast<ssize_t>(sizeof err)) {
      int status;
      ::waitpid(pid, &status, 0);
      return Status::Error("cannot run " + mpirun_ + ": " + std::strerror(err) +
                           " (install openmpi-bin or put mpirun on PATH)");
    }
    return std::unique_ptr<TrialProcess>(new LocalProcess(pid));
  }

  std::unique_ptr<TrialProcess> Adopt(const std::string& handle, const std::vector<std::string>& args) override {
    const std::string prefix = "local:" + HostName() + ":";
    if (handle.rfind(prefix, 0) != 0) return nullptr;  // another backend's, or another host's
    const std::string number = handle.substr(prefix.size());
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) return nullptr;
    const pid_t pgid = static_cast<pid_t>(std::stol(number));
    for (pid_t pid : LiveGroupMembers(pgid)) {
      if (CommandLineHas(pid, args)) return std::make_unique<AdoptedProcess>(pgid);
    }
    return nullptr;
  }

  std::string name() const override { return "local-mpirun"; }

 private:
  std::string mpirun_;
};

}  // namespace

std::unique_ptr<TrialLauncher> MakeLocalMpiLauncher(std::string mpirun) {
  return std::make_unique<LocalMpiLauncher>(std::move(mpirun));
}

}  // namespace polysweep
