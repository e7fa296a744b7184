// Which tokenizer a model's token ids come from, and how a SentencePiece
// model's pieces are numbered as them.
//   kSentencePiece  its own ids (the tokenizers polysweep trains)
//   kFairseq        XLM-R's (fairseq's dictionary): <s>=0, <pad>=1, </s>=2,
//                   <unk>=3, every other piece its SentencePiece id + 1,
//                   <mask> after the last; each text is wrapped as
//                   <s> ... </s>
//   kWordPiece      not SentencePiece: a WordPiece tokenizer (BERT's; a
//                   tokenizer.json) with its vocabulary's ids; each text is
//                   wrapped as [CLS] ... [SEP]
//   kByteBpe        not SentencePiece: a byte-level BPE tokenizer (RoBERTa's;
//                   a tokenizer.json) with its vocabulary's ids; each text is
//                   wrapped as <s> ... </s>
// The shards' manifest and an exported model record which (by name).
#pragma once

#include <string>

#include "common/status.h"

namespace polysweep {

enum class TokenIds { kSentencePiece, kFairseq, kWordPiece, kByteBpe };

constexpr const char* TokenIdsName(TokenIds ids) {
  switch (ids) {
    case TokenIds::kFairseq: return "fairseq";
    case TokenIds::kWordPiece: return "wordpiece";
    case TokenIds::kByteBpe: return "byte_bpe";
    case TokenIds::kSentencePiece: break;
  }
  return "sentencepiece";
}

inline StatusOr<TokenIds> ParseTokenIds(const std::string& name) {
  if (name == "sentencepiece") return TokenIds::kSentencePiece;
  if (name == "fairseq") return TokenIds::kFairseq;
  if (name == "wordpiece") return TokenIds::kWordPiece;
  if (name == "byte_bpe") return TokenIds::kByteBpe;
  return Status::DataError("unknown token ids \"" + name + "\" (sentencepiece, fairseq, wordpiece, byte_bpe)");
}

}  // namespace polysweep
