// The processes of a sweep's trials on this host, found in /proc by their
// command lines (mpirun's and every rank's name the worker with
// --sweep S --trial T --attempt A). For the journal checker.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace polysweep::check {

struct TrialProcess {
  pid_t pid = 0;
  uint64_t trial = 0;
  uint32_t attempt = 0;
  std::string command;  // its command line, arguments joined by spaces
};

// Live (not zombie) processes of `sweep`'s launched trials. Pull-mode
// agents name no trial and are not listed.
std::vector<TrialProcess> SweepProcesses(const std::string& sweep);

}  // namespace polysweep::check
