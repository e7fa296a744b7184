// Fuzzes byte-level BPE encoding (tokenizer/byte_bpe.h) on arbitrary bytes,
// the first byte choosing add_prefix_space and the id budget: ids begin with
// <s> and end with </s>, stay within the budget and the vocabulary, and each
// piece's offsets lie inside the text, in order.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "tokenizer/byte_bpe.h"
#include "tokenizer/tokenizer.h"

namespace {

std::unique_ptr<polysweep::ByteBpe> Make(bool prefix_space) {
  polysweep::ByteBpeSpec spec;
  spec.vocab = {"<s>", "<pad>", "</s>", "<unk>", "a", "b", "Ġ", "ab", "Ġa", "Ġab", "'", "s", "'s", "<mask>"};
  spec.merges = {{"a", "b"}, {"Ġ", "a"}, {"Ġa", "b"}, {"'", "s"}};
  spec.add_prefix_space = prefix_space;
  spec.special_tokens = {{"<s>", 0}, {"</s>", 0}, {"<mask>", 0, true, false}};
  auto made = polysweep::ByteBpe::Make(spec);
  if (!made.ok()) std::abort();
  return std::move(*made);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::array<std::unique_ptr<polysweep::ByteBpe>, 2> bpe = {Make(false), Make(true)};
  const polysweep::ByteBpe& b = *bpe[data[0] & 1];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t max_ids = 2 + data[0] % 64;
  std::vector<int> ids;
  std::vector<polysweep::PieceOffsets> offsets;
  if (!b.Encode(text, max_ids, &ids, &offsets).ok()) std::abort();
  if (ids.size() < 2 || ids.size() > max_ids || ids.size() != offsets.size()) std::abort();
  if (ids.front() != 0 || ids.back() != 2) std::abort();
  uint32_t last = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= b.vocab_size()) std::abort();
    if (offsets[i].begin > offsets[i].end || offsets[i].end > text.size() || offsets[i].begin < last) std::abort();
    last = offsets[i].begin;
  }
  std::vector<int> again;
  if (!b.Encode(text, max_ids, &again, nullptr).ok() || again != ids) std::abort();
  return 0;
}
