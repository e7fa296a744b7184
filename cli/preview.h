// `polysweep preview CONFIG`: what a config would run, without running it:
// the trials the searcher issues (in order, with their hyperparameters) and
// the scheduler's rungs, with the most trials each rung can hold and the
// steps the sweep spends at most, against training every trial fully.
#pragma once

#include <string>

#include "common/config.h"
#include "common/status.h"

namespace polysweep {

StatusOr<std::string> RenderPreview(const SweepConfig& config);

}  // namespace polysweep
