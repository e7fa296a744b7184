#include "coordinator/searcher.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/hash.h"
#include "coordinator/stateful_searcher.h"
#include "coordinator/tpe.h"

namespace polysweep {
namespace {

double Unit(std::mt19937_64& rng) { return UnitInterval(rng()); }

// Sampled reals keep 4 significant digits: readable, and as good for search.
double Round4(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, 3 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}

class RandomSearcher : public StatefulSearcher {
 public:
  RandomSearcher(SearchSpace space, std::string fingerprint, uint64_t seed, int max_trials)
      : StatefulSearcher(std::move(fingerprint), seed, max_trials), space_(std::move(space)) {}

  std::optional<ParamAssignment> Next() override {
    if (!Take()) return std::nullopt;
    return SampleSpace(space_, rng_);
  }
  std::string name() const override { return "random"; }

 private:
  SearchSpace space_;
};

// Halton: coordinate d of point i is the radical inverse of i in the d-th
// prime, shifted by a per-dimension offset drawn from the seed (a
// Cranley-Patterson rotation), modulo 1.
class QuasiRandomSearcher : public StatefulSearcher {
 public:
  QuasiRandomSearcher(SearchSpace space, std::string fingerprint, uint64_t seed, int max_trials)
      : StatefulSearcher(std::move(fingerprint), seed, max_trials), space_(std::move(space)) {
    for (size_t d = 0; d < space_.params.size(); ++d) shift_.push_back(Unit(rng_));
  }

  std::optional<ParamAssignment> Next() override {
    if (!Take()) return std::nullopt;
    ++index_;
    ParamAssignment a;
    for (size_t d : space_.SamplingOrder()) {
      const ParamSpec& p = space_.params[d];
      if (!IsActive(p, a)) continue;
      const double u = std::fmod(RadicalInverse(index_, Prime(d)) + shift_[d], 1.0);
      a[p.name] = FromUnit(p, u);
    }
    return a;
  }
  std::string name() const override { return "quasirandom"; }

 private:
  nlohmann::json SaveExtra() const override { return {{"index", index_}}; }
  Status LoadExtra(const nlohmann::json& j) override {
    index_ = JsonInt<uint64_t>(j, "index");
    return Status::Ok();
  }
  static double RadicalInverse(uint64_t i, uint64_t base) {
    double inv = 1.0 / static_cast<double>(base), f = inv, r = 0;
    for (; i > 0; i /= base, f *= inv) r += static_cast<double>(i % base) * f;
    return r;
  }
  static uint64_t Prime(size_t d) {
    uint64_t n = 1;
    for (size_t found = 0; found <= d;) {
      ++n;
      bool prime = true;
      for (uint64_t k = 2; k * k <= n && prime; ++k) prime = n % k != 0;
      found += prime;
    }
    return n;
  }

  SearchSpace space_;
  std::vector<double> shift_;
  uint64_t index_ = 0;
};

class GridSearcher : public StatefulSearcher {
 public:
  GridSearcher(std::vector<std::string> names, std::vector<std::vector<ParamValue>> values,
               std::string fingerprint, int max_trials)
      : StatefulSearcher(std::move(fingerprint), 0, max_trials), names_(std::move(names)),
        values_(std::move(values)), index_(names_.size(), 0) {}

