// Byte-level BPE: the tokenizer of RoBERTa checkpoints (GPT-2's), computing
// what Hugging Face's tokenizers library computes:
//   - the special tokens (added tokens, matched in the raw text first; <mask>
//     takes the whitespace on its left, as RoBERTa's does);
//   - GPT-2's pre-tokenizer: contractions, an optional space with a run of
//     letters, of digits, or of other characters, and runs of whitespace
//     (its regular expression, with ICU's letter, number and White_Space
//     classes);
//   - each word's UTF-8 bytes as GPT-2's 256 printable stand-ins, merged by
//     the merges' ranks, lowest first;
//   - <s> ... </s> around each text.
// Thread-compatible: Encode may run on several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/text_encoder.h"

namespace polysweep {


// What a byte-level BPE tokenizer is: read from a Hugging Face directory's
// tokenizer.json, or from its vocab.json and merges.txt, and written as a
// tokenizer.json that Hugging Face's library loads.
struct ByteBpeSpec {
  std::vector<std::string> vocab;                             // the token of each id
  std::vector<std::pair<std::string, std::string>> merges;    // by rank
  bool add_prefix_space = false;
  std::string bos_token = "<s>", eos_token = "</s>", pad_token = "<pad>";
  std::string unk_token;  // the model's: a byte without a token becomes it; none (RoBERTa's): it is dropped
  std::vector<SpecialToken> special_tokens;                   // id filled in by ByteBpe::Make
};

// Reads `path`: a tokenizer.json, or a vocab.json with the merges.txt beside
// it (and tokenizer_config.json's add_prefix_space, if any). Refuses, naming
// the file and key, what is not GPT-2's byte-level BPE.
StatusOr<ByteBpeSpec> ReadByteBpeSpec(const std::string& path);
// The spec as a tokenizer.json (Hugging Face's format).
std::string ByteBpeTokenizerJson(const ByteBpeSpec& spec);

class ByteBpe : public TextEncoder {
 public:
  static StatusOr<std::unique_ptr<ByteBpe>> Make(ByteBpeSpec spec);

  // Encode (TextEncoder) frames a text as <s> ... </s>.
  TextFrame frame() const override { return TextFrame{bos_id_, eos_id_, spec_.bos_token, spec_.eos_token}; }
  int vocab_size() const override { return static_cast<int>(spec_.vocab.size()); }
  int pad_id() const override { return pad_id_; }
  int unk_id() const override { return unk_id_; }
  const ByteBpeSpec& spec() const { return spec_; }

 private:
  explicit ByteBpe(ByteBpeSpec spec) : spec_(std::move(spec)) {}
  const SpecialTokens& specials() const override { return specials_; }
  void EncodeSpan(std::string_view text, uint32_t begin, uint32_t end, size_t budget, std::vector<int>* out,
                  std::vector<PieceOffsets>* offsets, std::vector<uint32_t>* word_ends) const override;
  // The pieces of the word text[begin, end) (with `prefix_space`, a space
  // before it that the text does not have).
  void Word(std::string_view text, uint32_t begin, uint32_t end, bool prefix_space, size_t budget,
            std::vector<int>* out, std::vector<PieceOffsets>* offsets) const;

  ByteBpeSpec spec_;
  std::unordered_map<std::string_view, int> ids_;  // views into spec_.vocab
  std::unordered_map<uint64_t, std::pair<int, int>> merges_;  // (left id, right id) -> (rank, merged id)
  int byte_id_[256] = {};                                      // each byte's stand-in's id (-1: none)
  int bos_id_ = 0, eos_id_ = 0, pad_id_ = -1, unk_id_ = -1;
  SpecialTokens specials_;
};

}  // namespace polysweep
