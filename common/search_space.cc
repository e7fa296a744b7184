#include "common/search_space.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace polysweep {

std::string ParamValue::ToString() const {
  if (is_text) return text;
  if (std::nearbyint(number) == number && std::fabs(number) < 1e15) {
    return std::to_string(static_cast<long long>(number));
  }
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, number);
    if (std::strtod(buf, nullptr) == number) break;
  }
  return buf;
}

ParamValue ParamValue::Parse(const std::string& s) {
  if (s.empty()) return Text(s);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end && *end == '\0' && std::isfinite(v)) return Number(v);
  return Text(s);
}

const char* ParamKindName(ParamKind kind) {
  switch (kind) {
    case ParamKind::kChoice: return "choice";
    case ParamKind::kUniform: return "uniform";
    case ParamKind::kLogUniform: return "loguniform";
    case ParamKind::kInt: return "int";
    case ParamKind::kQLogUniform: return "qloguniform";
  }
  return "?";
}

std::vector<size_t> SearchSpace::SamplingOrder() const {
  std::vector<size_t> order;
  std::vector<bool> placed(params.size(), false);
  // Parents first; a chain (a -> b -> c) takes one pass per link. The config
  // refuses cycles, so this ends.
  for (size_t pass = 0; pass <= params.size() && order.size() < params.size(); ++pass) {
    for (size_t i = 0; i < params.size(); ++i) {
      if (placed[i]) continue;
      bool ready = params[i].when_param.empty();
      for (size_t j = 0; !ready && j < params.size(); ++j) ready = placed[j] && params[j].name == params[i].when_param;
      if (!ready) continue;
      placed[i] = true;
      order.push_back(i);
    }
  }
  return order;
}

bool IsActive(const ParamSpec& spec, const ParamAssignment& chosen) {
  if (spec.when_param.empty()) return true;
  auto it = chosen.find(spec.when_param);
  if (it == chosen.end()) return false;
  for (const ParamValue& v : spec.when_values) {
    if (v == it->second) return true;
  }
  return false;
}

std::string FormatAssignment(const ParamAssignment& a) {
  std::string out;
  for (const auto& [name, value] : a) {
    if (!out.empty()) out += ' ';
    out += name + "=" + value.ToString();
  }
  return out;
}

}  // namespace polysweep