  std::optional<ParamAssignment> Next() override {
    if (done_ || !Take()) return std::nullopt;
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
  nlohmann::json SaveExtra() const override { return {{"index", index_}, {"done", done_}}; }
  Status LoadExtra(const nlohmann::json& j) override {
    index_.clear();
    for (const auto& i : j.at("index")) index_.push_back(JsonIntValue<size_t>(i, "index"));
    done_ = j.at("done").get<bool>();
    if (index_.size() != names_.size()) return Status::Error("the journaled grid position does not fit the grid");
    for (size_t i = 0; i < index_.size(); ++i) {
      if (index_[i] >= values_[i].size()) return Status::Error("the journaled grid position does not fit the grid");
    }
    return Status::Ok();
  }

  std::vector<std::string> names_;
  std::vector<std::vector<ParamValue>> values_;
  std::vector<size_t> index_;
  bool done_ = false;
};

}  // namespace

void Searcher::Observe(uint64_t, const ParamAssignment&, double) {}

ParamValue FromUnit(const ParamSpec& spec, double u) {
  switch (spec.kind) {
    case ParamKind::kChoice: {
      size_t i = static_cast<size_t>(u * static_cast<double>(spec.choices.size()));
      return spec.choices[std::min(i, spec.choices.size() - 1)];
    }
    case ParamKind::kUniform:
      return ParamValue::Number(std::clamp(Round4(spec.low + u * (spec.high - spec.low)), spec.low, spec.high));
    case ParamKind::kLogUniform: {
      double lo = std::log(spec.low), hi = std::log(spec.high);
      return ParamValue::Number(std::clamp(Round4(std::exp(lo + u * (hi - lo))), spec.low, spec.high));
    }
    case ParamKind::kQLogUniform: {
      double lo = std::log(spec.low), hi = std::log(spec.high);
      // The nearest multiple of q that lies within [low, high].
      const double first = std::ceil(spec.low / spec.q), last = std::floor(spec.high / spec.q);
      const double k = std::clamp(std::round(std::exp(lo + u * (hi - lo)) / spec.q), first, last);
      return ParamValue::Number(Round4(k * spec.q));
    }
    case ParamKind::kInt: {
      double span = spec.high - spec.low + 1;
      double v = spec.low + std::floor(u * span);
      return ParamValue::Number(std::min(v, spec.high));
    }
  }
  return ParamValue::Number(0);
}

ParamValue SampleParam(const ParamSpec& spec, std::mt19937_64& rng) { return FromUnit(spec, Unit(rng)); }

ParamAssignment SampleSpace(const SearchSpace& space, std::mt19937_64& rng) {
  ParamAssignment a;
  for (size_t i : space.SamplingOrder()) {
    const ParamSpec& p = space.params[i];
    if (IsActive(p, a)) a[p.name] = SampleParam(p, rng);
  }
  return a;
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
    case ParamKind::kLogUniform:
    case ParamKind::kQLogUniform: {
      if (spec.grid_points < 2) {
        return Status::Error("search.space." + spec.name + ": grid search needs `points: N`");
      }
      if (spec.kind == ParamKind::kQLogUniform) {
        // Log-spaced points, each the nearest multiple of q; repeats dropped.
        for (int i = 0; i < spec.grid_points; ++i) {
          ParamValue v = FromUnit(spec, static_cast<double>(i) / (spec.grid_points - 1));
          if (out.empty() || !(out.back() == v)) out.push_back(v);
        }
        return out;
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

std::string SearchFingerprint(const SearchConfig& c, int max_trials) {
  std::ostringstream s;
  s.precision(17);
  s << SearchAlgorithmName(c.algorithm) << ' ' << c.seed << ' ' << max_trials << ' ' << c.startup_trials << ' '
    << c.candidates << ' ' << c.gamma;
  for (const ParamSpec& p : c.space.params) {
    s << '|' << p.name << ' ' << ParamKindName(p.kind) << ' ' << p.low << ' ' << p.high << ' ' << p.q << ' '
      << p.grid_points << ' ' << p.when_param;
    for (const auto& v : p.choices) s << " c" << v.ToString();
    for (const auto& v : p.when_values) s << " w" << v.ToString();
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(Fnv1a64(s.str())));
  return hex;
}

StatusOr<std::unique_ptr<Searcher>> MakeSearcher(const SearchConfig& config, int max_trials) {
  std::string fingerprint = SearchFingerprint(config, max_trials);
  switch (config.algorithm) {
    case SearchAlgorithm::kRandom:
      return std::unique_ptr<Searcher>(new RandomSearcher(config.space, fingerprint, config.seed, max_trials));
    case SearchAlgorithm::kQuasiRandom:
      return std::unique_ptr<Searcher>(new QuasiRandomSearcher(config.space, fingerprint, config.seed, max_trials));
    case SearchAlgorithm::kTpe:
      return MakeTpeSearcher(config, fingerprint, max_trials);
    case SearchAlgorithm::kGrid:
      break;
  }
  std::vector<std::string> names;
  std::vector<std::vector<ParamValue>> values;
  for (const ParamSpec& p : config.space.params) {
    auto v = GridValues(p);
    if (!v.ok()) return v.status();
    names.push_back(p.name);
    values.push_back(std::move(*v));
  }
  return std::unique_ptr<Searcher>(new GridSearcher(std::move(names), std::move(values), fingerprint, max_trials));
}

}  // namespace polysweep
