// The process table, for tests that kill things and check nothing is left.
#pragma once

#include <sys/types.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"

namespace polysweep::testing_util {

// Whether `pid` is a live process: a zombie waiting for its reaper is dead.
inline bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return false;
  const char state = text[paren + 2];
  return state != 'Z' && state != 'X';
}

// The ranks of a sweep: processes whose command line starts with the worker
// binary (mpirun's own command line also names it, later).
// `attempt` > 0: only that attempt's ranks (a killed attempt's other rank
// may still be on its way out while the next one runs).
inline std::vector<pid_t> RankPids(const std::string& sweep, int attempt = 0) {
  const std::string of_attempt = attempt > 0 ? "--trial [0-9]+ --attempt " + std::to_string(attempt) + "( |$)" : "";
  auto r = RunCommand("pgrep -f " + Quote("^[^ ]*polysweep-worker --coordinator .* --sweep " + sweep + " " + of_attempt));
  std::vector<pid_t> pids;
  std::istringstream in(r.out);
  for (pid_t p; in >> p;) pids.push_back(p);
  return pids;
}

// Every process of a sweep's trials: its mpiruns and its ranks.
inline std::vector<pid_t> TrialProcesses(const std::string& sweep) {
  // "[p]" keeps the pattern from matching the shell that runs pgrep.
  auto r = RunCommand("pgrep -f " + Quote("[p]olysweep-worker --coordinator .* --sweep " + sweep + " "));
  std::vector<pid_t> pids;
  std::istringstream in(r.out);
  for (pid_t p; in >> p;) {
    if (Alive(p)) pids.push_back(p);
  }
  return pids;
}

// "pid: command line" of each of `pids`, for failure messages.
inline std::string DescribeProcesses(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t p : pids) {
    std::ifstream f("/proc/" + std::to_string(p) + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    for (char& c : cmd) c = c == '\0' ? ' ' : c;
    out += std::to_string(p) + ": " + cmd + "\n";
  }
  return out;
}

}  // namespace polysweep::testing_util
