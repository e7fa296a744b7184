// Runs a command line for a test and captures what it printed.
#pragma once

#include <string>

namespace polysweep::testing_util {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` with /bin/sh; stdout and stderr are captured separately.
CommandResult RunCommand(const std::string& command);

// A fresh empty directory under the test temp dir.
std::string FreshDir(const std::string& name);

// Single-quotes `s` for /bin/sh.
std::string Quote(const std::string& s);

}  // namespace polysweep::testing_util
