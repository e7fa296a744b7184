// WordPiece encoding: special tokens, BERT's normalizer and pre-tokenizer,
// greedy longest-match pieces. The character classes follow Hugging Face's
// tokenizers library (normalizers/bert.rs, pre_tokenizers/bert.rs): a
// control character is one of general category Cc, Cf, Co or Cs other than
// tab, newline and carriage return; whitespace is the White_Space property;
// punctuation is ASCII punctuation or general category P*; a Chinese
// character is one of the CJK ideograph blocks BERT lists.
#include "tokenizer/wordpiece.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "common/utf8.h"
#include "tokenizer/tokenizer.h"

namespace polysweep {
namespace {

enum CharClass : uint8_t {
  kDrop = 1,     // removed by clean_text
  kSpace = 2,    // whitespace: made a space, splits words
  kChinese = 4,  // a CJK ideograph: a word of its own
  kPunct = 8,    // punctuation: a word of its own
  kAsIs = 16,    // lower-casing and accent stripping, as configured, leave it
};

bool IsChinese(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool IsPunct(uint32_t c) {
  if (c < 128) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONNECTOR_PUNCTUATION:
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION: return true;
    default: return false;
  }
}

bool IsControl(uint32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE: return true;
    default: return false;
  }
}

// What accent stripping (NFD, then non-spacing marks removed) and
// lower-casing (the full, context-free mapping) make of one code point.
void Transform(uint32_t cp, bool strip, bool lower, std::vector<uint32_t>* out) {
  UChar src[2];
  int32_t len = 0;
  U16_APPEND_UNSAFE(src, len, static_cast<UChar32>(cp));
  UChar nfd[32], lowered[64];
  const UChar* cur = src;
  int32_t cur_len = len;
  UErrorCode status = U_ZERO_ERROR;
  if (strip) {
    const UNormalizer2* norm = unorm2_getNFDInstance(&status);
    int32_t n = U_SUCCESS(status) ? unorm2_normalize(norm, cur, cur_len, nfd, 32, &status) : 0;
    if (U_SUCCESS(status)) {
      cur = nfd;
      cur_len = n;
    }
  }
  status = U_ZERO_ERROR;
  std::vector<uint32_t> kept;
  for (int32_t i = 0; i < cur_len;) {
    UChar32 c;
    U16_NEXT(cur, i, cur_len, c);
    if (strip && u_charType(c) == U_NON_SPACING_MARK) continue;
    if (!lower) {
      out->push_back(static_cast<uint32_t>(c));
      continue;
    }
    UChar one[2];
    int32_t one_len = 0;
    U16_APPEND_UNSAFE(one, one_len, c);
    status = U_ZERO_ERROR;
    int32_t n = u_strToLower(lowered, 64, one, one_len, "", &status);
    if (U_FAILURE(status)) {
      out->push_back(static_cast<uint32_t>(c));
      continue;
    }
    for (int32_t k = 0; k < n;) {
      UChar32 l;
      U16_NEXT(lowered, k, n, l);
      out->push_back(static_cast<uint32_t>(l));
    }
  }
}

uint8_t ComputeClass(uint32_t cp, bool strip, bool lower) {
  uint8_t cls = 0;
  if (cp == 0 || cp == 0xFFFD || IsControl(cp)) cls |= kDrop;
  if (cp == '\t' || cp == '\n' || cp == '\r' || u_isUWhiteSpace(static_cast<UChar32>(cp))) cls |= kSpace;
  if (IsChinese(cp)) cls |= kChinese;
  if (IsPunct(cp)) cls |= kPunct;
  std::vector<uint32_t> t;
  if (strip || lower) Transform(cp, strip, lower, &t);
  if (!(strip || lower) || (t.size() == 1 && t[0] == cp)) cls |= kAsIs;
  return cls;
}

}  // namespace

// A normalized text: its code points, each with the bytes of the original
// text it came from.
struct WordPiece::Normalized {
  std::vector<uint32_t> cps;
  std::vector<PieceOffsets> from;
  void Add(uint32_t cp, uint32_t begin, uint32_t end) {
    cps.push_back(cp);
    from.push_back(PieceOffsets{begin, end});
  }
};

WordPiece::~WordPiece() = default;

uint8_t WordPiece::ClassOf(uint32_t cp) const {
  if (cp < bmp_class_.size()) return bmp_class_[cp];
  return ComputeClass(cp, spec_.strips_accents(), spec_.lowercase);
}

