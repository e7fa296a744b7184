#include "coordinator/hang_detector.h"

#include <cstdio>

namespace polysweep {

std::string FindStall(const Trial& t, const HangLimits& limits, double now) {
  const double limit = limits.hang_timeout_seconds;
  const double start_limit = limits.start_timeout_seconds;
  if (static_cast<int>(t.ranks.size()) < limits.ranks && now - t.launched_at > start_limit) {
    return std::to_string(limits.ranks - static_cast<int>(t.ranks.size())) + " rank(s) never connected within " +
           std::to_string(static_cast<int>(start_limit)) + " s";
  }
  if (t.command.pending() && now - t.command.at > limit) {
    return "the trial did not act on its " + std::string(t.command.command == wire::COMMAND_STOP ? "stop" : "pause") +
           " command within " + std::to_string(static_cast<int>(limit)) + " s";
  }
  for (const auto& [rank, r] : t.ranks) {
    // Before its first step a rank loads data and the model: it is judged
    // against the start timeout, afterwards against the hang timeout.
    const double allowed = r.work == 0 ? start_limit : limit;
    if (now - r.last_change <= allowed) continue;
    char buf[256];
    std::snprintf(buf, sizeof buf, "hang: rank %d/%d on host %s (pid %d) made no progress for %.1f s at step %lld",
                  rank, limits.ranks, r.host.c_str(), r.pid, now - r.last_change, static_cast<long long>(r.step));
    return buf;
  }
  return "";
}

}  // namespace polysweep
