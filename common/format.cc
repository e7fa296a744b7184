#include "common/format.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace polysweep {

std::string Fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

std::string Duration(double seconds) {
  if (seconds < 0) return "-";
  long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string TextTable::Render() const {
  std::vector<size_t> width;
  for (const auto& r : rows_) {
    width.resize(std::max(width.size(), r.size()), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (size_t row = 0; row < rows_.size(); ++row) {
    const auto& r = rows_[row];
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      const bool numeric = row > 0 && !r[i].empty() && (std::isdigit(static_cast<unsigned char>(r[i][0])) || r[i] == "-");
      const std::string pad(width[i] - r[i].size(), ' ');
      line += numeric ? pad + r[i] : r[i] + pad;
      if (i + 1 < r.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace polysweep
