// The interface of the tokenizers polysweep implements itself (WordPiece,
// byte-level BPE), behind Tokenizer (tokenizer.h).
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"

namespace polysweep {

struct PieceOffsets;

class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  // Appends the ids of `text`, the family's special tokens around it, at
  // most `max_ids` in all, and each id's byte range in `text` when
  // `offsets` is not null. A refused text appends nothing.
  virtual Status Encode(std::string_view text, size_t max_ids, std::vector<int>* out,
                        std::vector<PieceOffsets>* offsets) const = 0;
  virtual int vocab_size() const = 0;
  virtual int pad_id() const = 0;  // -1: none
  virtual int unk_id() const = 0;  // -1: none
};

}  // namespace polysweep
