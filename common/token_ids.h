// How a SentencePiece model's pieces are numbered as the model's token ids.
//   kSentencePiece  its own ids (the tokenizers polysweep trains)
//   kFairseq        XLM-R's (fairseq's dictionary): <s>=0, <pad>=1, </s>=2,
//                   <unk>=3, every other piece its SentencePiece id + 1,
//                   <mask> after the last; each text is wrapped as
//                   <s> ... </s>
// The shards' manifest and an exported model record which (by name).
#pragma once

#include <string>

#include "common/status.h"

namespace polysweep {

enum class TokenIds { kSentencePiece, kFairseq };

constexpr const char* TokenIdsName(TokenIds ids) { return ids == TokenIds::kFairseq ? "fairseq" : "sentencepiece"; }

inline StatusOr<TokenIds> ParseTokenIds(const std::string& name) {
  if (name == "sentencepiece") return TokenIds::kSentencePiece;
  if (name == "fairseq") return TokenIds::kFairseq;
  return Status::DataError("unknown token ids \"" + name + "\" (sentencepiece, fairseq)");
}

}  // namespace polysweep
