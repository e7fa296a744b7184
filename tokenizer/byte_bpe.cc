// Byte-level BPE encoding: special tokens, GPT-2's pre-tokenizer, merges by
// rank. The pre-tokenizer is GPT-2's regular expression
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// written out as a scan (NextWord); the merges are applied as Hugging Face's
// BPE applies them: the adjacent pair of lowest rank (the leftmost among
// equals) first, from a queue, so a long word costs n log n, not n^2.
#include "tokenizer/byte_bpe.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <array>
#include <queue>

#include "tokenizer/tokenizer.h"

namespace polysweep {
namespace {

enum class CharKind : uint8_t { kLetter, kNumber, kSpace, kOther };

CharKind KindOf(UChar32 c) {
  if (u_isUWhiteSpace(c)) return CharKind::kSpace;
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER: return CharKind::kLetter;
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER: return CharKind::kNumber;
    default: return CharKind::kOther;
  }
}

struct Char {
  UChar32 cp;
  CharKind kind;
  uint32_t begin, end;  // its bytes in the text
};

// The end of the word starting at chars[i] (GPT-2's regular expression).
size_t NextWord(const std::vector<Char>& chars, size_t i) {
  const size_t n = chars.size();
  auto run = [&](size_t from, CharKind kind) {
    while (from < n && chars[from].kind == kind) ++from;
    return from;
  };
  if (chars[i].cp == '\'' && i + 1 < n) {
    auto is = [&](size_t k, char c) { return i + k < n && chars[i + k].cp == c; };
    if (is(1, 's') || is(1, 't') || is(1, 'm') || is(1, 'd')) return i + 2;
    if ((is(1, 'r') && is(2, 'e')) || (is(1, 'v') && is(2, 'e')) || (is(1, 'l') && is(2, 'l'))) return i + 3;
  }
  const size_t start = chars[i].cp == ' ' && i + 1 < n && chars[i + 1].kind != CharKind::kSpace ? i + 1 : i;
  switch (chars[start].kind) {
    case CharKind::kLetter:
    case CharKind::kNumber: return run(start, chars[start].kind);
    case CharKind::kOther: return run(start, CharKind::kOther);
    case CharKind::kSpace: break;
  }
  // Whitespace: all of it at the end of the text, else all but the last
  // character (which a following word takes as its " ?"), at least one.
  const size_t end = run(i, CharKind::kSpace);
  return end == n || end - i == 1 ? end : end - 1;
}

// GPT-2's printable stand-in for each byte.
std::array<UChar32, 256> ByteStandIns() {
  std::array<UChar32, 256> out{};
  UChar32 next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    out[static_cast<size_t>(b)] = printable ? b : next++;
  }
  return out;
}

std::string Utf8(UChar32 cp) {
  char buf[4];
  int32_t len = 0;
  U8_APPEND_UNSAFE(reinterpret_cast<uint8_t*>(buf), len, cp);
  return std::string(buf, static_cast<size_t>(len));
}

uint64_t PairKey(int a, int b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

}  // namespace

StatusOr<std::unique_ptr<ByteBpe>> ByteBpe::Make(ByteBpeSpec spec) {
  std::unique_ptr<ByteBpe> t(new ByteBpe(std::move(spec)));
  ByteBpeSpec& s = t->spec_;
  for (size_t i = 0; i < s.vocab.size(); ++i) t->ids_[s.vocab[i]] = static_cast<int>(i);
  auto id_of = [&](const std::string& token) {
    auto it = t->ids_.find(token);
    return it == t->ids_.end() ? -1 : it->second;
  };
  const std::array<UChar32, 256> stand_ins = ByteStandIns();
  for (size_t b = 0; b < 256; ++b) t->byte_id_[b] = id_of(Utf8(stand_ins[b]));
  for (size_t r = 0; r < s.merges.size(); ++r) {
    const auto& [left, right] = s.merges[r];
    const int a = id_of(left), b = id_of(right), merged = id_of(left + right);
    if (a < 0 || b < 0 || merged < 0) {
      return Status::DataError("merge " + std::to_string(r) + " \"" + left + " " + right +
                               "\" names a token that is not in the vocabulary");
    }
    t->merges_.emplace(PairKey(a, b), std::make_pair(static_cast<int>(r), merged));
  }
  t->bos_id_ = id_of(s.bos_token);
  t->eos_id_ = id_of(s.eos_token);
  if (t->bos_id_ < 0 || t->eos_id_ < 0) {
    return Status::DataError("the tokens " + s.bos_token + " and " + s.eos_token + " are not in the vocabulary");
  }
  t->pad_id_ = id_of(s.pad_token);
  t->unk_id_ = s.unk_token.empty() ? -1 : id_of(s.unk_token);
  for (SpecialToken& special : s.special_tokens) {
    special.id = id_of(special.content);
    if (special.id < 0) return Status::DataError("the special token \"" + special.content + "\" is not in the vocabulary");
  }
  t->specials_ = SpecialTokens(s.special_tokens);
  return t;
}

