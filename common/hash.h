// Stable, platform-independent hashes. Used where a value must be the same on
// every machine and every run: data splits, sampling orders, file checksums.
#pragma once

#include <cstdint>
#include <string_view>

namespace polysweep {

// 64-bit FNV-1a. Not cryptographic; stable forever (splits depend on it).
inline uint64_t Fnv1a64(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ULL) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// SplitMix64 finaliser: spreads a 64-bit value over all bits.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Maps a hash to [0, 1).
inline double UnitInterval(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

}  // namespace polysweep
