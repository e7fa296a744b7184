// The SentencePiece module: a small C ABI over libsentencepiece, built as its
// own shared object and loaded with RTLD_DEEPBIND by Tokenizer.
//
// Why: Debian's libsentencepiece carries a private copy of protobuf 3.14 and
// exports its symbols; polysweep links the system protobuf (3.21) for its wire
// protocol. Linked into one binary, one copy's symbols win for both and the
// loser aborts at start ("compiled against version 3.14.0"). Loaded here with
// a deep-bound lookup scope, libsentencepiece resolves to its own copy and the
// rest of the process keeps the system one.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#define PS_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
void SetError(char* err, size_t len, const std::string& message) {
  if (!err || len == 0) return;
  std::strncpy(err, message.c_str(), len - 1);
  err[len - 1] = '\0';
}
}  // namespace

PS_EXPORT int ps_spm_abi_version() { return 1; }

PS_EXPORT int ps_spm_train(const char* args, char* err, size_t err_len) {
  auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) {
    SetError(err, err_len, status.ToString());
    return -1;
  }
  return 0;
}

PS_EXPORT void* ps_spm_load(const char* path, char* err, size_t err_len) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  auto status = sp->Load(path);
  if (!status.ok()) {
    SetError(err, err_len, status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

PS_EXPORT void ps_spm_free(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

PS_EXPORT int ps_spm_piece_size(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize();
}
PS_EXPORT int ps_spm_pad_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->pad_id(); }
PS_EXPORT int ps_spm_unk_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->unk_id(); }
PS_EXPORT int ps_spm_eos_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->eos_id(); }

// Encodes text into at most `cap` ids; returns the number of ids of the full
// encoding (may exceed cap), or -1 on error.
PS_EXPORT long ps_spm_encode(void* handle, const char* text, size_t len, int* out, size_t cap) {
  std::vector<int> ids;
  auto status = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Encode(
      std::string_view(text, len), &ids);
  if (!status.ok()) return -1;
  std::memcpy(out, ids.data(), std::min(cap, ids.size()) * sizeof(int));
  return static_cast<long>(ids.size());
}

namespace {
long EncodePieces(void* handle, const char* text, size_t len, int* out, uint32_t* begins, uint32_t* ends,
                  uint8_t* word_starts, size_t cap) {
  sentencepiece::ImmutableSentencePieceText spt;
  auto status = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Encode(std::string_view(text, len),
                                                                                     spt.mutable_proto());
  if (!status.ok()) return -1;
  const size_t n = spt.pieces_size();
  for (size_t i = 0; i < std::min(cap, n); ++i) {
    const auto piece = spt.pieces(static_cast<int>(i));
    out[i] = static_cast<int>(piece.id());
    begins[i] = piece.begin();
    ends[i] = piece.end();
    // The word-boundary mark; an unknown piece's string is its text, mark included.
    if (word_starts) word_starts[i] = piece.piece().rfind("\xe2\x96\x81", 0) == 0;
  }
  return static_cast<long>(n);
}
}  // namespace

// As ps_spm_encode, also writing each piece's byte offsets in `text`:
// piece i covers [begins[i], ends[i]) (the bytes it was normalized from).
PS_EXPORT long ps_spm_encode_pieces(void* handle, const char* text, size_t len, int* out, uint32_t* begins,
                                    uint32_t* ends, size_t cap) {
  return EncodePieces(handle, text, len, out, begins, ends, nullptr, cap);
}

// As ps_spm_encode_pieces, also writing whether each piece begins a word
// (begins with SentencePiece's word-boundary mark, U+2581): word_starts[i].
PS_EXPORT long ps_spm_encode_words(void* handle, const char* text, size_t len, int* out, uint32_t* begins,
                                   uint32_t* ends, uint8_t* word_starts, size_t cap) {
  return EncodePieces(handle, text, len, out, begins, ends, word_starts, cap);
}
