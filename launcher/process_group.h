// A trial's processes seen through /proc: how a coordinator makes sure nothing
// of a trial outlives it, and how a restarted coordinator finds the trials its
// predecessor launched and watches or ends them without being their parent.
//
// A trial's launcher (mpirun, srun) leads a session of its own. Its process
// group alone is not the trial: Open MPI 4 moves each local rank into a
// process group of its own (so that a SIGSTOP reaches only that rank), but a
// process cannot leave its session without starting one, which ranks do not.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace polysweep {

// Live processes of the process group or the session that `leader` leads
// (zombies and exiting processes do not count).
std::vector<pid_t> LiveMembers(pid_t leader);

// Whether `pid`'s argument list holds `args` as consecutive arguments.
bool CommandLineHas(pid_t pid, const std::vector<std::string>& args);

// Sends `sig` to `leader`'s process group (the launcher ends its ranks its
// own way) and waits up to `wait_ms` for no live member to be left.
bool SignalGroupAndWait(pid_t leader, int sig, int wait_ms);

// Sends SIGKILL to every live member, again while any is left, and waits up
// to `wait_ms` for none to be left.
bool KillMembersAndWait(pid_t leader, int wait_ms);

}  // namespace polysweep
