// Short external commands the launchers run and read (squeue, scontrol,
// scancel, sbatch): run without a shell, output captured, time bounded.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace polysweep {

struct CommandOutput {
  int exit_code = -1;  // 128 + signal when a signal ended it
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs `argv` (argv[0] looked up on PATH) and waits up to `timeout_ms`; a
// command still running then is killed. An error only when it could not be
// started or timed out; a non-zero exit is the caller's to judge.
StatusOr<CommandOutput> RunCommand(const std::vector<std::string>& argv, int timeout_ms = 30000);

// Whether `program` names an executable file, directly or on PATH.
bool OnPath(const std::string& program);

// `s` single-quoted for /bin/sh.
std::string ShellQuote(const std::string& s);

}  // namespace polysweep
