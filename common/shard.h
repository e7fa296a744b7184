// Binary shards: the tokenized examples of one (split, language), written by
// the coordinator and memory-mapped by the ranks. Little-endian layout,
// version 2 (version 3 when the examples are text pairs, version 4 when
// their tokens carry word features):
//
//   header         128 bytes: "PSSHARD1", u32 version, u32 features per
//                  token (version 4; 0 before),
//                  u64 examples, u64 tokens, u64 label values, then u64 byte
//                  offsets of the seven arrays below (label_offsets: 0 when
//                  absent; pair_starts: 0 when no example is a pair, and
//                  before version 3; features: 0 before version 4), zeros
//                  to the end
//   offsets        u64[examples + 1]   example i is tokens[offsets[i], offsets[i+1])
//   label_offsets  u64[examples + 1]   example i's label span is
//                  labels[label_offsets[i], label_offsets[i+1]); absent when
//                  every example has exactly one label value (span i is labels[i])
//   tokens         i32[tokens]
//   labels         i32[label values]   what a label is, the task says
//                  (common/tasks.h): class ids (one, one per token, or a
//                  multi-hot set's), or a real value as a float32's bits
//   langs          u16[examples]
//   pair_starts    u32[examples]      version 3 only, at the next multiple of
//                  4 bytes: where example i's second text begins among its
//                  tokens (the first token of token type 1: after `[CLS] a
//                  [SEP]`), 0 for a single text
//   features       u32[tokens * width] version 4 only, after the arrays
//                  above at the next multiple of 4 bytes: token t's word
//                  feature hashes (common/word_features.h) are
//                  features[t * width, (t + 1) * width)
//
// (Every array starts aligned to its element's size.)
// Version 1 shards (a 64-byte header of the same fields less the label
// values and label_offsets; labels u16[examples], one per example) are still
// read: each example's span is its one label.
//
// A shard's checksum (FNV-1a 64 of the whole file) is recorded in the
// manifest; readers verify it before use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace polysweep {

// One example's label values: a view into a shard (or memory) that lives
// as long as it.
struct LabelSpan {
  const int32_t* data = nullptr;
  uint64_t size = 0;
  int32_t operator[](uint64_t i) const { return data[i]; }
  const int32_t* begin() const { return data; }
  const int32_t* end() const { return data + size; }
};

struct ShardData {
  std::vector<uint64_t> offsets{0};
  std::vector<int32_t> tokens;
  std::vector<uint64_t> label_offsets{0};
  std::vector<int32_t> labels;
  std::vector<uint16_t> langs;
  std::vector<uint32_t> pair_starts;  // empty: no example is a text pair
  // Tagged sentences: kWordFeatures hashes per token (common/word_features.h),
  // appended by the caller after each Add; empty: none.
  std::vector<uint32_t> features;
  // An example with one label: a class id.
  void Add(const std::vector<int>& ids, uint16_t label, uint16_t lang);
  // An example with its label span (any length, empty included).
  void Add(const std::vector<int>& ids, const std::vector<int32_t>& label_span, uint16_t lang);
  // A text pair whose second text begins at ids[pair_start].
  void AddPair(const std::vector<int>& ids, const std::vector<int32_t>& label_span, uint16_t lang,
               uint32_t pair_start);
  size_t size() const { return langs.size(); }
};

struct ShardFileInfo {
  uint64_t bytes = 0;
  uint64_t checksum = 0;
};

// Writes `data` to `path` atomically (temporary name, fsync, rename), in
// the current version.
StatusOr<ShardFileInfo> WriteShard(const std::string& path, const ShardData& data);

std::string ChecksumHex(uint64_t checksum);

// A read-only memory map of one shard (version 1 to 4). Thread-safe for readers.
class MappedShard {
 public:
  ~MappedShard();
  MappedShard(const MappedShard&) = delete;
  MappedShard& operator=(const MappedShard&) = delete;

  // Maps `path`; when `expected_checksum` is non-empty, verifies it first.
  static StatusOr<std::unique_ptr<MappedShard>> Open(const std::string& path,
                                                     const std::string& expected_checksum = "");

  uint32_t version() const { return version_; }
  uint64_t size() const { return examples_; }
  uint64_t total_tokens() const { return tokens_count_; }
  const int32_t* tokens(uint64_t i) const { return tokens_ + offsets_[i]; }
  uint64_t length(uint64_t i) const { return offsets_[i + 1] - offsets_[i]; }
  LabelSpan labels(uint64_t i) const {
    if (!label_offsets_) return LabelSpan{labels_ + i, 1};
    return LabelSpan{labels_ + label_offsets_[i], label_offsets_[i + 1] - label_offsets_[i]};
  }
  // The example's first label value (its class id); 0 when its span is empty.
  uint16_t label(uint64_t i) const {
    const LabelSpan span = labels(i);
    return span.size > 0 ? static_cast<uint16_t>(span[0]) : 0;
  }
  uint16_t lang(uint64_t i) const { return langs_[i]; }
  // Where example i's second text begins among its tokens; 0: a single text.
  uint32_t pair_start(uint64_t i) const { return pair_starts_ ? pair_starts_[i] : 0; }
  bool has_pairs() const { return pair_starts_ != nullptr; }
  // Word feature hashes per token (0: the shard has none), and example i's:
  // feature_width() per token, or null.
  uint32_t feature_width() const { return feature_width_; }
  const uint32_t* features(uint64_t i) const { return features_ ? features_ + offsets_[i] * feature_width_ : nullptr; }

 private:
  MappedShard() = default;
  // Sets the array pointers from a header of version 1, or of 2 to 4 (checked against the file's size).
  Status MapVersion1(const char* base, const std::string& path);
  Status MapVersion2(const char* base, const std::string& path);

  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  uint32_t version_ = 0;
  uint64_t examples_ = 0;
  uint64_t tokens_count_ = 0;
  const uint64_t* offsets_ = nullptr;
  const int32_t* tokens_ = nullptr;
  const uint64_t* label_offsets_ = nullptr;  // null: one label value per example
  const int32_t* labels_ = nullptr;
  const uint16_t* langs_ = nullptr;
  const uint32_t* pair_starts_ = nullptr;  // version 3 and 4 only
  const uint32_t* features_ = nullptr;     // version 4 only
  uint32_t feature_width_ = 0;
  std::vector<int32_t> widened_labels_;  // a version 1 shard's u16 labels, as i32
};

}  // namespace polysweep