StatusOr<std::unique_ptr<WordPiece>> WordPiece::Make(WordPieceSpec spec) {
  std::unique_ptr<WordPiece> w(new WordPiece(std::move(spec)));
  const WordPieceSpec& s = w->spec_;
  // A token listed twice is its last id, as Hugging Face's vocab.txt reader has it.
  for (size_t i = 0; i < s.vocab.size(); ++i) w->ids_[s.vocab[i]] = static_cast<int>(i);
  auto id_of = [&](const std::string& token, const char* what, int* id) {
    auto it = w->ids_.find(token);
    if (it == w->ids_.end()) return Status::DataError(std::string(what) + " \"" + token + "\" is not in the vocabulary");
    *id = it->second;
    return Status::Ok();
  };
  PS_RETURN_IF_ERROR(id_of(s.unk_token, "the unknown token", &w->unk_id_));
  PS_RETURN_IF_ERROR(id_of(s.cls_token, "the classification token", &w->cls_id_));
  PS_RETURN_IF_ERROR(id_of(s.sep_token, "the separator token", &w->sep_id_));
  if (Status st = id_of(s.pad_token, "the padding token", &w->pad_id_); !st.ok()) w->pad_id_ = -1;
  std::vector<SpecialToken> specials;
  for (const std::string& token : s.special_tokens) {
    specials.push_back({token, 0});
    PS_RETURN_IF_ERROR(id_of(token, "the special token", &specials.back().id));
  }
  w->specials_ = SpecialTokens(std::move(specials));
  w->bmp_class_.resize(0x10000);
  for (uint32_t cp = 0; cp < 0x10000; ++cp) w->bmp_class_[cp] = ComputeClass(cp, s.strips_accents(), s.lowercase);
  return w;
}

void WordPiece::Normalize(std::string_view text, uint32_t begin, uint32_t end, Normalized* norm) const {
  const bool strip = spec_.strips_accents(), lower = spec_.lowercase;
  std::vector<uint32_t> t;
  for (uint32_t pos = begin; pos < end;) {
    const uint32_t b = pos;
    uint32_t cp = NextCodePoint(text.substr(0, end), &pos);
    uint8_t cls = ClassOf(cp);
    if (spec_.clean_text && (cls & kDrop)) continue;
    if (spec_.clean_text && (cls & kSpace)) cp = ' ', cls = ClassOf(' ');
    const bool cjk = spec_.handle_chinese_chars && (cls & kChinese);
    if (cjk) norm->Add(' ', b, pos);
    if (cp < 128) {
      norm->Add(lower && cp >= 'A' && cp <= 'Z' ? cp + 32 : cp, b, pos);
    } else if (cls & kAsIs) {
      norm->Add(cp, b, pos);
    } else {
      t.clear();
      Transform(cp, strip, lower, &t);
      for (uint32_t c : t) norm->Add(c, b, pos);
    }
    if (cjk) norm->Add(' ', b, pos);
  }
}

void WordPiece::Pieces(const Normalized& norm, size_t first, size_t last, size_t budget, std::vector<int>* out,
                       std::vector<PieceOffsets>* offsets) const {
  const size_t n = last - first;
  auto unknown = [&] {
    out->push_back(unk_id_);
    if (offsets) offsets->push_back(PieceOffsets{norm.from[first].begin, norm.from[last - 1].end});
  };
  if (n > static_cast<size_t>(spec_.max_input_chars_per_word)) return unknown();
  std::string word;
  std::vector<uint32_t> at(n + 1);  // byte index in `word` of each character
  for (size_t i = 0; i < n; ++i) {
    at[i] = static_cast<uint32_t>(word.size());
    AppendUtf8(norm.cps[first + i], &word);
  }
  at[n] = static_cast<uint32_t>(word.size());
  std::vector<std::pair<int, std::pair<size_t, size_t>>> found;  // id, [start, end) characters
  std::string key;
  for (size_t start = 0; start < n;) {
    size_t end = n;
    int id = -1;
    for (; end > start; --end) {
      std::string_view piece(word.data() + at[start], at[end] - at[start]);
      if (start > 0) {
        key.assign(spec_.continuing_prefix).append(piece);
        piece = key;
      }
      auto it = ids_.find(piece);
      if (it != ids_.end()) {
        id = it->second;
        break;
      }
    }
    if (id < 0) return unknown();
    found.push_back({id, {start, end}});
    start = end;
  }
  for (size_t i = 0; i < found.size() && i < budget; ++i) {
    out->push_back(found[i].first);
    if (offsets) {
      offsets->push_back(PieceOffsets{norm.from[first + found[i].second.first].begin,
                                      norm.from[first + found[i].second.second - 1].end});
    }
  }
}

void WordPiece::EncodeSpan(std::string_view text, uint32_t begin, uint32_t end, size_t budget, std::vector<int>* out,
                           std::vector<PieceOffsets>* offsets, std::vector<uint32_t>* word_ends) const {
  Normalized norm;
  Normalize(text, begin, end, &norm);
  const size_t limit = out->size() + budget;
  size_t word = 0;
  auto flush = [&](size_t stop) {
    if (stop <= word || out->size() >= limit) return;
    Pieces(norm, word, stop, limit - out->size(), out, offsets);
    if (word_ends) word_ends->push_back(static_cast<uint32_t>(out->size()));
  };
  for (size_t i = 0; i < norm.cps.size() && out->size() < limit; ++i) {
    const uint8_t cls = ClassOf(norm.cps[i]);
    if (cls & kSpace) {
      flush(i);
      word = i + 1;
    } else if (cls & kPunct) {
      flush(i);
      word = i;
      flush(i + 1);
      word = i + 1;
    }
  }
  flush(norm.cps.size());
}

}  // namespace polysweep
