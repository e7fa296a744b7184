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
  }
  return "?";
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
