// Examples by global index: the shards of one split, languages in manifest
// order, so language l holds indices [base_l, base_l + n_l) as the sampler
// (common/sampling.h) expects. Memory-mapped; thread-safe for readers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/manifest.h"
#include "common/shard.h"
#include "common/status.h"

namespace polysweep {

// One tokenized example. What its label span holds the task says
// (common/tasks.h); `label` is its first value (a class id), 0 when it has none.
struct ExampleView {
  const int32_t* tokens = nullptr;
  uint64_t length = 0;
  uint16_t label = 0;
  uint16_t lang = 0;
  LabelSpan labels;
  uint32_t pair_start = 0;  // a text pair: its second text's first token; 0: a single text
  // Tagged sentences: feature_width word feature hashes per token
  // (common/word_features.h), token t's at features[t * feature_width]; null: none.
  const uint32_t* features = nullptr;
  uint32_t feature_width = 0;
};

// Anything that serves tokenized examples by index (shards, or memory in tests).
class ExampleSource {
 public:
  virtual ~ExampleSource() = default;
  virtual int64_t size() const = 0;
  virtual ExampleView Get(int64_t index) const = 0;
};

class ShardSet : public ExampleSource {
 public:
  // Opens every shard of `split` listed in `manifest` (in `dir`), verifying
  // each checksum when `verify` is set.
  static StatusOr<std::unique_ptr<ShardSet>> Open(const Manifest& manifest, const std::string& dir, Split split,
                                                  bool verify = true);
  int64_t size() const override { return bases_.back(); }
  ExampleView Get(int64_t index) const override;
  // Examples per language, in manifest order (0 for a language without a shard).
  const std::vector<int64_t>& language_sizes() const { return sizes_; }

 private:
  std::vector<std::unique_ptr<MappedShard>> shards_;  // one per language (null when empty)
  std::vector<int64_t> sizes_;
  std::vector<int64_t> bases_{0};
};

}  // namespace polysweep
