#include "coordinator/searcher.h"

#include <algorithm>
#include <cmath>

#include "common/hash.h"

namespace polysweep {
namespace {

double Unit(std::mt19937_64& rng) { return UnitInterval(rng()); }

// Sampled reals keep 4 significant digits: readable, and as good for search.
double Round4(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, 3 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}

class RandomSearcher : public Searcher {
 public:
  RandomSearcher(SearchSpace space, uint64_t seed, int max_trials)
      : space_(std::move(space)), rng_(seed), left_(max_trials) {}

  std::optional<ParamAssignment> Next() override {
    if (left_ <= 0) return std::nullopt;
    --left_;
    ParamAssignment a;
    for (const ParamSpec& p : space_.params) a[p.name] = SampleParam(p, rng_);
    return a;
  }
  std::string name() const override { return "random"; }

 private:
  SearchSpace space_;
  std::mt19937_64 rng_;
  int left_;
};

class GridSearcher : public Searcher {
 public:
  GridSearcher(std::vector<std::string> names, std::vector<std::vector<ParamValue>> values,
               int max_trials)
      : names_(std::move(names)), values_(std::move(values)), index_(names_.size(), 0),
        left_(max_trials) {}

  std::optional<ParamAssignment> Next() override {
    if (left_ <= 0 || done_) return std::nullopt;
    --left_;
    ParamAssignment a;
    for (size_t i = 0; i < names_.size(); ++i) a[names_[i]] = values_[i][index_[i]];
    // Odometer: the last parameter varies fastest.
    size_t i = names_.size();
    while (i > 0) {
      --i;
      if (++index_[i] < values_[i].size()) break;
      index_[i] = 0;
      if (i == 0) done_ = true;
    }
    if (names_.empty()) done_ = true;
    return a;
  }
  std::string name() const override { return "grid"; }

 private:
  std::vector<std::string> names_;
  std::vector<std::vector<ParamValue>> values_;
  std::vector<size_t> index_;
  int left_;
  bool done_ = false;
};

}  // namespace

ParamValue SampleParam(const ParamSpec& spec, std::mt19937_64& rng) {
  switch (spec.kind) {
    case ParamKind::kChoice: {
      size_t i = static_cast<size_t>(Unit(rng) * static_cast<double>(spec.choices.size()));
      return spec.choices[std::min(i, spec.choices.size() - 1)];
    }
    case ParamKind::kUniform:
      return ParamValue::Number(std::clamp(Round4(spec.low + Unit(rng) * (spec.high - spec.low)), spec.low, spec.high));
    case ParamKind::kLogUniform: {
      double lo = std::log(spec.low), hi = std::log(spec.high);
      return ParamValue::Number(std::clamp(Round4(std::exp(lo + Unit(rng) * (hi - lo))), spec.low, spec.high));
    }
    case ParamKind::kInt: {
      double span = spec.high - spec.low + 1;
      double v = spec.low + std::floor(Unit(rng) * span);
      return ParamValue::Number(std::min(v, spec.high));
    }
  }
  return ParamValue::Number(0);
}

StatusOr<std::vector<ParamValue>> GridValues(const ParamSpec& spec) {
  std::vector<ParamValue> out;
  switch (spec.kind) {
    case ParamKind::kChoice:
      return spec.choices;
    case ParamKind::kInt:
      if (spec.high - spec.low >= 1000) {
        return Status::Error("search.space." + spec.name + ": int range too wide for a grid (>1000 points)");
      }
      for (double v = spec.low; v <= spec.high; v += 1) out.push_back(ParamValue::Number(v));
      return out;
    case ParamKind::kUniform:
    case ParamKind::kLogUniform: {
      if (spec.grid_points < 2) {
        return Status::Error("search.space." + spec.name + ": grid search needs `points: N`");
      }
      const bool log = spec.kind == ParamKind::kLogUniform;
      double lo = log ? std::log(spec.low) : spec.low, hi = log ? std::log(spec.high) : spec.high;
      // Endpoints exactly as configured; interior points to 4 significant
      // digits, like random draws (0.1, not 0.09999999999999999).
      for (int i = 0; i < spec.grid_points; ++i) {
        double x = lo + (hi - lo) * i / (spec.grid_points - 1);
        double v = i == 0 ? spec.low : i == spec.grid_points - 1 ? spec.high : Round4(log ? std::exp(x) : x);
        out.push_back(ParamValue::Number(v));
      }
      return out;
    }
  }
  return out;
}

StatusOr<std::unique_ptr<Searcher>> MakeSearcher(const SearchConfig& config, int max_trials) {
  if (config.algorithm == SearchAlgorithm::kRandom) {
    return std::unique_ptr<Searcher>(new RandomSearcher(config.space, config.seed, max_trials));
  }
  std::vector<std::string> names;
  std::vector<std::vector<ParamValue>> values;
  for (const ParamSpec& p : config.space.params) {
    auto v = GridValues(p);
    if (!v.ok()) return v.status();
    names.push_back(p.name);
    values.push_back(std::move(*v));
  }
  return std::unique_ptr<Searcher>(new GridSearcher(std::move(names), std::move(values), max_trials));
}

}  // namespace polysweep
