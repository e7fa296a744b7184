#include "launcher/group_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "launcher/process_group.h"

extern char** environ;

namespace polysweep {

namespace {

ExitInfo FromWaitStatus(int status) {
  ExitInfo info;
  if (WIFSIGNALED(status)) info.signal = WTERMSIG(status);
  else if (WIFEXITED(status)) info.exit_code = WEXITSTATUS(status);
  return info;
}

}  // namespace

std::string HostName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

std::optional<pid_t> GroupFromHandle(const std::string& handle, const std::string& prefix, std::string* rest) {
  const std::string head = prefix + ":" + HostName() + ":";
  if (handle.rfind(head, 0) != 0) return std::nullopt;  // another backend's, or another host's
  std::string number = handle.substr(head.size());
  const size_t colon = number.find(':');
  if (rest) *rest = colon == std::string::npos ? "" : number.substr(colon + 1);
  number = number.substr(0, colon);
  if (number.empty() || number.size() > 9 || number.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return static_cast<pid_t>(std::stol(number));
}

StatusOr<pid_t> SpawnGroupLeader(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                                 const std::string& log_path, const std::string& install_hint) {
  std::vector<std::string> arg_strings = args;
  std::vector<char*> argv;
  for (auto& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The child's environment is built here: after fork only async-signal-safe
  // calls are allowed, and setenv is not one.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::Error(log_path + ": cannot open trial log: " + std::strerror(errno));
  // A pipe that closes on exec tells the parent whether exec worked.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return Status::Error(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(report[0]);
    ::close(report[1]);
    return Status::Error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // A session of its own: every process the launcher starts stays in it,
    // even one that moves to a process group of its own (Open MPI's ranks).
    ::setsid();
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execvpe(argv[0], argv.data(), envp.data());
    const int err = errno;
    ssize_t ignored = ::write(report[1], &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  }
  // No setpgid(pid, pid) here: it would make the child a group leader before
  // its setsid(), which then fails. The exec report below waits until the
  // child has run setsid() anyway.
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
    return Status::Error("cannot run " + args[0] + ": " + std::strerror(err) + " (" + install_hint + ")");
  }
  return pid;
}

GroupProcess::~GroupProcess() {
  if (!exit_) Kill(2000);
}

std::optional<ExitInfo> GroupProcess::Poll() {
  if (exit_) return exit_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_ = FromWaitStatus(status);
    // The leader is gone; make sure nothing of its session outlives it, and
    // wait (bounded) until it is empty before anyone starts a new attempt.
    KillMembersAndWait(pid_, 5000);
  }
  return exit_;
}

ExitInfo GroupProcess::Kill(int grace_ms) {
  if (exit_) return *exit_;
  ::kill(-pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Poll()) return *exit_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Every member, not only the leader's group: a rank that was stopped
  // (SIGSTOP, a debugger) and outlived its launcher is ended here too, before
  // the caller records the attempt as over.
  KillMembersAndWait(pid_, 5000);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_ = FromWaitStatus(status);
  return *exit_;
}

AdoptedGroupProcess::~AdoptedGroupProcess() {
  if (!exit_) Kill(2000);
}

std::optional<ExitInfo> AdoptedGroupProcess::Poll() {
  if (exit_) return exit_;
  const std::vector<pid_t> live = LiveMembers(pgid_);
  if (live.empty()) {
    exit_ = ExitInfo::Adopted();
  } else if (std::find(live.begin(), live.end(), pgid_) == live.end()) {
    // The leader is gone: nothing of its session may outlive it.
    KillMembersAndWait(pgid_, 5000);
    exit_ = ExitInfo::Adopted();
  }
  return exit_;
}

ExitInfo AdoptedGroupProcess::Kill(int grace_ms) {
  if (exit_) return *exit_;
  int sig = SIGTERM;
  if (!SignalGroupAndWait(pgid_, SIGTERM, grace_ms)) {
    sig = SIGKILL;
    KillMembersAndWait(pgid_, 5000);
  }
  exit_ = ExitInfo::Adopted(sig);
  return *exit_;
}

std::unique_ptr<TrialProcess> AdoptGroup(const std::string& handle, const std::string& prefix,
                                         const std::vector<std::string>& args) {
  const auto pgid = GroupFromHandle(handle, prefix);
  if (!pgid) return nullptr;
  for (pid_t pid : LiveMembers(*pgid)) {
    if (CommandLineHas(pid, args)) return std::make_unique<AdoptedGroupProcess>(*pgid, handle);
  }
  return nullptr;
}

}  // namespace polysweep
