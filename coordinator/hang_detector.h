// When the coordinator gives up on an attempt: a rank whose work counter has
// not moved for trial.hang_timeout_seconds (before its first step,
// trial.start_timeout_seconds: it loads data and the model), ranks that
// never connected within the start timeout, or a command not acted on
// within the hang timeout. A pure function of the trial and the time, so it
// is tested with any clock.
#pragma once

#include <string>

#include "coordinator/trial.h"

namespace polysweep {

struct HangLimits {
  double hang_timeout_seconds = 120;
  double start_timeout_seconds = 300;
  int ranks = 1;  // ranks each attempt should have
};

// Why the attempt of `trial` (launched, its processes started) is to be
// ended at `now`, naming the rank, its host, pid and step; "" when it is not.
std::string FindStall(const Trial& trial, const HangLimits& limits, double now);

}  // namespace polysweep
