#include "command.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace polysweep::testing_util {

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string FreshDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "polysweep-" + name + "-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

CommandResult RunCommand(const std::string& command) {
  const std::string dir = FreshDir("cmd");
  const std::string out = dir + "/out", err = dir + "/err";
  int status = std::system((command + " >" + Quote(out) + " 2>" + Quote(err) + " </dev/null").c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::stringstream so, se;
  so << std::ifstream(out).rdbuf();
  se << std::ifstream(err).rdbuf();
  r.out = so.str();
  r.err = se.str();
  std::filesystem::remove_all(dir);
  return r;
}

}  // namespace polysweep::testing_util
