#include "coordinator/tpe.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/hash.h"
#include "coordinator/stateful_searcher.h"

namespace polysweep {
namespace {

constexpr int kMaxGood = 25;
constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kLogSqrt2Pi = 0.91893853320467274;

double Unit(std::mt19937_64& rng) { return UnitInterval(rng()); }

// A standard normal draw from raw engine output (Box-Muller), the same on
// every platform.
double Gaussian(std::mt19937_64& rng) {
  const double u1 = std::max(Unit(rng), 1e-300), u2 = Unit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double NormalCdf(double x) { return 0.5 * std::erfc(-x / kSqrt2); }

// A parameter in the scale TPE models it in: log for (q)loguniform; ints
// widened by half a step so each integer has an equal share.
struct Scale {
  double low = 0, high = 0;
  bool log = false;

  explicit Scale(const ParamSpec& p) {
    log = p.kind == ParamKind::kLogUniform || p.kind == ParamKind::kQLogUniform;
    low = log ? std::log(p.low) : p.kind == ParamKind::kInt ? p.low - 0.5 : p.low;
    high = log ? std::log(p.high) : p.kind == ParamKind::kInt ? p.high + 0.5 : p.high;
  }
  double To(double v) const { return log ? std::log(v) : v; }
  double Unit(double x) const { return std::clamp((x - low) / (high - low), 0.0, 1.0); }
};

// A mixture of normals truncated to [low, high]: one per observation, with
// a bandwidth from its neighbours, plus a prior over the whole range.
class Parzen {
 public:
  Parzen(std::vector<double> xs, const Scale& s) : low_(s.low), high_(s.high) {
    const double range = high_ - low_;
    std::sort(xs.begin(), xs.end());
    const double min_sigma = range / std::min(100.0, 1.0 + static_cast<double>(xs.size()));
    for (size_t i = 0; i < xs.size(); ++i) {
      const double left = i > 0 ? xs[i] - xs[i - 1] : xs[i] - low_;
      const double right = i + 1 < xs.size() ? xs[i + 1] - xs[i] : high_ - xs[i];
      mus_.push_back(xs[i]);
      sigmas_.push_back(std::clamp(std::max(left, right), min_sigma, range));
    }
    mus_.push_back((low_ + high_) / 2);  // the prior
    sigmas_.push_back(range);
  }

  double Sample(std::mt19937_64& rng) const {
    const size_t k = std::min(mus_.size() - 1, static_cast<size_t>(Unit(rng) * static_cast<double>(mus_.size())));
    for (int tries = 0; tries < 100; ++tries) {
      const double x = mus_[k] + sigmas_[k] * Gaussian(rng);
      if (x >= low_ && x <= high_) return x;
    }
    return low_ + Unit(rng) * (high_ - low_);
  }

  double LogPdf(double x) const {
    double sum = 0;
    for (size_t k = 0; k < mus_.size(); ++k) {
      const double z = (x - mus_[k]) / sigmas_[k];
      const double mass = NormalCdf((high_ - mus_[k]) / sigmas_[k]) - NormalCdf((low_ - mus_[k]) / sigmas_[k]);
      sum += std::exp(-0.5 * z * z - kLogSqrt2Pi) / (sigmas_[k] * std::max(mass, 1e-12));
    }
    return std::log(std::max(sum / static_cast<double>(mus_.size()), 1e-300));
  }

 private:
  double low_, high_;
  std::vector<double> mus_, sigmas_;
};

class TpeSearcher : public StatefulSearcher {
 public:
  TpeSearcher(const SearchConfig& c, std::string fingerprint, int max_trials)
      : StatefulSearcher(std::move(fingerprint), c.seed, max_trials), config_(c) {}

  std::string name() const override { return "tpe"; }

  void Observe(uint64_t trial, const ParamAssignment& params, double score) override {
    if (std::isnan(score)) return;  // no result: nothing to learn
    observed_[trial] = {params, score};
  }

  std::optional<ParamAssignment> Next() override {
    if (!Take()) return std::nullopt;
    if (static_cast<int>(observed_.size()) < config_.startup_trials) return SampleSpace(config_.space, rng_);
    ParamAssignment a;
    for (size_t i : config_.space.SamplingOrder()) {
      const ParamSpec& p = config_.space.params[i];
      if (IsActive(p, a)) a[p.name] = Suggest(p);
    }
    return a;
  }

 private:
  struct Observation {
    ParamAssignment params;
    double score = 0;
  };

  // The observations of `p` (trial order), split into good and bad.
  void Split(const ParamSpec& p, std::vector<ParamValue>* good, std::vector<ParamValue>* bad) const {
    std::vector<std::pair<double, const ParamValue*>> seen;
    for (const auto& [trial, o] : observed_) {
      auto it = o.params.find(p.name);
      if (it != o.params.end()) seen.push_back({o.score, &it->second});
    }
    // Best first; a stable sort keeps trial order among equal scores.
    std::stable_sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    const size_t n_good = std::min<size_t>(
        kMaxGood, static_cast<size_t>(std::ceil(config_.gamma * static_cast<double>(seen.size()))));
    for (size_t i = 0; i < seen.size(); ++i) (i < n_good ? good : bad)->push_back(*seen[i].second);
  }

  ParamValue Suggest(const ParamSpec& p) {
    std::vector<ParamValue> good, bad;
    Split(p, &good, &bad);
    if (good.empty()) return SampleParam(p, rng_);  // never active yet: its prior
    if (p.kind == ParamKind::kChoice) return SuggestChoice(p, good, bad);
    const Scale scale(p);
    std::vector<double> gx, bx;
    for (const auto& v : good) gx.push_back(scale.To(v.number));
    for (const auto& v : bad) bx.push_back(scale.To(v.number));
    const Parzen l(gx, scale), g(bx, scale);
    double best_x = 0, best_ratio = -HUGE_VAL;
    for (int c = 0; c < config_.candidates; ++c) {
      const double x = l.Sample(rng_);
      const double ratio = l.LogPdf(x) - g.LogPdf(x);
      if (ratio > best_ratio) best_ratio = ratio, best_x = x;
    }
    return FromUnit(p, scale.Unit(best_x));
  }

  ParamValue SuggestChoice(const ParamSpec& p, const std::vector<ParamValue>& good,
                           const std::vector<ParamValue>& bad) {
    // Counts smoothed by one per choice (the prior).
    auto weights = [&](const std::vector<ParamValue>& seen) {
      std::vector<double> w(p.choices.size(), 1.0);
      for (const auto& v : seen) {
        for (size_t i = 0; i < p.choices.size(); ++i) w[i] += p.choices[i] == v;
      }
      double total = 0;
      for (double x : w) total += x;
      for (double& x : w) x /= total;
      return w;
    };
    const std::vector<double> l = weights(good), g = weights(bad);
    size_t best = 0;
    double best_ratio = -HUGE_VAL;
    for (int c = 0; c < config_.candidates; ++c) {
      double u = Unit(rng_);
      size_t i = 0;
      while (i + 1 < l.size() && u >= l[i]) u -= l[i++];
      const double ratio = std::log(l[i]) - std::log(g[i]);
      if (ratio > best_ratio) best_ratio = ratio, best = i;
    }
    return p.choices[best];
  }

  SearchConfig config_;
  std::map<uint64_t, Observation> observed_;  // by trial: the order never depends on arrival
};

}  // namespace

std::unique_ptr<Searcher> MakeTpeSearcher(const SearchConfig& config, const std::string& fingerprint,
                                          int max_trials) {
  return std::make_unique<TpeSearcher>(config, fingerprint, max_trials);
}

}  // namespace polysweep
