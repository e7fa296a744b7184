#include "common/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/files.h"
#include "common/hash.h"
#include "common/word_features.h"

namespace polysweep {
namespace {

constexpr char kMagic[8] = {'P', 'S', 'S', 'H', 'A', 'R', 'D', '1'};
constexpr uint32_t kVersion = 2;      // written when no example is a text pair
constexpr uint32_t kPairVersion = 3;  // with the pair_starts array
constexpr uint32_t kFeatureVersion = 4;  // with the features array (and pair_starts when pairs_at != 0)
constexpr size_t kHeaderBytes = 128;
constexpr size_t kHeaderV1Bytes = 64;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t feature_width;  // version 4; 0 before
  uint64_t examples;
  uint64_t tokens;
  uint64_t label_values;
  uint64_t offsets_at;
  uint64_t label_offsets_at;  // 0: one label value per example
  uint64_t tokens_at;
  uint64_t labels_at;
  uint64_t langs_at;
  uint64_t pairs_at;  // version 3 (and 4 with pairs): pair_starts; else 0
  uint64_t features_at;  // version 4: features; 0 before
  uint64_t zeros[4];
};
static_assert(sizeof(Header) == kHeaderBytes, "shard header is 128 bytes");

struct HeaderV1 {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
  uint64_t examples;
  uint64_t tokens;
  uint64_t offsets_at;
  uint64_t tokens_at;
  uint64_t labels_at;
  uint64_t langs_at;
};
static_assert(sizeof(HeaderV1) == kHeaderV1Bytes, "version 1 shard header is 64 bytes");

template <typename T>
void Append(std::string& out, const std::vector<T>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// Whether every example's span holds exactly one value (label_offsets[i] == i).
bool OneLabelEach(const ShardData& data) {
  for (size_t i = 0; i < data.label_offsets.size(); ++i) {
    if (data.label_offsets[i] != i) return false;
  }
  return true;
}

// Where the pair_starts array begins: after the langs, aligned to 4 bytes.
uint64_t PairsAt(uint64_t langs_at, uint64_t examples) {
  return (langs_at + examples * sizeof(uint16_t) + 3) / 4 * 4;
}

// Where the features array begins: after the pair starts when there are,
// else after the langs, aligned to 4 bytes.
uint64_t FeaturesAt(uint64_t langs_at, uint64_t examples, bool pairs) {
  return pairs ? PairsAt(langs_at, examples) + examples * sizeof(uint32_t) : PairsAt(langs_at, examples);
}

Status LayoutError(const std::string& path) {
  return Status::Error(path + ": shard layout does not match its size (truncated?)");
}

}  // namespace

void ShardData::Add(const std::vector<int>& ids, uint16_t label, uint16_t lang) {
  Add(ids, std::vector<int32_t>{label}, lang);
}

void ShardData::Add(const std::vector<int>& ids, const std::vector<int32_t>& label_span, uint16_t lang) {
  AddPair(ids, label_span, lang, 0);
}

void ShardData::AddPair(const std::vector<int>& ids, const std::vector<int32_t>& label_span, uint16_t lang,
                        uint32_t pair_start) {
  if (pair_start > 0 || !pair_starts.empty()) {
    pair_starts.resize(size(), 0);  // the examples before: single texts
    pair_starts.push_back(pair_start);
  }
  tokens.insert(tokens.end(), ids.begin(), ids.end());
  offsets.push_back(tokens.size());
  labels.insert(labels.end(), label_span.begin(), label_span.end());
  label_offsets.push_back(labels.size());
  langs.push_back(lang);
}

std::string ChecksumHex(uint64_t checksum) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(checksum));
  return buf;
}

