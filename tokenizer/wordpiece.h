// WordPiece: the tokenizer of BERT, multilingual BERT and DistilBERT
// checkpoints, computing what Hugging Face's tokenizers library computes:
//   - the special tokens (added tokens, matched in the raw text first);
//   - BERT's normalizer: control characters dropped, whitespace made a space,
//     spaces around CJK ideographs, accents stripped (NFD, non-spacing
//     marks removed) and lower-casing where the checkpoint says so;
//   - BERT's pre-tokenizer: words split at whitespace and at punctuation;
//   - greedy longest-match-first pieces with "##" continuations, and the
//     unknown token for a word longer than max_input_chars_per_word or one
//     with no split into pieces of the vocabulary;
//   - [CLS] ... [SEP] around each text.
// Character classes, decomposition and case come from ICU.
// Thread-compatible: Encode may run on several threads at once.
#pragma once

#include <array>
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


// What a WordPiece tokenizer is: read from a Hugging Face directory's
// tokenizer.json, or from its vocab.txt and tokenizer_config.json, and
// written as a tokenizer.json that Hugging Face's library loads.
struct WordPieceSpec {
  std::vector<std::string> vocab;  // the token of each id
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool lowercase = true;
  int strip_accents = -1;  // -1: as lowercase, 0: no, 1: yes
  std::string unk_token = "[UNK]";
  std::string continuing_prefix = "##";
  int max_input_chars_per_word = 100;
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::vector<std::string> special_tokens;  // matched in the raw text before normalizing
  bool strips_accents() const { return strip_accents < 0 ? lowercase : strip_accents == 1; }
};

// Reads `path`: a tokenizer.json, or a vocab.txt (with the
// tokenizer_config.json beside it, if any: do_lower_case, strip_accents,
// tokenize_chinese_chars and the special tokens). Refuses, naming the file
// and key, a tokenizer.json whose normalizer, pre-tokenizer, model or
// post-processor is not BERT's, and special tokens missing from the vocabulary.
StatusOr<WordPieceSpec> ReadWordPieceSpec(const std::string& path);
// The spec as a tokenizer.json (Hugging Face's format).
std::string WordPieceTokenizerJson(const WordPieceSpec& spec);

class WordPiece : public TextEncoder {
 public:
  static StatusOr<std::unique_ptr<WordPiece>> Make(WordPieceSpec spec);
  ~WordPiece() override;

  // Encode (TextEncoder) frames a text as [CLS] ... [SEP].
  TextFrame frame() const override { return TextFrame{cls_id_, sep_id_, spec_.cls_token, spec_.sep_token}; }
  int vocab_size() const override { return static_cast<int>(spec_.vocab.size()); }
  int pad_id() const override { return pad_id_; }
  int unk_id() const override { return unk_id_; }
  const WordPieceSpec& spec() const { return spec_; }

 private:
  struct Normalized;
  explicit WordPiece(WordPieceSpec spec) : spec_(std::move(spec)) {}
  // Normalizes text[begin, end) into `norm` (see wordpiece_text.cc).
  void Normalize(std::string_view text, uint32_t begin, uint32_t end, Normalized* norm) const;
  // The pieces of one normalized word, `budget` at most.
  void Pieces(const Normalized& norm, size_t first, size_t last, size_t budget, std::vector<int>* out,
              std::vector<PieceOffsets>* offsets) const;
  const SpecialTokens& specials() const override { return specials_; }
  void EncodeSpan(std::string_view text, uint32_t begin, uint32_t end, size_t budget, std::vector<int>* out,
                  std::vector<PieceOffsets>* offsets, std::vector<uint32_t>* word_ends) const override;
  uint8_t ClassOf(uint32_t cp) const;

  WordPieceSpec spec_;
  std::unordered_map<std::string_view, int> ids_;  // views into spec_.vocab
  std::vector<uint8_t> bmp_class_;                 // ClassOf for code points below 0x10000
  int unk_id_ = 0, cls_id_ = 0, sep_id_ = 0, pad_id_ = 0;
  SpecialTokens specials_;
};

}  // namespace polysweep
