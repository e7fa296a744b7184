// A sentence given as words (token classification's input): encoded as the
// words joined by single spaces, each id told which word it is a piece of,
// as Hugging Face's `word_ids()` tells it. A piece belongs to the word its
// last byte is in (a SentencePiece or byte-level BPE piece that begins with
// the space before its word is that word's); special tokens, and a piece of
// the space alone, belong to none.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "tokenizer/tokenizer.h"

namespace polysweep {

inline constexpr int kNoWord = -1;

struct WordPieces {
  std::vector<int> ids;
  std::vector<int> word;        // per id: the index of its word, or kNoWord
  std::vector<bool> first;      // per id: the first piece of its word
  size_t words_kept = 0;        // words with at least one piece within max_ids
};

// Encodes `words` (at most `max_ids` ids, the family's frame included).
Status EncodeWords(const Tokenizer& tokenizer, const std::vector<std::string>& words, size_t max_ids,
                   WordPieces* out);

}  // namespace polysweep
