// Searchers turn a search space into trial hyperparameters. A searcher is
// deterministic given its config (seed included) and the results it was
// shown: the same config issues the same trials in the same order.
//
//   grid         the cartesian product, last parameter fastest
//   random       independent draws
//   quasirandom  a randomly shifted Halton sequence: covers the space more
//                evenly than random draws for the same number of trials
//   tpe          Tree-structured Parzen Estimator (coordinator/tpe.h): after
//                `startup_trials` random trials, each parameter is drawn where
//                the density of good results is high relative to the bad
//
// Conditional parameters (`when:`) are drawn only when their parent took one
// of the listed values, parents first.
#pragma once

#include <memory>
#include <optional>
#include <random>
#include <string>

#include "common/config.h"
#include "coordinator/search_algorithms.h"
#include "common/search_space.h"
#include "common/status.h"

namespace polysweep {

class Searcher {
 public:
  virtual ~Searcher() = default;
  // The next trial's hyperparameters, or nullopt when the searcher is done.
  virtual std::optional<ParamAssignment> Next() = 0;
  // A finished trial's result: higher is better, NaN when it has none.
  // Searchers that learn from results use it; once per trial, any order.
  virtual void Observe(uint64_t trial, const ParamAssignment& params, double score);
  // Everything Next() depends on except the observations (the RNG, the
  // position, the count issued), with a fingerprint of the search config, so
  // a restarted coordinator continues exactly where this one was.
  virtual std::string SaveState() const = 0;
  // Refuses a state saved under another search config.
  virtual Status LoadState(const std::string& state) = 0;
  virtual std::string name() const = 0;
};

// The unit interval's point `u` mapped onto `spec`'s values, as every
// searcher draws: reals to 4 significant digits, ints and multiples of q
// rounded, choices by index.
ParamValue FromUnit(const ParamSpec& spec, double u);

// Draws one value of `spec` from `rng`, using only the raw 64-bit output of
// the engine so the draw is the same on every platform.
ParamValue SampleParam(const ParamSpec& spec, std::mt19937_64& rng);

// One independent draw of every active parameter, parents first.
ParamAssignment SampleSpace(const SearchSpace& space, std::mt19937_64& rng);

// The values a grid search visits for `spec`.
StatusOr<std::vector<ParamValue>> GridValues(const ParamSpec& spec);

// Stops after `max_trials` (grid also after its last point).
StatusOr<std::unique_ptr<Searcher>> MakeSearcher(const SearchConfig& config, int max_trials);

// A digest of everything that decides the trials a config issues.
std::string SearchFingerprint(const SearchConfig& config, int max_trials);

}  // namespace polysweep
