#include "tokenizer/pair.h"

#include <algorithm>
#include <string>

namespace polysweep {

PairLengths TruncateLongestFirst(size_t n1, size_t n2, size_t max_pieces) {
  if (n1 + n2 <= max_pieces) return {n1, n2};
  size_t shorter = std::min(n1, n2);
  size_t longer = shorter > max_pieces ? shorter : std::max(shorter, max_pieces - shorter);
  if (shorter + longer > max_pieces) {
    shorter = max_pieces / 2;
    longer = shorter + max_pieces % 2;
  }
  // Cutting never lengthens a text.
  shorter = std::min(shorter, std::min(n1, n2));
  longer = std::min(longer, std::max(n1, n2));
  return n1 > n2 ? PairLengths{longer, shorter} : PairLengths{shorter, longer};
}

size_t EncodedLength(const TextPieces& text, size_t max_ids) {
  for (const uint32_t end : text.word_ends) {
    if (end >= max_ids) return std::min(static_cast<size_t>(end), text.ids.size());
  }
  return text.ids.size();
}

namespace {

void AppendSpecials(const std::vector<int>& ids, std::vector<int>* out, std::vector<PieceOffsets>* offsets) {
  out->insert(out->end(), ids.begin(), ids.end());
  if (offsets) offsets->insert(offsets->end(), ids.size(), PieceOffsets{0, 0});
}

void AppendPieces(const TextPieces& text, size_t n, std::vector<int>* out, std::vector<PieceOffsets>* offsets) {
  const auto end = static_cast<std::ptrdiff_t>(n);
  out->insert(out->end(), text.ids.begin(), text.ids.begin() + end);
  if (offsets) offsets->insert(offsets->end(), text.offsets.begin(), text.offsets.begin() + end);
}

}  // namespace

Status AppendPair(const PairFrame& frame, const TextPieces& a, const TextPieces& b, size_t max_ids,
                  std::vector<int>* out, std::vector<PieceOffsets>* offsets, size_t* second_start) {
  if (max_ids < frame.size()) {
    return Status::InvalidConfig("a text pair of at most " + std::to_string(max_ids) + " ids has no room for its " +
                                 std::to_string(frame.size()) + " special tokens");
  }
  if (offsets && (a.offsets.size() != a.ids.size() || b.offsets.size() != b.ids.size())) {
    return Status::Error("a text pair's pieces come without their offsets");
  }
  const PairLengths kept =
      TruncateLongestFirst(EncodedLength(a, max_ids), EncodedLength(b, max_ids), max_ids - frame.size());
  const size_t before = out->size();
  AppendSpecials(frame.open, out, offsets);
  AppendPieces(a, kept.first, out, offsets);
  const size_t second = out->size() - before + std::min(frame.first_of_middle, frame.middle.size());
  if (second_start) *second_start = second;
  AppendSpecials(frame.middle, out, offsets);
  AppendPieces(b, kept.second, out, offsets);
  AppendSpecials(frame.close, out, offsets);
  return Status::Ok();
}

}  // namespace polysweep
