// Enum <-> name tables: each kind's names are one table of (value, name)
// pairs, looked up both ways by these two functions.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace polysweep {

template <typename E, size_t N>
const char* NameOf(const std::array<std::pair<E, const char*>, N>& table, E value, const char* otherwise = "unknown") {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return otherwise;
}

template <typename E, size_t N>
std::optional<E> ValueOf(const std::array<std::pair<E, const char*>, N>& table, const std::string& name) {
  for (const auto& [v, n] : table) {
    if (name == n) return v;
  }
  return std::nullopt;
}

}  // namespace polysweep
