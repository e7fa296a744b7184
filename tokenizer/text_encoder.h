// The interface of the tokenizers polysweep implements itself (WordPiece,
// byte-level BPE), behind Tokenizer (tokenizer.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tokenizer/special_tokens.h"

namespace polysweep {

// Where a piece came from: bytes [begin, end) of the encoded text (the bytes
// it was normalized from; a piece made of inserted text, such as a leading
// word-boundary mark alone, may be empty).
struct PieceOffsets {
  uint32_t begin = 0;
  uint32_t end = 0;
  bool operator==(const PieceOffsets& o) const { return begin == o.begin && end == o.end; }
};

// The tokens a family puts around each text: [CLS] ... [SEP], <s> ... </s>.
struct TextFrame {
  int open_id = 0, close_id = 0;
  std::string open_token, close_token;
};

// Appends frame.open_id, then the text's pieces between the special tokens
// (`span` appends those of text[begin, end), at most `budget`) and the
// specials matched in it, then frame.close_id: at most `max_ids` in all,
// each with its offsets when `offsets` is not null. Nothing is appended when
// max_ids has no room for the frame or `span` fails.
Status EncodeFramed(std::string_view text, size_t max_ids, const TextFrame& frame, const SpecialTokens& specials,
                    const std::function<Status(uint32_t begin, uint32_t end, size_t budget)>& span,
                    std::vector<int>* out, std::vector<PieceOffsets>* offsets);

class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  // Appends the ids of `text`, the family's special tokens around it, at
  // most `max_ids` in all, and each id's byte range in `text` when
  // `offsets` is not null. A refused text appends nothing.
  Status Encode(std::string_view text, size_t max_ids, std::vector<int>* out,
                std::vector<PieceOffsets>* offsets) const {
    return Encode(text, max_ids, out, offsets, nullptr);
  }
  // The same, and, when `word_ends` is not null, the size of `out` after
  // each word the model encoded (a word of the family's pre-tokenizer; a
  // special token written in the text is none): where Hugging Face's
  // library checks whether it has encoded enough of a text it will cut
  // (tokenizer/pair.h).
  // Every family frames a text the same way (EncodeFramed); it differs in
  // its frame, its special tokens and how it encodes a span between them.
  Status Encode(std::string_view text, size_t max_ids, std::vector<int>* out, std::vector<PieceOffsets>* offsets,
                std::vector<uint32_t>* word_ends) const {
    return EncodeFramed(text, max_ids, frame(), specials(),
                        [&](uint32_t begin, uint32_t end, size_t budget) {
                          EncodeSpan(text, begin, end, budget, out, offsets, word_ends);
                          return Status::Ok();
                        },
                        out, offsets);
  }
  // The tokens Encode puts around each text.
  virtual TextFrame frame() const = 0;
  virtual int vocab_size() const = 0;
  virtual int pad_id() const = 0;  // -1: none
  virtual int unk_id() const = 0;  // -1: none

 protected:
  // The special tokens matched in the raw text.
  virtual const SpecialTokens& specials() const = 0;
  // Appends the pieces of text[begin, end), at most `budget`, with their
  // offsets and word ends when those are not null.
  virtual void EncodeSpan(std::string_view text, uint32_t begin, uint32_t end, size_t budget, std::vector<int>* out,
                          std::vector<PieceOffsets>* offsets, std::vector<uint32_t>* word_ends) const = 0;
};

}  // namespace polysweep
