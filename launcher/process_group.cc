#include "launcher/process_group.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <sstream>
#include <thread>

namespace polysweep {
namespace {

// A /proc file of `pid`, or nothing once the process is gone. With plain
// reads: a process that exits between the open and the read fails the read
// (ESRCH), which a std::ifstream turns into an exception.
std::optional<std::string> ReadProcFile(pid_t pid, const char* name) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) return std::nullopt;
  return text;
}

// From /proc/PID/stat: the state letter, the process group and the session.
bool ReadStat(pid_t pid, char* state, pid_t* pgrp, pid_t* session) {
  const std::optional<std::string> stat = ReadProcFile(pid, "stat");
  if (!stat) return false;
  const std::string& text = *stat;
  // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses.
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return false;
  long ppid = 0, group = 0, sid = 0;
  if (std::sscanf(text.c_str() + paren + 2, "%c %ld %ld %ld", state, &ppid, &group, &sid) != 4) return false;
  *pgrp = static_cast<pid_t>(group);
  *session = static_cast<pid_t>(sid);
  return true;
}

// Waits up to `wait_ms` for `leader` to have no live member, calling
// `again` on each pass while some are left.
template <typename Again>
bool WaitForNoMembers(pid_t leader, int wait_ms, Again again) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (std::vector<pid_t> live = LiveMembers(leader); !live.empty(); live = LiveMembers(leader)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    again(live);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace

std::vector<pid_t> LiveMembers(pid_t leader) {
  std::vector<pid_t> members;
  if (leader <= 1) return members;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    char state = 0;
    pid_t group = 0, session = 0;
    if (!ReadStat(pid, &state, &group, &session) || (group != leader && session != leader)) continue;
    if (state == 'Z' || state == 'X' || state == 'x') continue;
    members.push_back(pid);
  }
  return members;
}

bool CommandLineHas(pid_t pid, const std::vector<std::string>& args) {
  const std::optional<std::string> cmdline = ReadProcFile(pid, "cmdline");
  if (!cmdline) return false;
  std::vector<std::string> argv;
  std::istringstream in(*cmdline);
  for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
  if (args.empty()) return true;
  for (size_t i = 0; i + args.size() <= argv.size(); ++i) {
    if (std::equal(args.begin(), args.end(), argv.begin() + static_cast<std::ptrdiff_t>(i))) return true;
  }
  return false;
}

bool SignalGroupAndWait(pid_t leader, int sig, int wait_ms) {
  if (leader <= 1) return true;
  ::kill(-leader, sig);
  return WaitForNoMembers(leader, wait_ms, [](const std::vector<pid_t>&) {});
}

bool KillMembersAndWait(pid_t leader, int wait_ms) {
  if (leader <= 1) return true;
  ::kill(-leader, SIGKILL);
  // Each pass signals what is live now: a member forked since the last scan
  // (a launcher starting one more rank) is killed too.
  return WaitForNoMembers(leader, wait_ms, [](const std::vector<pid_t>& live) {
    for (pid_t pid : live) ::kill(pid, SIGKILL);
  });
}

}  // namespace polysweep
