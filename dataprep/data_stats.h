// `polysweep data stats`: what the shards hold and what the sampler will do
// with them: examples per language and split, token-length percentiles,
// label balance, and the language sampling probabilities of the config.
#pragma once

#include <string>

#include "common/config.h"
#include "common/status.h"

namespace polysweep {

// Reads the manifest and shards of `config.shard_dir`; returns the report as
// an aligned table, or as JSON when `json` is set.
StatusOr<std::string> DataStats(const DataConfig& config, bool json);

}  // namespace polysweep
