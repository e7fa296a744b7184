// Process groups seen through /proc: how a restarted coordinator finds the
// trials its predecessor launched (each mpirun leads its own group) and
// watches or ends them without being their parent.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace polysweep {

// Live members of process group `pgid` (zombies and exiting processes do not count).
std::vector<pid_t> LiveGroupMembers(pid_t pgid);

// Whether `pid`'s argument list holds `args` as consecutive arguments.
bool CommandLineHas(pid_t pid, const std::vector<std::string>& args);

// Sends `sig` to the group, waits up to `wait_ms` for it to have no live member.
bool SignalGroupAndWait(pid_t pgid, int sig, int wait_ms);

}  // namespace polysweep
