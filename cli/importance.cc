#include "cli/importance.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

namespace polysweep {
namespace {

constexpr size_t kMaxGroups = 4;

bool AsNumber(const std::string& s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(*out);
}

// Each trial's group for parameter `name`: its value, or its quartile when
// the parameter is numeric with more than kMaxGroups distinct values. -1:
// the trial does not have it (a conditional parameter).
std::vector<int> Groups(const std::vector<ScoredTrial>& trials, const std::string& name) {
  std::vector<std::string> values;
  for (const ScoredTrial& t : trials) {
    auto it = t.params.find(name);
    values.push_back(it == t.params.end() ? std::string() : it->second);
  }
  std::set<std::string> distinct(values.begin(), values.end());
  distinct.erase(std::string());
  bool numeric = true;
  for (const std::string& v : distinct) {
    double x = 0;
    numeric = numeric && AsNumber(v, &x);
  }
  std::vector<int> group(trials.size(), -1);
  if (!numeric || distinct.size() <= kMaxGroups) {
    const std::vector<std::string> order(distinct.begin(), distinct.end());
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i].empty()) continue;
      group[i] = static_cast<int>(std::lower_bound(order.begin(), order.end(), values[i]) - order.begin());
    }
    return group;
  }
  // Quartiles by rank: the k-th quarter of the trials that have the parameter.
  std::vector<std::pair<double, size_t>> ranked;
  for (size_t i = 0; i < values.size(); ++i) {
    double x = 0;
    if (!values[i].empty() && AsNumber(values[i], &x)) ranked.push_back({x, i});
  }
  std::sort(ranked.begin(), ranked.end());
  for (size_t r = 0; r < ranked.size(); ++r) group[ranked[r].second] = static_cast<int>(r * kMaxGroups / ranked.size());
  return group;
}

// The main-effects (additive) ANOVA model of the objective: for each
// parameter, an effect per group, fitted by backfitting (each parameter's
// effects the mean of what the others leave, repeated until they settle).
// A trial without a parameter (conditional) gets no effect from it.
struct Additive {
  std::vector<std::vector<double>> effects;  // [param][group]
  double residual_variance = 0;              // per degree of freedom left
};

Additive FitAdditive(const std::vector<ScoredTrial>& trials, const std::vector<std::vector<int>>& groups) {
  const size_t n = trials.size(), params = groups.size();
  double mean = 0;
  for (const ScoredTrial& t : trials) mean += t.objective / static_cast<double>(n);
  Additive a;
  std::vector<double> fitted(n, mean);  // mean + every effect
  double dof = static_cast<double>(n) - 1;
  for (const auto& g : groups) {
    a.effects.emplace_back(static_cast<size_t>(std::max(0, *std::max_element(g.begin(), g.end()) + 1)), 0.0);
    dof -= std::max<double>(0, static_cast<double>(a.effects.back().size()) - 1);
  }
  for (int sweep = 0; sweep < 50; ++sweep) {
    for (size_t p = 0; p < params; ++p) {
      std::vector<double> sum(a.effects[p].size(), 0), count(a.effects[p].size(), 0);
      for (size_t i = 0; i < n; ++i) {
        const int g = groups[p][i];
        if (g < 0) continue;
        const double without = fitted[i] - a.effects[p][static_cast<size_t>(g)];
        sum[static_cast<size_t>(g)] += trials[i].objective - without;
        count[static_cast<size_t>(g)] += 1;
      }
      for (size_t i = 0; i < n; ++i) {
        const int g = groups[p][i];
        if (g < 0) continue;
        const double updated = sum[static_cast<size_t>(g)] / count[static_cast<size_t>(g)];
        fitted[i] += updated - a.effects[p][static_cast<size_t>(g)];
      }
      for (size_t g = 0; g < sum.size(); ++g) {
        if (count[g] > 0) a.effects[p][g] = sum[g] / count[g];
      }
    }
  }
  double ss_res = 0;
  for (size_t i = 0; i < n; ++i) ss_res += std::pow(trials[i].objective - fitted[i], 2);
  a.residual_variance = dof > 0 ? ss_res / dof : 0;
  return a;
}

}  // namespace

std::vector<ParamImportance> HyperparameterImportance(const std::vector<ScoredTrial>& trials) {
  std::vector<ParamImportance> out;
  if (trials.size() < 4) return out;
  std::set<std::string> names;
  for (const ScoredTrial& t : trials) {
    for (const auto& [name, value] : t.params) names.insert(name);
  }
  std::vector<std::vector<int>> groups;
  for (const std::string& name : names) groups.push_back(Groups(trials, name));
  const Additive model = FitAdditive(trials, groups);
  // Each parameter's share: the variance its effects explain over the
  // trials, less what noise alone would explain with as many groups.
  double sum = 0;
  size_t p = 0;
  for (const std::string& name : names) {
    double sum_effect = 0, sum_square = 0, have = 0;
    for (size_t i = 0; i < trials.size(); ++i) {
      if (groups[p][i] < 0) continue;
      const double e = model.effects[p][static_cast<size_t>(groups[p][i])];
      sum_effect += e;
      sum_square += e * e;
      have += 1;
    }
    const double explained = have > 0 ? sum_square - sum_effect * sum_effect / have : 0;
    const double k = static_cast<double>(model.effects[p].size());
    out.push_back({name, std::max(0.0, explained - std::max(0.0, k - 1) * model.residual_variance)});
    sum += out.back().importance;
    ++p;
  }
  if (sum <= 0) return {};
  for (ParamImportance& q : out) q.importance /= sum;
  std::stable_sort(out.begin(), out.end(),
                   [](const ParamImportance& a, const ParamImportance& b) { return a.importance > b.importance; });
  return out;
}

}  // namespace polysweep
