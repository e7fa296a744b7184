// The CLI's text helpers beyond common/format.h (numbers, durations, tables).
#pragma once

#include <google/protobuf/map.h>

#include <string>
#include <vector>

#include "common/format.h"

namespace polysweep {

// Hyperparameters as "k=v k=v", sorted by name.
std::string ParamsText(const google::protobuf::Map<std::string, std::string>& hparams);


}  // namespace polysweep
