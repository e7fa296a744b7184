// The search algorithms coordinator/searcher.cc implements, by the name
// `search.algorithm` gives them. The config parser accepts these names and
// no others (cli/config_names.h hands it this table); MakeSearcher makes
// each. Header-only, so a parser that does not link the coordinator (the
// config fuzzer) reads the same table.
#pragma once

#include <vector>

#include "common/config.h"

namespace polysweep {

inline const std::vector<KindName<SearchAlgorithm>>& SearchAlgorithms() {
  static const std::vector<KindName<SearchAlgorithm>> names = {
      {"grid", SearchAlgorithm::kGrid},
      {"random", SearchAlgorithm::kRandom},
      {"quasirandom", SearchAlgorithm::kQuasiRandom},
      {"tpe", SearchAlgorithm::kTpe},
  };
  return names;
}

inline const char* SearchAlgorithmName(SearchAlgorithm algorithm) { return NameOf(SearchAlgorithms(), algorithm); }

}  // namespace polysweep
