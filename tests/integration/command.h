// Runs a command line for a test and captures what it printed.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace polysweep::testing_util {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` with /bin/sh; stdout and stderr are captured separately.
CommandResult RunCommand(const std::string& command);

// Starts `args` in the background with stdout and stderr to `log_path`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path);

// Waits up to `seconds` for `pid`; returns its exit code, or -1 on timeout
// (after killing it).
int WaitFor(pid_t pid, int seconds);

// A fresh empty directory under the test temp dir.
std::string FreshDir(const std::string& name);

// The whole of the file at `path` ("" when it cannot be read).
std::string ReadText(const std::string& path);

// The head every small test sweep shares: its name and output directory, a
// slice of the dataset `data` (120 examples a language, a 2,000-piece
// tokenizer) and a one-layer encoder; the test adds trial, search, budget.
std::string TinySweepHead(const std::string& name, const std::string& output_dir, const std::string& data);

// Single-quotes `s` for /bin/sh.
std::string Quote(const std::string& s);

}  // namespace polysweep::testing_util
