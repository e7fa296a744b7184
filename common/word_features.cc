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

namespace {

// What the hashes of a word read: its lowercase form, in code points too.
// PieceWordFeatures makes it once a word, for the word's own hashes and for
// its neighbours' context hashes alike.
struct WordForm {
  std::string lower;
  std::vector<uint32_t> cps;
  std::string last3;  // its last three characters
};

WordForm FormOf(std::string_view word) {
  WordForm f{LowerWord(word), {}, {}};
  f.cps = CodePoints(f.lower);
  const size_t n = f.cps.size();
  f.last3 = Encode(f.cps, n > 3 ? n - 3 : 0, n);
  return f;
}

// `lang_hash`: the sentence's language's (kNoFeature for none).
WordFeatureHashes OwnHashes(std::string_view word, const WordForm& f, uint32_t lang_hash) {
  const size_t n = f.cps.size();
  WordFeatureHashes h{};
  h[0] = Hash('w', f.lower);
  for (size_t k = 1; k <= 3; ++k) h[k] = Hash(static_cast<char>('0' + k), Encode(f.cps, 0, k));
  for (size_t k = 1; k <= 4; ++k) h[3 + k] = Hash(static_cast<char>('a' + k), Encode(f.cps, n > k ? n - k : 0, n));
  h[8] = Hash('s', WordShape(word));
  h[9] = lang_hash;
  return h;
}

uint32_t LanguageHash(std::string_view lang) { return lang.empty() ? kNoFeature : Hash('l', std::string(lang)); }

// The neighbours' lowercase forms and last three characters; the empty form
// stands for the sentence's edge (no word has it: a word is never empty).
std::array<uint32_t, kContextFeatures> ContextHashes(const std::vector<WordForm>& forms, size_t w) {
  const WordForm edge;
  const WordForm& before = w > 0 ? forms[w - 1] : edge;
  const WordForm& after = w + 1 < forms.size() ? forms[w + 1] : edge;
  return {Hash('p', before.lower), Hash('q', before.last3), Hash('n', after.lower), Hash('o', after.last3)};
}

std::vector<WordForm> FormsOf(const std::vector<std::string>& words) {
  std::vector<WordForm> forms;
  forms.reserve(words.size());
  for (const auto& w : words) forms.push_back(FormOf(w));
  return forms;
}

}  // namespace

WordFeatureHashes HashWordFeatures(std::string_view word, std::string_view lang) {
  return OwnHashes(word, FormOf(word), LanguageHash(lang));
}

std::array<uint32_t, kContextFeatures> HashContextFeatures(const std::vector<std::string>& words, size_t w) {
  return ContextHashes(FormsOf(words), w);
}

std::vector<uint32_t> PieceWordFeatures(const std::vector<std::string>& words, const std::vector<int>& piece_word,
                                        const std::string& lang) {
  const std::vector<WordForm> forms = FormsOf(words);
  const uint32_t lang_hash = LanguageHash(lang);
  std::vector<std::array<uint32_t, kWordFeatures>> by_word(words.size());
  for (size_t w = 0; w < words.size(); ++w) {
    const WordFeatureHashes own = OwnHashes(words[w], forms[w], lang_hash);
    const auto context = ContextHashes(forms, w);
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