StatusOr<ShardFileInfo> WriteShard(const std::string& path, const ShardData& data) {
  const bool spans = !OneLabelEach(data);
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.examples = data.size();
  h.tokens = data.tokens.size();
  h.label_values = data.labels.size();
  h.offsets_at = kHeaderBytes;
  const uint64_t after_offsets = h.offsets_at + data.offsets.size() * sizeof(uint64_t);
  h.label_offsets_at = spans ? after_offsets : 0;
  h.tokens_at = spans ? after_offsets + data.label_offsets.size() * sizeof(uint64_t) : after_offsets;
  h.labels_at = h.tokens_at + data.tokens.size() * sizeof(int32_t);
  h.langs_at = h.labels_at + data.labels.size() * sizeof(int32_t);
  const bool pairs = !data.pair_starts.empty();
  if (pairs && data.pair_starts.size() != data.size()) {
    return Status::Error(path + ": " + std::to_string(data.pair_starts.size()) + " pair starts for " +
                         std::to_string(data.size()) + " examples");
  }
  if (pairs) {
    h.version = kPairVersion;
    h.pairs_at = PairsAt(h.langs_at, h.examples);
  }
  const bool features = !data.features.empty();
  if (features && data.features.size() != data.tokens.size() * kWordFeatures) {
    return Status::Error(path + ": " + std::to_string(data.features.size()) + " word features for " +
                         std::to_string(data.tokens.size()) + " tokens");
  }
  if (features) {
    h.version = kFeatureVersion;
    h.feature_width = kWordFeatures;
    h.features_at = FeaturesAt(h.langs_at, h.examples, pairs);
  }
  std::string bytes(reinterpret_cast<const char*>(&h), sizeof h);
  bytes.reserve(h.langs_at + data.langs.size() * sizeof(uint16_t) + data.pair_starts.size() * sizeof(uint32_t) +
                data.features.size() * sizeof(uint32_t) + 8);
  Append(bytes, data.offsets);
  if (spans) Append(bytes, data.label_offsets);
  Append(bytes, data.tokens);
  Append(bytes, data.labels);
  Append(bytes, data.langs);
  if (pairs) {
    bytes.resize(h.pairs_at, '\0');
    Append(bytes, data.pair_starts);
  }
  if (features) {
    bytes.resize(h.features_at, '\0');
    Append(bytes, data.features);
  }
  PS_RETURN_IF_ERROR(WriteFileAtomic(path, bytes));
  return ShardFileInfo{bytes.size(), Fnv1a64(bytes)};
}

MappedShard::~MappedShard() {
  if (map_) munmap(map_, map_bytes_);
}

Status MappedShard::MapVersion2(const char* base, const std::string& path) {
  if (map_bytes_ < kHeaderBytes) return Status::Error(path + ": not a shard (too short)");
  Header h;
  std::memcpy(&h, base, sizeof h);
  // Counts beyond the file's size are corrupt (and would overflow below).
  if (h.examples >= map_bytes_ || h.tokens >= map_bytes_ || h.label_values >= map_bytes_) return LayoutError(path);
  const uint64_t offsets_bytes = (h.examples + 1) * sizeof(uint64_t);
  const bool spans = h.label_offsets_at != 0;
  const uint64_t tokens_at = h.offsets_at + offsets_bytes + (spans ? offsets_bytes : 0);
  if (h.offsets_at != kHeaderBytes || (spans && h.label_offsets_at != h.offsets_at + offsets_bytes) ||
      h.tokens_at != tokens_at || h.labels_at != h.tokens_at + h.tokens * sizeof(int32_t) ||
      h.langs_at != h.labels_at + h.label_values * sizeof(int32_t) || (!spans && h.label_values != h.examples)) {
    return LayoutError(path);
  }
  const bool pairs = h.version == kPairVersion || (h.version == kFeatureVersion && h.pairs_at != 0);
  const bool features = h.version == kFeatureVersion;
  if (features && (h.feature_width == 0 || h.feature_width > 64)) return LayoutError(path);
  uint64_t end = pairs ? PairsAt(h.langs_at, h.examples) + h.examples * sizeof(uint32_t)
                       : h.langs_at + h.examples * sizeof(uint16_t);
  if (features) {
    if (h.features_at != FeaturesAt(h.langs_at, h.examples, pairs)) return LayoutError(path);
    end = h.features_at + h.tokens * h.feature_width * sizeof(uint32_t);
  }
  if ((pairs && h.pairs_at != PairsAt(h.langs_at, h.examples)) || end != map_bytes_) return LayoutError(path);
  examples_ = h.examples;
  tokens_count_ = h.tokens;
  offsets_ = reinterpret_cast<const uint64_t*>(base + h.offsets_at);
  label_offsets_ = spans ? reinterpret_cast<const uint64_t*>(base + h.label_offsets_at) : nullptr;
  tokens_ = reinterpret_cast<const int32_t*>(base + h.tokens_at);
  labels_ = reinterpret_cast<const int32_t*>(base + h.labels_at);
  langs_ = reinterpret_cast<const uint16_t*>(base + h.langs_at);
  pair_starts_ = pairs ? reinterpret_cast<const uint32_t*>(base + h.pairs_at) : nullptr;
  features_ = features ? reinterpret_cast<const uint32_t*>(base + h.features_at) : nullptr;
  feature_width_ = features ? h.feature_width : 0;
  if (pair_starts_) {
    for (uint64_t i = 0; i < h.examples; ++i) {
      if (pair_starts_[i] >= offsets_[i + 1] - offsets_[i] && pair_starts_[i] != 0) {
        return Status::Error(path + ": example " + std::to_string(i) + "'s second text starts past its end");
      }
    }
  }
  if (label_offsets_ && (label_offsets_[0] != 0 || label_offsets_[h.examples] != h.label_values)) {
    return Status::Error(path + ": shard label offsets are inconsistent");
  }
  return Status::Ok();
}

