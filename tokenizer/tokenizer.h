// Tokenizer: SentencePiece training and encoding for the coordinator and the
// workers, and the WordPiece tokenizers of BERT-family checkpoints
// (wordpiece.h); encoding can also say where each piece is in the text, and
// encode a text pair (EncodePair).
// Loads libsentencepiece through spm_module (see spm_module.cc for why it is
// isolated). Thread-compatible: Encode() and EncodePair() may be called from
// several threads on one Tokenizer; Load/Train are not concurrent with
// anything.
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
struct PairFrame;
struct TextPieces;

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

  // Appends the ids of the text pair (`a`, `b`) to `out`, at most `max_ids`
  // of them, framed as Hugging Face's tokenizers library frames a pair:
  //   kWordPiece (BERT)         [CLS] a [SEP] b [SEP]
  //   kByteBpe (RoBERTa),
  //   kFairseq (XLM-R)          <s> a </s> </s> b </s>
  //   kSentencePiece            a </s> b: the model's </s> (SentencePiece's
  //                             eos, id 2 unless trained otherwise) between
  //                             the texts; a model without eos: a b
  // Special tokens written in a text are read as in Encode. Each text is
  // encoded whole and then cut from its end as the library's longest-first
  // truncation cuts it (tokenizer/pair.h: the shorter text kept whole when
  // the longer can have as many pieces, else half each, the odd piece to
  // the longer, a text's length counted up to the end of the word that
  // brings it to max_ids pieces, where the library stops encoding it); an
  // empty text has no pieces. *second_start (when not null) is set to where
  // the second segment begins, counted from the first id this call
  // appends: for BERT the first token of token type 1 (b's first piece, or
  // the last [SEP] when b is empty); for RoBERTa and XLM-R the second </s>
  // of the middle, where "</s> b </s>" begins (the library gives these
  // pairs no token types, all 0: whether the model uses the segments is the
  // model's business); for kSentencePiece b's first piece (after the
  // </s>). In every frame but kSentencePiece's, that is 2 + the pieces of a
  // kept. A pair whose max_ids has no room for the frame appends nothing
  // and is refused, as is a pair whose text is refused.
  Status EncodePair(std::string_view a, std::string_view b, size_t max_ids, std::vector<int>* out,
                    size_t* second_start) const;
  // The same ids, and each id's byte offsets appended to `offsets`: a piece
  // of b's in b, a special token of the frame {0, 0}.
  Status EncodePair(std::string_view a, std::string_view b, size_t max_ids, std::vector<int>* out,
                    size_t* second_start, std::vector<PieceOffsets>* offsets) const;
  int vocab_size() const { return vocab_size_; }
  int pad_id() const { return pad_id_; }
  int unk_id() const { return unk_id_; }

 private:
  Tokenizer() = default;
  // SentencePiece's pieces of text[begin, end), at most `max_ids`, in this
  // tokenizer's numbering, with their offsets in `text` when not null.
  // With `word_ends`, the size of `out` after each word (the pieces from
  // one with SentencePiece's word-boundary mark up to the next).
  Status SpmPieces(std::string_view text, uint32_t begin, uint32_t end, size_t max_ids, std::vector<int>* out,
                   std::vector<PieceOffsets>* offsets, std::vector<uint32_t>* word_ends) const;
  // Encode, and the size of `out` after each word (TextEncoder::Encode).
  Status EncodeWords(std::string_view text, size_t max_ids, std::vector<int>* out,
                     std::vector<PieceOffsets>* offsets, std::vector<uint32_t>* word_ends) const;
  // The special tokens of a pair (tokenizer/pair.h).
  PairFrame pair_frame() const;
  // Every piece of `text` and where its words end, the frame Encode puts
  // around it left out.
  Status AllPieces(std::string_view text, bool with_offsets, TextPieces* pieces) const;
  TokenIds ids_ = TokenIds::kSentencePiece;
  SpecialTokens specials_;  // fairseq ids: XLM-R's
  std::unique_ptr<TextEncoder> encoder_;  // WordPiece or byte-level BPE; else SentencePiece:
  std::shared_ptr<SpmModule> module_;
  void* handle_ = nullptr;
  int vocab_size_ = 0;
  int pad_id_ = -1;
  int unk_id_ = 0;
  int eos_id_ = -1;  // SentencePiece's </s>: EncodePair's separator; -1: none
};

}  // namespace polysweep
