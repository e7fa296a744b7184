// The special tokens of a Hugging Face tokenizer ("added tokens"): matched in
// the raw text before anything else, the longest first where two start at
// the same place. A token with lstrip (rstrip) takes the whitespace on its
// left (right) with it, as RoBERTa's <mask> does. Plain data; the tokenizers
// encode the text between them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace polysweep {

struct SpecialToken {
  std::string content;
  int id = 0;
  bool lstrip = false;
  bool rstrip = false;
};

class SpecialTokens {
 public:
  SpecialTokens() = default;
  explicit SpecialTokens(std::vector<SpecialToken> tokens);

  // Walks `text`: span(begin, end) for each stretch between specials (and
  // the last), special(token, begin, end) for each special matched, in
  // order, as long as `more()` is true.
  void Split(std::string_view text, const std::function<void(uint32_t, uint32_t)>& span,
             const std::function<void(const SpecialToken&, uint32_t, uint32_t)>& special,
             const std::function<bool()>& more) const;

 private:
  std::vector<SpecialToken> tokens_;
  std::array<bool, 256> first_{};  // the first bytes of tokens_
};

}  // namespace polysweep