Status MappedShard::MapVersion1(const char* base, const std::string& path) {
  HeaderV1 h;
  std::memcpy(&h, base, sizeof h);
  if (h.examples >= map_bytes_ || h.tokens >= map_bytes_) return LayoutError(path);
  const uint64_t need = h.langs_at + h.examples * sizeof(uint16_t);
  if (h.offsets_at != kHeaderV1Bytes || h.tokens_at != h.offsets_at + (h.examples + 1) * sizeof(uint64_t) ||
      h.labels_at != h.tokens_at + h.tokens * sizeof(int32_t) ||
      h.langs_at != h.labels_at + h.examples * sizeof(uint16_t) || need != map_bytes_) {
    return LayoutError(path);
  }
  examples_ = h.examples;
  tokens_count_ = h.tokens;
  offsets_ = reinterpret_cast<const uint64_t*>(base + h.offsets_at);
  tokens_ = reinterpret_cast<const int32_t*>(base + h.tokens_at);
  const auto* narrow = reinterpret_cast<const uint16_t*>(base + h.labels_at);
  widened_labels_.assign(narrow, narrow + h.examples);
  labels_ = widened_labels_.data();
  langs_ = reinterpret_cast<const uint16_t*>(base + h.langs_at);
  return Status::Ok();
}

StatusOr<std::unique_ptr<MappedShard>> MappedShard::Open(const std::string& path, const std::string& expected_checksum) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(path + ": cannot open shard: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(kHeaderV1Bytes)) {
    ::close(fd);
    return Status::Error(path + ": not a shard (too short)");
  }
  std::unique_ptr<MappedShard> s(new MappedShard());
  s->map_bytes_ = static_cast<size_t>(st.st_size);
  s->map_ = mmap(nullptr, s->map_bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (s->map_ == MAP_FAILED) {
    s->map_ = nullptr;
    return Status::Error(path + ": mmap failed: " + std::strerror(errno));
  }
  const char* base = static_cast<const char*>(s->map_);
  if (!expected_checksum.empty()) {
    const std::string actual = ChecksumHex(Fnv1a64(std::string_view(base, s->map_bytes_)));
    if (actual != expected_checksum) {
      return Status::Error(path + ": checksum mismatch (manifest " + expected_checksum + ", file " + actual +
                           "): the shard is corrupt; run `polysweep shard --force`");
    }
  }
  uint32_t version = 0;
  std::memcpy(&version, base + sizeof kMagic, sizeof version);
  if (std::memcmp(base, kMagic, sizeof kMagic) != 0) {
    return Status::Error(path + ": not a polysweep shard (bad magic or version)");
  }
  if (version != 1 && version != kVersion && version != kPairVersion && version != kFeatureVersion) {
    return Status::Error(path + ": shard version " + std::to_string(version) + ", and this polysweep reads versions 1 to " +
                         std::to_string(kFeatureVersion) + ": re-shard with `polysweep shard --force`");
  }
  s->version_ = version;
  PS_RETURN_IF_ERROR(version == 1 ? s->MapVersion1(base, path) : s->MapVersion2(base, path));
  if (s->offsets_[0] != 0 || s->offsets_[s->examples_] != s->tokens_count_) {
    return Status::Error(path + ": shard offsets are inconsistent");
  }
  return s;
}

}  // namespace polysweep
