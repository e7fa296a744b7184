// Reading fields of untrusted JSON documents (manifests, journaled state):
// nlohmann's get<int>() on a float out of int's range is undefined
// behaviour, so integers are taken only when the document holds an integer
// that fits.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace polysweep {

// `v` as an Int; throws std::out_of_range (naming `what`) unless it is a JSON
// integer within Int's range.
template <class Int>
Int JsonIntValue(const nlohmann::json& v, const std::string& what) {
  static_assert(std::numeric_limits<Int>::is_integer, "JsonInt takes an integer type");
  bool fits = false;
  if (v.is_number_unsigned()) {
    fits = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<Int>::max());
  } else if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    fits = (!std::numeric_limits<Int>::is_signed ? x >= 0 : x >= static_cast<int64_t>(std::numeric_limits<Int>::min())) &&
           (static_cast<uint64_t>(std::numeric_limits<Int>::max()) >= static_cast<uint64_t>(INT64_MAX) ||
            x <= static_cast<int64_t>(std::numeric_limits<Int>::max()));
  }
  if (!fits) throw std::out_of_range(what + ": expected an integer in range, got " + v.dump());
  return v.is_number_unsigned() ? static_cast<Int>(v.get<uint64_t>()) : static_cast<Int>(v.get<int64_t>());
}

// The integer field `key` of object `j` (throws when missing, as at() does).
template <class Int>
Int JsonInt(const nlohmann::json& j, const char* key) {
  return JsonIntValue<Int>(j.at(key), key);
}

}  // namespace polysweep
