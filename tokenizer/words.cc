#include "tokenizer/words.h"

#include <algorithm>

#include "common/example.h"

namespace polysweep {

Status EncodeWords(const Tokenizer& tokenizer, const std::vector<std::string>& words, size_t max_ids,
                   WordPieces* out) {
  *out = WordPieces{};
  std::vector<uint32_t> ends;  // each word's end in the joined text; word i begins at ends[i-1] + 1
  uint32_t at = 0;
  for (const std::string& w : words) {
    at += static_cast<uint32_t>(w.size());
    ends.push_back(at);
    ++at;  // the space
  }
  std::vector<PieceOffsets> offsets;
  PS_RETURN_IF_ERROR(tokenizer.Encode(JoinWords(words), max_ids, &out->ids, &offsets));
  int last = kNoWord;
  for (const PieceOffsets& o : offsets) {
    int word = kNoWord;
    if (o.end > o.begin) {
      const uint32_t byte = o.end - 1;
      const size_t i = static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), byte) - ends.begin());
      const uint32_t begin = i == 0 ? 0 : ends[i - 1] + 1;
      if (i < ends.size() && byte >= begin) word = static_cast<int>(i);
    }
    out->word.push_back(word);
    out->first.push_back(word != kNoWord && word != last);
    if (word != kNoWord) {
      last = word;
      out->words_kept = static_cast<size_t>(word) + 1;
    }
  }
  return Status::Ok();
}

}  // namespace polysweep
