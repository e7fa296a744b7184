// Builders of search spaces for the searcher tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/config.h"

namespace polysweep::testing_util {

inline ParamSpec Choice(const std::string& name, std::vector<double> values) {
  ParamSpec p;
  p.name = name;
  p.kind = ParamKind::kChoice;
  for (double v : values) p.choices.push_back(ParamValue::Number(v));
  return p;
}

inline ParamSpec Range(const std::string& name, ParamKind kind, double low, double high, int points = 0) {
  ParamSpec p;
  p.name = name;
  p.kind = kind;
  p.low = low;
  p.high = high;
  p.grid_points = points;
  return p;
}

inline SearchConfig Config(SearchAlgorithm algorithm, std::vector<ParamSpec> params, uint64_t seed = 0) {
  SearchConfig c;
  c.algorithm = algorithm;
  c.seed = seed;
  c.space.params = std::move(params);
  return c;
}

}  // namespace polysweep::testing_util
