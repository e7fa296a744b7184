#include "common/languages.h"

#include <algorithm>
#include <cstring>

namespace polysweep {
namespace {

// ISO 639-1, sorted.
const char* const kIso6391[] = {
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh", "bi", "bm", "bn",
    "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da", "de", "dv", "dz", "ee", "el", "en",
    "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr", "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he",
    "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv",
    "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li",
    "ln", "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb", "nd", "ne",
    "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi", "pl", "ps", "pt", "qu", "rm",
    "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st",
    "su", "sv", "sw", "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk",
    "ur", "uz", "ve", "vi", "vo", "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu"};

}  // namespace

bool IsKnownLanguage(const std::string& code, const std::vector<std::string>& extra) {
  if (std::find(extra.begin(), extra.end(), code) != extra.end()) return true;
  const size_t cut = code.find_first_of("_-@");
  const std::string base = code.substr(0, cut);
  if (cut != std::string::npos) {
    const std::string rest = code.substr(cut + 1);
    if (rest.empty() || rest.size() > 8) return false;
    for (char c : rest) {
      if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    }
  }
  if (std::find(extra.begin(), extra.end(), base) != extra.end()) return true;
  return std::binary_search(std::begin(kIso6391), std::end(kIso6391), base,
                            [](const auto& a, const auto& b) { return std::string_view(a) < std::string_view(b); });
}

}  // namespace polysweep
