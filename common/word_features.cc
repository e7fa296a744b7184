#include "common/word_features.h"

#include "common/hash.h"
#include "common/utf8.h"

namespace polysweep {
namespace {

// The lowercase of a capital of ASCII, Latin-1, Greek or Cyrillic; 0: not one.
uint32_t LowerOf(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 32;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return 0;
}

bool IsLetter(uint32_t cp) {
  if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return true;
  // Beyond ASCII: Latin-1 letters and every script from Latin Extended on
  // (punctuation blocks aside), which is what the tagged languages use.
  if (cp >= 0xC0 && cp <= 0x24F) return cp != 0xD7 && cp != 0xF7;
  return cp >= 0x370 && !(cp >= 0x2000 && cp <= 0x2BFF) && !(cp >= 0x3000 && cp <= 0x303F);
}

std::vector<uint32_t> CodePoints(std::string_view word) {
  std::vector<uint32_t> cps;
  for (uint32_t i = 0; i < word.size();) cps.push_back(NextCodePoint(word, &i));
  return cps;
}

std::string Encode(const std::vector<uint32_t>& cps, size_t begin, size_t end) {
  std::string s;
  for (size_t i = begin; i < end && i < cps.size(); ++i) AppendUtf8(cps[i], &s);
  return s;
}

uint32_t Hash(char kind, const std::string& value) {
  const uint64_t h = Mix64(Fnv1a64(value, Fnv1a64(std::string_view(&kind, 1))));
  const auto folded = static_cast<uint32_t>(h ^ (h >> 32));
  return folded == kNoFeature ? 1 : folded;
}

}  // namespace

std::string LowerWord(std::string_view word) {
  std::string out;
  for (uint32_t i = 0; i < word.size();) {
    const uint32_t cp = NextCodePoint(word, &i);
    const uint32_t lower = LowerOf(cp);
    AppendUtf8(lower ? lower : cp, &out);
  }
  return out;
}

std::string WordShape(std::string_view word) {
  std::string out;
  char last = 0;
  int run = 0;
  for (uint32_t i = 0; i < word.size();) {
    const uint32_t at = i;
    const uint32_t cp = NextCodePoint(word, &i);
    const char kind = LowerOf(cp) ? 'X' : IsLetter(cp) ? 'x' : (cp >= '0' && cp <= '9') ? 'd' : 0;
    run = kind != 0 && kind == last ? run + 1 : 1;
    last = kind;
    if (kind == 0) out.append(word.substr(at, i - at));
    else if (run <= 3) out.push_back(kind);
  }
  return out;
}

WordFeatureHashes HashWordFeatures(std::string_view word, std::string_view lang) {
  const std::string lower = LowerWord(word);
  const std::vector<uint32_t> cps = CodePoints(lower);
  const size_t n = cps.size();
  WordFeatureHashes h{};
  h[0] = Hash('w', lower);
  for (size_t k = 1; k <= 3; ++k) h[k] = Hash(static_cast<char>('0' + k), Encode(cps, 0, k));
  for (size_t k = 1; k <= 4; ++k) h[3 + k] = Hash(static_cast<char>('a' + k), Encode(cps, n > k ? n - k : 0, n));
  h[8] = Hash('s', WordShape(word));
  h[9] = lang.empty() ? kNoFeature : Hash('l', std::string(lang));
  return h;
}

std::array<uint32_t, kContextFeatures> HashContextFeatures(const std::vector<std::string>& words, size_t w) {
  // The neighbour's lowercase form and last three characters; "" stands for
  // the sentence's edge (no word hashes to it: a word is never empty).
  auto neighbour = [&](size_t at, bool exists, char kind, uint32_t* word_hash, uint32_t* suffix_hash) {
    const std::string lower = exists ? LowerWord(words[at]) : std::string();
    const std::vector<uint32_t> cps = CodePoints(lower);
    *word_hash = Hash(kind, lower);
    *suffix_hash = Hash(static_cast<char>(kind + 1), Encode(cps, cps.size() > 3 ? cps.size() - 3 : 0, cps.size()));
  };
  std::array<uint32_t, kContextFeatures> h{};
  neighbour(w - 1, w > 0, 'p', &h[0], &h[1]);
  neighbour(w + 1, w + 1 < words.size(), 'n', &h[2], &h[3]);
  return h;
}

std::vector<uint32_t> PieceWordFeatures(const std::vector<std::string>& words, const std::vector<int>& piece_word,
                                        const std::string& lang) {
  std::vector<std::array<uint32_t, kWordFeatures>> by_word(words.size());
  for (size_t w = 0; w < words.size(); ++w) {
    const WordFeatureHashes own = HashWordFeatures(words[w], lang);
    const auto context = HashContextFeatures(words, w);
    std::copy(own.begin(), own.end(), by_word[w].begin());
    std::copy(context.begin(), context.end(), by_word[w].begin() + kOwnWordFeatures);
  }
  std::vector<uint32_t> out(piece_word.size() * kWordFeatures, kNoFeature);
  for (size_t k = 0; k < piece_word.size(); ++k) {
    const int w = piece_word[k];
    if (w < 0 || static_cast<size_t>(w) >= by_word.size()) continue;
    std::copy(by_word[static_cast<size_t>(w)].begin(), by_word[static_cast<size_t>(w)].end(),
              out.begin() + static_cast<std::ptrdiff_t>(k * kWordFeatures));
  }
  return out;
}

}  // namespace polysweep
