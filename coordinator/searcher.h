// Searchers turn a search space into trial hyperparameters. A searcher is
// deterministic given its config (seed included): the same config issues the
// same trials in the same order.
#pragma once

#include <memory>
#include <optional>
#include <random>

#include "common/config.h"
#include "common/search_space.h"
#include "common/status.h"

namespace polysweep {

class Searcher {
 public:
  virtual ~Searcher() = default;
  // The next trial's hyperparameters, or nullopt when the searcher is done.
  virtual std::optional<ParamAssignment> Next() = 0;
  virtual std::string name() const = 0;
};

// Draws one value of `spec` from `rng`, using only the raw 64-bit output of
// the engine so the draw is the same on every platform.
ParamValue SampleParam(const ParamSpec& spec, std::mt19937_64& rng);

// The values a grid search visits for `spec`.
StatusOr<std::vector<ParamValue>> GridValues(const ParamSpec& spec);

// Grid stops after the last grid point or `max_trials`; random after `max_trials`.
StatusOr<std::unique_ptr<Searcher>> MakeSearcher(const SearchConfig& config, int max_trials);

}  // namespace polysweep