void ByteBpe::Word(std::string_view text, uint32_t begin, uint32_t end, bool prefix_space, size_t budget,
                   std::vector<int>* out, std::vector<PieceOffsets>* offsets) const {
  struct Symbol {
    int id;
    int prev, next;  // neighbours still in the word (-1: none)
    uint32_t begin, end;
  };
  std::vector<Symbol> symbols;
  auto add = [&](unsigned char byte, uint32_t b, uint32_t e) {
    const int id = byte_id_[byte] >= 0 ? byte_id_[byte] : unk_id_;
    if (id < 0) return;
    const int at = static_cast<int>(symbols.size());
    symbols.push_back({id, at - 1, at + 1, b, e});
  };
  if (prefix_space) add(' ', begin, begin);
  for (uint32_t i = begin; i < end; ++i) {
    uint32_t char_begin = i, char_end = i + 1;  // a piece's offsets cover whole characters
    while (char_begin > begin && (static_cast<unsigned char>(text[char_begin]) & 0xC0) == 0x80) --char_begin;
    while (char_end < end && (static_cast<unsigned char>(text[char_end]) & 0xC0) == 0x80) ++char_end;
    add(static_cast<unsigned char>(text[i]), char_begin, char_end);
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  // The pairs that merge, lowest rank first, leftmost first among equals; a
  // pair whose symbols changed since it was queued is skipped.
  struct Pair {
    int rank, left, left_id, right_id, merged_id;
    bool operator>(const Pair& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Pair, std::vector<Pair>, std::greater<Pair>> queue;
  auto consider = [&](int left) {
    if (left < 0 || symbols[static_cast<size_t>(left)].next < 0) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    const Symbol& r = symbols[static_cast<size_t>(l.next)];
    auto it = merges_.find(PairKey(l.id, r.id));
    if (it != merges_.end()) queue.push({it->second.first, left, l.id, r.id, it->second.second});
  };
  for (int i = 0; i < static_cast<int>(symbols.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Pair p = queue.top();
    queue.pop();
    Symbol& l = symbols[static_cast<size_t>(p.left)];
    if (l.id != p.left_id || l.next < 0 || symbols[static_cast<size_t>(l.next)].id != p.right_id) continue;
    Symbol& r = symbols[static_cast<size_t>(l.next)];
    l.id = p.merged_id;
    l.end = std::max(l.end, r.end);
    l.next = r.next;
    if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = p.left;
    r.id = -1;  // gone
    consider(l.prev);
    consider(p.left);
  }
  for (int i = 0; i >= 0 && budget > 0; i = symbols[static_cast<size_t>(i)].next, --budget) {
    out->push_back(symbols[static_cast<size_t>(i)].id);
    if (offsets) offsets->push_back(PieceOffsets{symbols[static_cast<size_t>(i)].begin, symbols[static_cast<size_t>(i)].end});
  }
}

void ByteBpe::EncodeSpan(std::string_view text, uint32_t begin, uint32_t end, size_t budget, std::vector<int>* out,
                         std::vector<PieceOffsets>* offsets, std::vector<uint32_t>* word_ends) const {
  std::vector<Char> chars;
  const bool prefix_space = spec_.add_prefix_space && text[begin] != ' ';
  if (prefix_space) chars.push_back({' ', CharKind::kSpace, begin, begin});
  for (int32_t i = static_cast<int32_t>(begin); i < static_cast<int32_t>(end);) {
    const auto b = static_cast<uint32_t>(i);
    UChar32 c = 0;
    U8_NEXT(reinterpret_cast<const uint8_t*>(text.data()), i, static_cast<int32_t>(end), c);
    if (c < 0) c = 0xFFFD;  // a malformed byte: its own character
    chars.push_back({c, KindOf(c), b, static_cast<uint32_t>(i)});
  }
  const size_t limit = out->size() + budget;
  for (size_t i = 0; i < chars.size() && out->size() < limit;) {
    const size_t j = NextWord(chars, i);
    // The space add_prefix_space puts first has no bytes of the text.
    const bool virtual_space = prefix_space && i == 0;
    Word(text, chars[i].begin, chars[j - 1].end, virtual_space, limit - out->size(), out, offsets);
    if (word_ends) word_ends->push_back(static_cast<uint32_t>(out->size()));
    i = j;
  }
}

}  // namespace polysweep
