// The Tree-structured Parzen Estimator searcher (Bergstra et al., 2011), as
// Optuna's default sampler does it: independent per parameter. After
// `startup_trials` observed results, the observations of a parameter (from
// the trials in which it was active) are split by score into the best
// gamma·n (at most 25) and the rest; each set becomes a Parzen density (a
// mixture of truncated normals in the parameter's own scale, log for
// loguniform, plus a wide prior component; smoothed counts for a choice).
// `candidates` values are drawn from the good density and the one with the
// largest good/bad density ratio is taken. Conditional parameters learn from
// the trials where they were active. Observations are kept in trial order, so
// what TPE proposes depends on the set of results, not on when they arrived.
#pragma once

#include <memory>
#include <string>

#include "coordinator/searcher.h"

namespace polysweep {

std::unique_ptr<Searcher> MakeTpeSearcher(const SearchConfig& config, const std::string& fingerprint,
                                          int max_trials);

}  // namespace polysweep
