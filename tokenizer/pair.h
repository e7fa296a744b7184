// Text pairs (sentence pairs, question and passage): the frame a family
// puts around and between the two texts, and how the pair is cut to a
// budget, as Hugging Face's tokenizers library does it (its post-processors
// and its longest-first truncation). Plain functions on plain data;
// Tokenizer::EncodePair (tokenizer.h) encodes the texts and calls them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"
#include "tokenizer/text_encoder.h"

namespace polysweep {

// How many pieces of each text a pair keeps.
struct PairLengths {
  size_t first = 0, second = 0;
  bool operator==(const PairLengths& o) const { return first == o.first && second == o.second; }
};

// The lengths the library's longest-first truncation cuts a pair of n1 and
// n2 pieces to, `max_pieces` at most in all (the frame not counted): nothing
// is cut when both fit; else the shorter text is kept whole if the longer
// one can have at least as many pieces, and the longer one gets the rest;
// else each gets half, the second text the odd piece (the first, when it is
// the longer). Each text is cut from its end.
PairLengths TruncateLongestFirst(size_t n1, size_t n2, size_t max_pieces);

// The special tokens of a family's pair: open, the first text, middle, the
// second text, close. The second segment (token type 1 where the model has
// token types) begins `first_of_middle` tokens into `middle`.
//   BERT (WordPiece):          [CLS] a [SEP] b [SEP]          (1)
//   RoBERTa, XLM-R:            <s> a </s> </s> b </s>         (1)
//   polysweep's SentencePiece: a </s> b, or a b without </s>  (1 or 0)
struct PairFrame {
  std::vector<int> open, middle, close;
  size_t first_of_middle = 0;
  size_t size() const { return open.size() + middle.size() + close.size(); }
};

// The pieces of one text of a pair, its frame left out, with their byte
// offsets in that text (empty when not wanted), and the number of pieces
// after each word the model encoded (TextEncoder::Encode's word_ends).
struct TextPieces {
  std::vector<int> ids;
  std::vector<PieceOffsets> offsets;
  std::vector<uint32_t> word_ends;
};

// How many pieces of `text` the library has encoded when it truncates a
// pair to `max_ids` ids: it stops encoding a text at the end of the first
// word (of the model's; a special token written in the text does not stop
// it) that brings it to max_ids pieces, and truncates the pair from there.
// This matters where both texts are that long and the odd piece of an odd
// budget goes to the longer: the one longer to the end of that word.
size_t EncodedLength(const TextPieces& text, size_t max_ids);

// Appends the pair framed as `frame` says, each text cut by
// TruncateLongestFirst (of their EncodedLength) so that at most `max_ids`
// ids are appended in all, and sets *second_start (when not null) to the
// index, counted from the first id appended, where the second segment
// begins. With `offsets`, appends each id's offsets too: a piece's in its
// own text, a special token's {0, 0}. A max_ids with no room for the frame
// appends nothing and is refused.
Status AppendPair(const PairFrame& frame, const TextPieces& a, const TextPieces& b, size_t max_ids,
                  std::vector<int>* out, std::vector<PieceOffsets>* offsets, size_t* second_start);

}  // namespace polysweep
