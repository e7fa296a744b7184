// UTF-8 one code point at a time, for the tokenizers and the word
// features: no library, the same on every machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace polysweep {

// Decodes the code point at text[*pos], advancing *pos; a malformed byte
// reads as U+FFFD (the replacement character), one byte at a time.
inline uint32_t NextCodePoint(std::string_view text, uint32_t* pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const uint32_t n = static_cast<uint32_t>(text.size());
  const uint32_t i = *pos;
  const unsigned char b = s[i];
  int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (len == 1) {
    *pos = i + 1;
    return b;
  }
  uint32_t cp = len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  bool ok = len > 0 && i + static_cast<uint32_t>(len) <= n;
  for (int k = 1; ok && k < len; ++k) {
    ok = (s[i + static_cast<uint32_t>(k)] & 0xC0) == 0x80;
    cp = (cp << 6) | (s[i + static_cast<uint32_t>(k)] & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (!ok || cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *pos = i + 1;
    return 0xFFFD;
  }
  *pos = i + static_cast<uint32_t>(len);
  return cp;
}

inline void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace polysweep
