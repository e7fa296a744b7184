// Tokenizer: SentencePiece training and encoding for the coordinator and the
// workers, and the WordPiece tokenizers of BERT-family checkpoints
// (wordpiece.h); encoding can also say where each piece is in the text.
// Loads libsentencepiece through spm_module (see spm_module.cc for why it is
// isolated). Thread-compatible: Encode() may be called from several
// threads on one Tokenizer; Load/Train are not concurrent with anything.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/token_ids.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/text_encoder.h"

namespace polysweep {

class SpmModule;

class Tokenizer {
 public:
  ~Tokenizer();
  // Loads a trained SentencePiece model, its pieces numbered as `ids` says
  // (common/token_ids.h); with kWordPiece, a WordPiece tokenizer's
  // tokenizer.json or vocab.txt; with kByteBpe, a byte-level BPE's
  // tokenizer.json or vocab.json.
  static StatusOr<std::unique_ptr<Tokenizer>> Load(const std::string& model_path,
                                                   TokenIds ids = TokenIds::kSentencePiece);
  // Copies the tokenizer at `path` into `dir` as the file a shard set or a
  // model directory keeps (a WordPiece or byte-level BPE tokenizer as its
  // tokenizer.json, whichever files it was read from); returns that file's
  // name.
  static StatusOr<std::string> CopyInto(const std::string& path, TokenIds ids, const std::string& dir);
  // Trains a model; `args` are SentencePiece trainer flags ("--input=... ").
  static Status Train(const std::string& args);

  // Appends the ids of `text` to `out`, at most `max_ids` of them (the
  // family's special tokens around it included: fairseq ids wrap a text in
  // <s> and </s>, and read <s>, <pad>, </s>, <unk> and <mask> written in it
  // as those tokens). A refused text appends nothing.
  Status Encode(std::string_view text, size_t max_ids, std::vector<int>* out) const;
  // The same ids, and each piece's byte offsets in `text` appended to
  // `offsets` (one per id appended to `out`).
  Status Encode(std::string_view text, size_t max_ids, std::vector<int>* out,
                std::vector<PieceOffsets>* offsets) const;
  int vocab_size() const { return vocab_size_; }
  int pad_id() const { return pad_id_; }
  int unk_id() const { return unk_id_; }

 private:
  Tokenizer() = default;
  // SentencePiece's pieces of text[begin, end), at most `max_ids`, in this
  // tokenizer's numbering, with their offsets in `text` when not null.
  Status SpmPieces(std::string_view text, uint32_t begin, uint32_t end, size_t max_ids, std::vector<int>* out,
                   std::vector<PieceOffsets>* offsets) const;
  TokenIds ids_ = TokenIds::kSentencePiece;
  SpecialTokens specials_;  // fairseq ids: XLM-R's
  std::unique_ptr<TextEncoder> encoder_;  // WordPiece or byte-level BPE; else SentencePiece:
  std::shared_ptr<SpmModule> module_;
  void* handle_ = nullptr;
  int vocab_size_ = 0;
  int pad_id_ = -1;
  int unk_id_ = 0;
};

}  // namespace polysweep
