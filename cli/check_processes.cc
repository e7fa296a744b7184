#include "cli/check_processes.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/worker_command.h"

namespace polysweep::check {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Whether /proc/PID/stat says the process runs (not a zombie).
bool Running(const std::string& pid) {
  const std::string stat = ReadAll("/proc/" + pid + "/stat");
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z' && stat[paren + 2] != 'X';
}

}  // namespace

std::vector<TrialProcess> SweepProcesses(const std::string& sweep) {
  std::vector<TrialProcess> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = ReadAll("/proc/" + pid + "/cmdline");  // gone already: empty
    std::vector<std::string> args;
    for (size_t start = 0; start < cmdline.size();) {
      const size_t end = cmdline.find('\0', start);
      args.push_back(cmdline.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    bool worker = false, ours = false;
    TrialProcess p;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      worker |= a.size() >= 16 && a.compare(a.size() - 16, 16, "polysweep-worker") == 0;
      if (i + 1 >= args.size()) break;
      try {
        if (a == WorkerFlags::kSweep) ours = args[i + 1] == sweep;
        if (a == WorkerFlags::kTrial) p.trial = std::stoull(args[i + 1]);
        if (a == WorkerFlags::kAttempt) p.attempt = static_cast<uint32_t>(std::stoul(args[i + 1]));
      } catch (const std::exception&) {
      }
    }
    if (!worker || !ours || p.trial == 0 || !Running(pid)) continue;
    p.pid = static_cast<pid_t>(std::stol(pid));
    for (const auto& a : args) p.command += (p.command.empty() ? "" : " ") + a;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace polysweep::check
