#include "tokenizer/special_tokens.h"

#include "tokenizer/text_encoder.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

namespace polysweep {
namespace {

// The bytes of the whitespace code point that ends at `end` (SpaceBefore) or
// starts at `begin` (SpaceAfter); 0 when that code point is not whitespace.
uint32_t SpaceBefore(std::string_view text, uint32_t end) {
  if (end == 0) return 0;
  uint32_t b = end - 1;
  while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) --b;
  UChar32 c = 0;
  int32_t i = static_cast<int32_t>(b);
  U8_NEXT(reinterpret_cast<const uint8_t*>(text.data()), i, static_cast<int32_t>(end), c);
  return c >= 0 && u_isUWhiteSpace(c) && static_cast<uint32_t>(i) == end ? end - b : 0;
}

uint32_t SpaceAfter(std::string_view text, uint32_t begin) {
  if (begin >= text.size()) return 0;
  UChar32 c = 0;
  int32_t i = static_cast<int32_t>(begin);
  U8_NEXT(reinterpret_cast<const uint8_t*>(text.data()), i, static_cast<int32_t>(text.size()), c);
  return c >= 0 && u_isUWhiteSpace(c) ? static_cast<uint32_t>(i) - begin : 0;
}

}  // namespace

SpecialTokens::SpecialTokens(std::vector<SpecialToken> tokens) : tokens_(std::move(tokens)) {
  for (const SpecialToken& t : tokens_) {
    if (!t.content.empty()) first_[static_cast<unsigned char>(t.content[0])] = true;
  }
}

void SpecialTokens::Split(std::string_view text, const std::function<void(uint32_t, uint32_t)>& span,
                          const std::function<void(const SpecialToken&, uint32_t, uint32_t)>& special,
                          const std::function<bool()>& more) const {
  const auto n = static_cast<uint32_t>(text.size());
  uint32_t from = 0;
  for (uint32_t pos = 0; pos < n && more();) {
    const SpecialToken* match = nullptr;
    if (first_[static_cast<unsigned char>(text[pos])]) {
      for (const SpecialToken& t : tokens_) {
        if (!t.content.empty() && text.compare(pos, t.content.size(), t.content) == 0 &&
            (match == nullptr || t.content.size() > match->content.size())) {
          match = &t;
        }
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    uint32_t begin = pos, end = pos + static_cast<uint32_t>(match->content.size());
    if (match->lstrip) {
      for (uint32_t w; begin > from && (w = SpaceBefore(text, begin)) > 0;) begin -= w;
    }
    if (match->rstrip) {
      for (uint32_t w; (w = SpaceAfter(text, end)) > 0;) end += w;
    }
    if (begin > from) span(from, begin);
    if (more()) special(*match, begin, end);
    pos = from = end;
  }
  if (from < n && more()) span(from, n);
}

Status EncodeFramed(std::string_view text, size_t max_ids, const TextFrame& frame, const SpecialTokens& specials,
                    const std::function<Status(uint32_t begin, uint32_t end, size_t budget)>& span,
                    std::vector<int>* out, std::vector<PieceOffsets>* offsets) {
  if (max_ids < 2) {
    return Status::InvalidConfig("a text of at most " + std::to_string(max_ids) + " ids has no room for " +
                                 frame.open_token + " and " + frame.close_token);
  }
  if (text.size() >= UINT32_MAX) return Status::DataError("a text of over 4 GiB");
  const size_t before = out->size(), offsets_before = offsets ? offsets->size() : 0;
  out->push_back(frame.open_id);
  if (offsets) offsets->push_back(PieceOffsets{0, 0});
  const size_t limit = out->size() + max_ids - 2;
  Status failed;
  specials.Split(
      text, [&](uint32_t begin, uint32_t end) { failed = span(begin, end, limit - out->size()); },
      [&](const SpecialToken& special, uint32_t begin, uint32_t end) {
        out->push_back(special.id);
        if (offsets) offsets->push_back(PieceOffsets{begin, end});
      },
      [&] { return failed.ok() && out->size() < limit; });
  if (!failed.ok()) {
    out->resize(before);
    if (offsets) offsets->resize(offsets_before);
    return failed;
  }
  const auto n = static_cast<uint32_t>(text.size());
  out->push_back(frame.close_id);
  if (offsets) offsets->push_back(PieceOffsets{n, n});
  return Status::Ok();
}

}  // namespace polysweep
