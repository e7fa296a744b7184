// Reading JSON lines (what `polysweep predict` and `evaluate` take): each
// non-blank line must be a JSON object; errors name the input and line.
#pragma once

#include <istream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace polysweep {

// Calls fn(row, where) for each object line of `in`, where is "NAME:LINE";
// stops at the first error fn returns, or at a line that is no JSON object.
template <typename Fn>
Status ForEachJsonLine(std::istream& in, const std::string& name, Fn fn) {
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = name + ":" + std::to_string(number);
    nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    if (row.is_discarded() || !row.is_object()) return Status::Error(where + ": not a JSON object");
    PS_RETURN_IF_ERROR(fn(std::move(row), where));
  }
  return Status::Ok();
}

}  // namespace polysweep
