// Fuzzes WordPiece encoding (tokenizer/wordpiece.h) on arbitrary bytes, with
// the first byte choosing the normalizer's options and the id budget: ids
// begin with [CLS] and end with [SEP], stay within the budget and the
// vocabulary, and each piece's offsets lie inside the text, in order.
#include <array>
#include <cstdint>
#include <memory>
#include <cstdlib>
#include <string_view>

#include "tokenizer/tokenizer.h"
#include "tokenizer/wordpiece.h"

namespace {

polysweep::WordPieceSpec Spec(uint8_t options) {
  polysweep::WordPieceSpec spec;
  spec.vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a", "b", "##b", "ab", "é", "##é", "!",
                "机", "straße", "##ß", "i", "##̇"};
  spec.special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  spec.lowercase = options & 1;
  spec.strip_accents = (options >> 1) % 3 - 1;
  spec.clean_text = !(options & 8);
  spec.handle_chinese_chars = !(options & 16);
  spec.max_input_chars_per_word = 1 + (options >> 5);
  return spec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Making a WordPiece computes its character table: once per options byte.
  static std::array<std::unique_ptr<polysweep::WordPiece>, 256> made;
  std::unique_ptr<polysweep::WordPiece>& wordpiece = made[data[0]];
  if (!wordpiece) {
    auto w = polysweep::WordPiece::Make(Spec(data[0]));
    if (!w.ok()) std::abort();
    wordpiece = std::move(*w);
  }
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t max_ids = 2 + data[0] % 64;
  std::vector<int> ids;
  std::vector<polysweep::PieceOffsets> offsets;
  if (!wordpiece->Encode(text, max_ids, &ids, &offsets).ok()) std::abort();
  if (ids.size() < 2 || ids.size() > max_ids || ids.size() != offsets.size()) std::abort();
  if (ids.front() != 2 || ids.back() != 3) std::abort();
  uint32_t last = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= wordpiece->vocab_size()) std::abort();
    if (offsets[i].begin > offsets[i].end || offsets[i].end > text.size() || offsets[i].begin < last) std::abort();
    last = offsets[i].begin;
  }
  std::vector<int> again;
  if (!wordpiece->Encode(text, max_ids, &again, nullptr).ok() || again != ids) std::abort();
  return 0;
}
