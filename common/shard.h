// Binary shards: the tokenized examples of one (split, language), written by
// the coordinator and memory-mapped by the ranks. Little-endian layout:
//
//   header   64 bytes: "PSSHARD1", u32 version, u32 reserved, u64 examples,
//            u64 tokens, then u64 byte offsets of the four arrays below
//   offsets  u64[examples + 1]   example i is tokens[offsets[i], offsets[i+1])
//   tokens   i32[tokens]
//   labels   u16[examples]
//   langs    u16[examples]
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

struct ShardData {
  std::vector<uint64_t> offsets{0};
  std::vector<int32_t> tokens;
  std::vector<uint16_t> labels;
  std::vector<uint16_t> langs;
  void Add(const std::vector<int>& ids, uint16_t label, uint16_t lang);
  size_t size() const { return labels.size(); }
};

struct ShardFileInfo {
  uint64_t bytes = 0;
  uint64_t checksum = 0;
};

// Writes `data` to `path` atomically (temporary name, fsync, rename).
StatusOr<ShardFileInfo> WriteShard(const std::string& path, const ShardData& data);

std::string ChecksumHex(uint64_t checksum);

// A read-only memory map of one shard. Thread-safe for readers.
class MappedShard {
 public:
  ~MappedShard();
  MappedShard(const MappedShard&) = delete;
  MappedShard& operator=(const MappedShard&) = delete;

  // Maps `path`; when `expected_checksum` is non-empty, verifies it first.
  static StatusOr<std::unique_ptr<MappedShard>> Open(const std::string& path,
                                                     const std::string& expected_checksum = "");

  uint64_t size() const { return examples_; }
  uint64_t total_tokens() const { return tokens_count_; }
  const int32_t* tokens(uint64_t i) const { return tokens_ + offsets_[i]; }
  uint64_t length(uint64_t i) const { return offsets_[i + 1] - offsets_[i]; }
  uint16_t label(uint64_t i) const { return labels_[i]; }
  uint16_t lang(uint64_t i) const { return langs_[i]; }

 private:
  MappedShard() = default;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  uint64_t examples_ = 0;
  uint64_t tokens_count_ = 0;
  const uint64_t* offsets_ = nullptr;
  const int32_t* tokens_ = nullptr;
  const uint16_t* labels_ = nullptr;
  const uint16_t* langs_ = nullptr;
};

}  // namespace polysweep
