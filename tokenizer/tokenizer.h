// Tokenizer: SentencePiece training and encoding for the coordinator and the
// workers. Loads libsentencepiece through spm_module (see spm_module.cc for
// why it is isolated). Thread-compatible: Encode() may be called from several
// threads on one Tokenizer; Load/Train are not concurrent with anything.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace polysweep {

class SpmModule;

class Tokenizer {
 public:
  ~Tokenizer();
  // Loads a trained SentencePiece model.
  static StatusOr<std::unique_ptr<Tokenizer>> Load(const std::string& model_path);
  // Trains a model; `args` are SentencePiece trainer flags ("--input=... ").
  static Status Train(const std::string& args);

  // Appends the ids of `text` to `out`, at most `max_ids` of them.
  Status Encode(std::string_view text, size_t max_ids, std::vector<int>* out) const;
  int vocab_size() const { return vocab_size_; }
  int pad_id() const { return pad_id_; }
  int unk_id() const { return unk_id_; }

 private:
  Tokenizer() = default;
  std::shared_ptr<SpmModule> module_;
  void* handle_ = nullptr;
  int vocab_size_ = 0;
  int pad_id_ = -1;
  int unk_id_ = 0;
};

}  // namespace polysweep
